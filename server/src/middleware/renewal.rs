//! Keeps a session in use alive. tower-sessions writes a session back only
//! when it changes, so the day a session lives (`SESSION_TTL`) would count
//! from its last change, usually the login, however active its owner.
//! Writing it on every request would cost every page a Redis round trip;
//! instead a timestamp in the session is refreshed once per
//! `SESSION_RENEW_AFTER`, and that change saves the session with a fresh
//! TTL and cookie.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use keyhold_app::auth::AuthSession;

const RENEWED_AT: &str = "renewed_at";

/// `every`: `SESSION_RENEW_AFTER` in seconds (the only state it needs, so
/// no copy of the app's state per request).
pub async fn renew_session(State(every): State<i64>, req: Request, next: Next) -> Response {
    // axum-login has loaded the session already: reading it costs no round trip.
    if let Some(session) = req.extensions().get::<AuthSession>().map(|a| a.session.clone())
        // An anonymous visitor's empty session is never created here.
        && !session.is_empty().await
    {
        let now = chrono::Utc::now().timestamp();
        let fresh = matches!(session.get::<i64>(RENEWED_AT).await, Ok(Some(at)) if now.saturating_sub(at) < every);
        if !fresh && let Err(e) = session.insert(RENEWED_AT, now).await {
            tracing::warn!(error = %e, "could not mark the session for renewal");
        }
    }
    next.run(req).await
}
