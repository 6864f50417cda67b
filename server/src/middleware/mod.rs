//! Request middleware, outermost first: request context → Redis readiness →
//! error recording (and panic recovery) → cross-origin check.

pub mod context;
pub mod errors;
pub mod origin;
pub mod readiness;

use axum::http::{HeaderMap, Uri, header};

/// API and server-function callers get JSON; browsers navigating get HTML.
pub fn wants_json(uri: &Uri, headers: &HeaderMap) -> bool {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/fn/") {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        return !accept.contains("text/html");
    }
    false
}
