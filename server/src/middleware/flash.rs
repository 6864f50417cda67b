//! Hands a page the values its form carried when a post without
//! JavaScript failed: server functions keep them in the session (see
//! `Echo::keep_for`), and the next page load takes them out, once, so the
//! form shows what was typed without the values ever being in a URL.

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use keyhold_app::auth::AuthSession;
use keyhold_app::components::form::FormValues;

pub async fn form_values(mut req: Request, next: Next) -> Response {
    if req.method() == Method::GET
        && let Some(session) = req.extensions().get::<AuthSession>().map(|a| a.session.clone())
        && let Ok(Some(values)) = session.get::<Vec<(String, String)>>(FormValues::SESSION_KEY).await
    {
        let _ = session.remove::<Vec<(String, String)>>(FormValues::SESSION_KEY).await;
        req.extensions_mut().insert(FormValues(values));
    }
    next.run(req).await
}
