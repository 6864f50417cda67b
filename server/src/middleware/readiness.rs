//! While Redis is unreachable, pages and API calls answer 503 with
//! `Retry-After` at once instead of each waiting for a timeout. The health
//! flag is kept by a background PING; a 500 from below (the session store
//! failing first) is checked against a fresh PING and turned into a 503.

use super::wants_json;
use crate::api::json_error;
use crate::pages;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use keyhold::connections;
use keyhold::flows::FlowError;
use keyhold::store::StoreError;
use keyhold_app::ssr::failure::{UNAVAILABLE_RETRY_AFTER, classify};
use keyhold_app::ssr::{AppState, RequestContext};

/// Paths that never need Redis.
fn exempt(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/pkg/") || path == "/favicon.svg"
}

pub async fn require_redis(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let json = wants_json(req.uri(), req.headers());
    let request_id = req.extensions().get::<RequestContext>().map(|c| c.correlation_id.clone()).unwrap_or_default();
    let health = &state.core.health;
    if !health.is_up() {
        return unavailable(json, &request_id);
    }
    let res = next.run(req).await;
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR && !connections::ping(&state.core.redis).await {
        health.set(false);
        return unavailable(json, &request_id);
    }
    res
}

pub fn unavailable(json: bool, request_id: &str) -> Response {
    if json {
        let c = classify(&FlowError::Unavailable(StoreError::Unhealthy), request_id);
        json_error(c.status, &c.error)
    } else {
        pages::unavailable(request_id, UNAVAILABLE_RETRY_AFTER)
    }
}
