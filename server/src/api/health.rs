use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyhold::connections;
use keyhold_app::ssr::AppState;
use serde_json::json;

/// The process is up.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: Redis answers PING.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let up = connections::ping(&state.core.redis).await;
    state.core.health.set(up);
    if up {
        Json(json!({"status": "ready", "redis": "up"})).into_response()
    } else {
        let mut res =
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "redis": "down"}))).into_response();
        res.headers_mut().insert(header::RETRY_AFTER, keyhold_app::ssr::failure::UNAVAILABLE_RETRY_AFTER.into());
        res
    }
}
