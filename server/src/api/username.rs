use super::ApiError;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use keyhold::flows::username;
use keyhold_app::ssr::{AppState, RequestContext};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct UsernameQuery {
    username: String,
}

/// `GET /api/username-status?username=…` → `{"available": bool}`.
pub async fn status(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    query: Result<Query<UsernameQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query?;
    match username::is_available(&state.core, &query.username, ctx.client_ip).await {
        Ok(available) => Ok(Json(serde_json::json!({ "available": available }))),
        Err(e) => Err(ApiError::from_flow(&state.core, &ctx, e)),
    }
}
