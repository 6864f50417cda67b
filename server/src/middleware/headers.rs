//! Security headers on every response: a Content-Security-Policy that allows
//! no inline script but the page's island loader (which carries the
//! request's nonce; see [`page_policy`]), no framing, no MIME sniffing, a
//! same-origin Referer, and HSTS outside development.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use keyhold_app::ssr::AppState;

/// The policy for responses that are not Leptos pages (JSON, static files,
/// the server's own error pages): no script runs from them at all.
const DEFAULT_POLICY: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
                              object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for a page rendered by Leptos with this request's `nonce`:
/// scripts from this site, the nonce'd island loader, and the wasm it loads.
/// With an S3 store, `store` is its origin: the browser puts uploads there and
/// shows pictures from there.
pub fn page_policy(nonce: &str, store: Option<&str>) -> String {
    let store = store.map(|s| format!(" {s}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:{store}; connect-src 'self'{store}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_POLICY));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Pages differ per person: a shared cache must never keep one.
    let html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !state.core.settings.is_development() {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_allow_only_their_own_nonce() {
        let policy = page_policy("abc123", None);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(!policy.contains("unsafe-inline"));
        let s3 = page_policy("n", Some("http://127.0.0.1:9000"));
        assert!(s3.contains("connect-src 'self' http://127.0.0.1:9000;"), "{s3}");
        assert!(DEFAULT_POLICY.contains("script-src 'none'") && DEFAULT_POLICY.contains("frame-ancestors 'none'"));
    }
}
