//! Request middleware, outermost first (as layered in `startup::router`):
//!
//! 1. a last-resort panic catcher (a plain 500 page);
//! 2. [`context`]: the request id and the [`RequestContext`](keyhold_app::ssr::RequestContext);
//!    then [`headers`]: security headers on every answer, error pages included;
//! 3. [`recorder`]: writes reported failures, 5xx answers and panics to the error log;
//! 4. the panic catcher whose 500 the recorder turns into a page with the request id;
//! 5. [`readiness`]: 503 at once while Redis is down;
//! 6. [`origin`]: refuses cross-site posts;
//! 7. sessions and axum-login, inside [`crate::sessions::with_prefetch`] (room for the
//!    account read with the session record);
//! 8. [`renewal`]: keeps a session in use alive;
//!    [`recorder::note_user`]: remembers the signed-in user for the records;
//!    [`flash`]: hands a page the values of its form's failed post.

pub mod context;
pub mod flash;
pub mod headers;
pub mod origin;
pub mod readiness;
pub mod recorder;
pub mod renewal;

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
