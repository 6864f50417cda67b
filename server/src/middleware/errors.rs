//! Records every 5xx in the error log (seed 003 §3) with the request's
//! correlation id, method, path, client IP and user, and turns a panic into
//! a 500 page that shows the request id. Recording never delays or changes
//! the response: it runs in the background and failures are only logged.

use super::wants_json;
use crate::pages;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyhold::store::errors::{ErrorKind, ErrorMetadata, NewError};
use keyhold_app::auth::AuthSession;
use keyhold_app::ssr::{AppState, RECORDED_HEADER, RequestContext, chain};
use std::any::Any;

/// Left on the response by [`panic_response`].
#[derive(Clone)]
struct Panicked(String);

/// The `CatchPanicLayer` handler.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut().insert(Panicked(message));
    res
}

/// Header leptos' server functions put on their error responses.
const SERVER_FN_ERROR: &str = "serverfnerror";

pub async fn record_server_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<RequestContext>().cloned().unwrap_or_default();
    let user_id = req.extensions().get::<AuthSession>().and_then(|s| s.user.as_ref()).map(|u| u.id.to_string());
    let json = wants_json(req.uri(), req.headers());

    let mut res = next.run(req).await;
    let already_recorded = res.headers_mut().remove(RECORDED_HEADER).is_some();
    let status = res.status();
    if !status.is_server_error() || already_recorded || status == StatusCode::SERVICE_UNAVAILABLE {
        return res;
    }
    let panicked = res.extensions().get::<Panicked>().cloned();
    // A server function that could not even decode its arguments answers
    // 500 with this header; that is the client's mistake, not ours.
    if panicked.is_none() && status == StatusCode::INTERNAL_SERVER_ERROR && res.headers().contains_key(SERVER_FN_ERROR)
    {
        *res.status_mut() = StatusCode::BAD_REQUEST;
        return res;
    }

    let message = match &panicked {
        Some(Panicked(m)) => format!("panic: {m}"),
        None => format!("{} {} answered {}", ctx.method, ctx.path, status),
    };
    tracing::error!(request_id = %ctx.correlation_id, %status, %message, "server error");
    let mut record = NewError::new(ErrorKind::Internal, message);
    record.user_id = user_id;
    record.correlation_id = Some(ctx.correlation_id.clone());
    record.metadata = ErrorMetadata {
        endpoint: Some(ctx.path.clone()),
        method: Some(ctx.method.clone()),
        ip_address: Some(ctx.client_ip.to_string()),
    };
    let recorder = state.core.errors.clone();
    tokio::spawn(async move {
        if let Err(e) = recorder.record(record).await {
            tracing::warn!(error = %chain(&e), "could not record an error");
        }
    });

    if panicked.is_some() {
        return if json {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({
                    "success": false,
                    "code": "internal_error",
                    "message": "Something went wrong on our side.",
                    "request_id": ctx.correlation_id,
                })),
            )
                .into_response()
        } else {
            pages::internal_error(&ctx.correlation_id)
        };
    }
    res
}
