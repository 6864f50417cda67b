//! The error recorder's side of the one error path: hands the error log
//! what handlers reported (from the response's extensions, or the request's
//! slot for server functions) and every other 5xx and panic, with the
//! request's correlation id, method, path, client IP and user. Writing
//! happens off the request path ([`keyhold::error_sink`]). A panic becomes a
//! 500 page or JSON answer that shows the request id.

use super::wants_json;
use crate::api::{Reported, json_error};
use crate::pages;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyhold::error_sink::Entry;
use keyhold::flows::FlowError;
use keyhold::store::error_log::{ErrorKind, ErrorMetadata, NewError};
use keyhold_app::auth::AuthSession;
use keyhold_app::ssr::failure::classify;
use keyhold_app::ssr::{AppState, RequestContext};
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

pub async fn record_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<RequestContext>().cloned().unwrap_or_default();
    let json = wants_json(req.uri(), req.headers());

    let mut res = next.run(req).await;
    let sink = &state.core.error_sink;
    let reported = res.extensions_mut().remove::<Reported>().map(|Reported(e)| e).or_else(|| ctx.report.take());
    if let Some(entry) = reported {
        sink.send(entry, Some(ctx.client_ip));
        return res;
    }
    let status = res.status();
    if !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE {
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
    record.user_id = ctx.report.user();
    record.correlation_id = Some(ctx.correlation_id.clone());
    record.metadata = ErrorMetadata {
        endpoint: Some(ctx.path.clone()),
        method: Some(ctx.method.clone()),
        ip_address: Some(ctx.client_ip.to_string()),
    };
    sink.send(Entry::Keep(record), Some(ctx.client_ip));

    if panicked.is_none() {
        return res;
    }
    if json {
        let c = classify(&FlowError::unexpected("handling a request", "panic"), &ctx.correlation_id);
        json_error(c.status, &c.error)
    } else {
        pages::internal_error(&ctx.correlation_id)
    }
}

/// Notes the signed-in user in the request's context once the session is
/// read, so records of failures further in name them.
pub async fn note_user(req: Request, next: Next) -> Response {
    if let (Some(ctx), Some(user)) =
        (req.extensions().get::<RequestContext>(), req.extensions().get::<AuthSession>().and_then(|s| s.user.as_ref()))
    {
        ctx.report.set_user(user.id.to_string());
    }
    next.run(req).await
}
