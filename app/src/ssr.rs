//! Server-only glue between server functions and the core: state, the
//! request context, and the one place that turns a flow error into what the
//! client sees (status, message) and what the error log keeps.

use crate::error::{AppError, FieldError};
use axum::extract::FromRef;
use http::{HeaderValue, StatusCode, header, request::Parts};
use keyhold::flows::{Core, FlowError};
use keyhold::store::errors::{ErrorMetadata, NewError};
use keyhold::tokens::TokenError;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::net::{IpAddr, Ipv4Addr};

/// Shared by the router, the server functions and the JSON API.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Facts about the current request, put in its extensions by the server's
/// middleware: used for error records and throttles.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub correlation_id: String,
    pub client_ip: IpAddr,
    pub method: String,
    pub path: String,
}

impl Default for RequestContext {
    fn default() -> Self {
        Self {
            correlation_id: String::new(),
            client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            method: String::new(),
            path: String::new(),
        }
    }
}

/// Set on a response whose error has already been recorded, so the server's
/// 5xx recorder does not record it twice. Stripped before the response leaves.
pub const RECORDED_HEADER: &str = "x-keyhold-recorded";

pub fn core() -> Result<Core, AppError> {
    use_context::<AppState>().map(|s| s.core).ok_or(AppError::ServiceUnavailable)
}

pub fn request_context() -> RequestContext {
    use_context::<Parts>().and_then(|p| p.extensions.get::<RequestContext>().cloned()).unwrap_or_default()
}

/// A plain HTML form post (JavaScript off): the answer must stay a redirect.
fn is_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false)
}

/// The HTTP status for an error.
pub fn status_of(err: &AppError) -> StatusCode {
    match err {
        AppError::InvalidInput { .. }
        | AppError::UsernameStatus { .. }
        | AppError::InvalidCode { .. }
        | AppError::CodeExhausted
        | AppError::BadRequest => StatusCode::BAD_REQUEST,
        AppError::CodeExpired => StatusCode::GONE,
        AppError::UserExists => StatusCode::CONFLICT,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::InvalidCredentials
        | AppError::NotLoggedIn
        | AppError::TokenMissing
        | AppError::TokenInvalid
        | AppError::TokenExpired
        | AppError::TokenRevoked => StatusCode::UNAUTHORIZED,
        AppError::DeliveryFailed => StatusCode::BAD_GATEWAY,
        AppError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal { .. } | AppError::Network => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` seconds for errors that have one.
pub fn retry_after_of(err: &AppError) -> Option<u64> {
    match err {
        AppError::TooManyRequests { retry_after } => Some(*retry_after),
        AppError::ServiceUnavailable => Some(5),
        _ => None,
    }
}

/// Turns a flow error into the client's error: logs it, records it in the
/// error log when it is worth recording, and tells the health monitor about
/// a Redis outage. Returns whether it was recorded.
pub async fn report(core: &Core, ctx: &RequestContext, err: FlowError, user_id: Option<String>) -> (AppError, bool) {
    match &err {
        FlowError::Unexpected { .. } | FlowError::DeliveryFailed(_) => {
            tracing::error!(error = %chain(&err), request_id = %ctx.correlation_id, "request failed")
        }
        FlowError::Unavailable(_) => {
            core.health.set(false);
            tracing::warn!(error = %chain(&err), request_id = %ctx.correlation_id, "redis unavailable")
        }
        _ => tracing::debug!(code = err.code(), request_id = %ctx.correlation_id, "request refused"),
    }
    let mut recorded = false;
    if let Some(kind) = err.record_kind() {
        let mut record = NewError::new(kind, err.to_string());
        if matches!(err, FlowError::Unexpected { .. } | FlowError::DeliveryFailed(_)) {
            record = record.with_chain(&err);
        }
        record.user_id = user_id;
        record.correlation_id = Some(ctx.correlation_id.clone()).filter(|c| !c.is_empty());
        record.metadata = ErrorMetadata {
            endpoint: Some(ctx.path.clone()),
            method: Some(ctx.method.clone()),
            ip_address: Some(ctx.client_ip.to_string()),
        };
        match core.errors.record(record).await {
            Ok(_) => recorded = true,
            Err(e) => tracing::warn!(error = %chain(&e), "could not record an error"),
        }
    }
    (to_app_error(err, &ctx.correlation_id), recorded)
}

fn to_app_error(err: FlowError, request_id: &str) -> AppError {
    match err {
        FlowError::Invalid(fields) => AppError::InvalidInput {
            fields: fields.0.into_iter().map(|(f, m)| FieldError { field: f.to_owned(), message: m }).collect(),
            values: Vec::new(),
        },
        FlowError::WrongCode { attempts_left } => AppError::InvalidCode { attempts_left },
        FlowError::CodeExhausted => AppError::CodeExhausted,
        FlowError::Expired => AppError::CodeExpired,
        FlowError::AccountExists => AppError::UserExists,
        FlowError::Throttled { retry_after } => AppError::TooManyRequests { retry_after },
        FlowError::InvalidCredentials => AppError::InvalidCredentials,
        FlowError::DeliveryFailed(_) => AppError::DeliveryFailed,
        FlowError::Unavailable(_) => AppError::ServiceUnavailable,
        FlowError::Token(TokenError::Missing) => AppError::TokenMissing,
        FlowError::Token(TokenError::Invalid) => AppError::TokenInvalid,
        FlowError::Token(TokenError::Expired) => AppError::TokenExpired,
        FlowError::Token(TokenError::Revoked) => AppError::TokenRevoked,
        FlowError::Unexpected { .. } => AppError::Internal { request_id: request_id.to_owned() },
    }
}

/// The server-function side of [`report`]: also sets the status and
/// `Retry-After` for clients that called through JavaScript. (A plain form
/// post must stay a redirect, so it keeps the 302.)
pub async fn fail(err: FlowError, user_id: Option<String>) -> AppError {
    let ctx = request_context();
    let app_error = match core() {
        Ok(core) => {
            let (app_error, recorded) = report(&core, &ctx, err, user_id).await;
            if recorded && let Some(res) = use_context::<ResponseOptions>() {
                res.insert_header(header::HeaderName::from_static(RECORDED_HEADER), HeaderValue::from_static("1"));
            }
            app_error
        }
        Err(e) => e,
    };
    set_status(&app_error);
    app_error
}

/// Sets the status of a server function's error response.
pub fn set_status(err: &AppError) {
    if is_form_post() {
        return;
    }
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(status_of(err));
        if let Some(secs) = retry_after_of(err) {
            res.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

/// "outer: inner: innermost" for log lines.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
