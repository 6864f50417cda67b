//! Refuses state-changing form posts from other sites: server functions and
//! `/logout` must carry an `Origin` (or, failing that, `Referer`) naming this
//! host or the configured public URL. Leptos server functions have no CSRF
//! protection of their own; SameSite=Lax cookies are the second line.

use super::wants_json;
use crate::api::json_error;
use crate::pages;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use keyhold::flows::FlowError;
use keyhold_app::ssr::AppState;
use keyhold_app::ssr::failure::classify;
use url::Url;

fn guarded(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path.starts_with("/fn/") || path == "/logout" || path.starts_with("/uploads") || path == "/profile/picture")
}

/// `host[:port]` of a URL, as a `Host` header would say it.
fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

pub fn same_site(origin: Option<&str>, host: Option<&str>, app_url: &Url) -> bool {
    let Some(url) = origin.and_then(|o| Url::parse(o).ok()) else {
        return false;
    };
    if url.origin() == app_url.origin() {
        return true;
    }
    matches!((authority(&url), host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

pub async fn require_same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !guarded(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    let claimed = text(header::ORIGIN).filter(|o| *o != "null").or_else(|| text(header::REFERER));
    if same_site(claimed, text(header::HOST), &state.core.settings.app_url) {
        return next.run(req).await;
    }
    tracing::warn!(origin = ?claimed, path = %req.uri().path(), "cross-origin post refused");
    if wants_json(req.uri(), req.headers()) {
        let c = classify(&FlowError::CrossOrigin, "");
        json_error(c.status, &c.error)
    } else {
        pages::forbidden_origin()
    }
}

#[cfg(test)]
mod tests {
    use super::same_site;
    use url::Url;

    #[test]
    fn accepts_only_this_site() {
        let app = Url::parse("https://keyhold.example").unwrap();
        assert!(same_site(Some("http://127.0.0.1:3000"), Some("127.0.0.1:3000"), &app));
        assert!(same_site(Some("http://127.0.0.1:3000/register?x=1"), Some("127.0.0.1:3000"), &app));
        assert!(same_site(Some("https://keyhold.example"), Some("internal:8080"), &app));
        assert!(!same_site(Some("https://evil.example"), Some("127.0.0.1:3000"), &app));
        assert!(!same_site(Some("http://127.0.0.1:3001"), Some("127.0.0.1:3000"), &app));
        assert!(!same_site(None, Some("127.0.0.1:3000"), &app));
        assert!(!same_site(Some("garbage"), Some("127.0.0.1:3000"), &app));
    }
}
