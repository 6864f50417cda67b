//! Hands a page the values its form carried when a post without
//! JavaScript failed: server functions keep them in the session (see
//! `Echo::keep_for`), and the next page load takes them out, once, so the
//! form shows what was typed without the values ever being in a URL.

use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use keyhold_app::auth::AuthSession;
use keyhold_app::components::form::FormValues;

/// Only page loads take them: assets, API calls and server functions leave
/// them for the page.
fn is_page_load(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == Method::GET
        && !path.starts_with("/pkg/")
        && !path.starts_with("/api/")
        && !path.starts_with("/fn/")
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

pub async fn form_values(mut req: Request, next: Next) -> Response {
    if is_page_load(&req)
        && let Some(session) = req.extensions().get::<AuthSession>().map(|a| a.session.clone())
        && let Ok(Some(values)) = session.get::<Vec<(String, String)>>(FormValues::SESSION_KEY).await
    {
        let _ = session.remove::<Vec<(String, String)>>(FormValues::SESSION_KEY).await;
        req.extensions_mut().insert(FormValues(values));
    }
    next.run(req).await
}
