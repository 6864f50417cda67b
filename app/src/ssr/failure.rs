//! The one error path. [`classify`] decides, for every failure kind, what the
//! client is told (status, stable code, safe message, details) and under which
//! type the error log keeps it. Server functions, the JSON API and the
//! server's middleware all answer through it; the log sees the whole chain,
//! the client never does.

use super::RequestContext;
use crate::error::{AppError, FieldError};
use http::{HeaderValue, StatusCode, header};
use keyhold::connections::RedisHealth;
use keyhold::flows::FlowError;
use keyhold::jwt::TokenError;
use keyhold::store::error_log::{ErrorKind, ErrorMetadata, NewError};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::sync::{Arc, Mutex};

/// `Retry-After` while Redis is unreachable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// What the client is told about a failure, and what the log keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub status: StatusCode,
    pub error: AppError,
    /// The type under which the error log keeps it, if it does. Redis outages
    /// are not kept: the recorder needs Redis, and the logs have them.
    pub record: Option<ErrorKind>,
}

/// The one mapping from a failure to its answer.
pub fn classify(err: &FlowError, request_id: &str) -> Classified {
    use ErrorKind::{Auth, Email, Internal, Sms, Validation};
    use FlowError as F;
    let (status, code, record, message) = match err {
        F::Invalid(_) => (
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(Validation),
            "Please correct the highlighted fields.".into(),
        ),
        F::WrongCode { attempts_left } => (
            StatusCode::BAD_REQUEST,
            "invalid_code",
            Some(Validation),
            format!("That code is not right. {attempts_left} attempt(s) left."),
        ),
        F::CodeExhausted => (
            StatusCode::BAD_REQUEST,
            "code_exhausted",
            Some(Validation),
            "Too many wrong attempts: this code no longer works. Request a new code.".into(),
        ),
        F::CodeExpired => {
            (StatusCode::GONE, "code_expired", Some(Validation), "This code has expired. Please start again.".into())
        }
        F::AccountGone => (
            StatusCode::UNAUTHORIZED,
            "account_gone",
            Some(Auth),
            "Your account could not be found. Please log in again.".into(),
        ),
        F::AccountExists => (
            StatusCode::CONFLICT,
            "user_exists",
            Some(Validation),
            "An account with this email or username already exists.".into(),
        ),
        F::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            Some(Auth),
            format!("Too many attempts. Please try again in {}.", wait_text(*retry_after)),
        ),
        F::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            Some(Auth),
            "The email/username or password is not right.".into(),
        ),
        F::NotSignedIn => (StatusCode::UNAUTHORIZED, "not_logged_in", None, "Please log in first.".into()),
        F::CrossOrigin => (StatusCode::FORBIDDEN, "cross_origin", None, "Cross-origin requests are refused.".into()),
        F::DeliveryFailed(e) => (
            StatusCode::BAD_GATEWAY,
            "delivery_failed",
            Some(if e.is_email() { Email } else { Sms }),
            "We could not send your code. Please try again.".into(),
        ),
        F::Token(t) => {
            let (code, message) = match t {
                TokenError::Missing => ("token_missing", "A bearer token is required."),
                TokenError::Invalid => {
                    ("token_invalid", "The token is malformed, wrongly signed or of the wrong kind.")
                }
                TokenError::Expired => ("token_expired", "The token has expired."),
                TokenError::Revoked => ("token_revoked", "The token has been revoked."),
            };
            (StatusCode::UNAUTHORIZED, code, Some(Auth), message.into())
        }
        F::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            None,
            "Keyhold is temporarily unavailable. Please try again in a moment.".into(),
        ),
        F::Unexpected { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            Some(Internal),
            format!("Something went wrong on our side. If it keeps happening, quote request {request_id}."),
        ),
    };
    let mut error = AppError::new(code, message);
    match err {
        F::Invalid(fields) => {
            error.fields =
                fields.0.iter().map(|(f, m)| FieldError { field: (*f).to_owned(), message: m.clone() }).collect();
        }
        F::WrongCode { attempts_left } => error.attempts_left = Some(*attempts_left),
        F::Throttled { retry_after } => error.retry_after = Some(*retry_after),
        F::Unavailable(_) => error.retry_after = Some(UNAVAILABLE_RETRY_AFTER),
        F::Unexpected { .. } => error.request_id = Some(request_id.to_owned()),
        _ => {}
    }
    Classified { status, error, record }
}

fn wait_text(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// Where a server function leaves what the error log should keep about its
/// failure. Leptos builds a server function's response itself, so the
/// function cannot put it on the response; the request carries this slot
/// instead, and the server's recorder reads it once the response is ready.
#[derive(Clone, Debug, Default)]
pub struct ReportSlot(Arc<Mutex<SlotContents>>);

#[derive(Debug, Default)]
struct SlotContents {
    user_id: Option<String>,
    record: Option<NewError>,
}

impl ReportSlot {
    pub fn put(&self, record: NewError) {
        if let Ok(mut slot) = self.0.lock() {
            slot.record = Some(record);
        }
    }

    pub fn take(&self) -> Option<NewError> {
        self.0.lock().ok().and_then(|mut slot| slot.record.take())
    }

    /// The signed-in user, noted by the server once the session is read.
    pub fn set_user(&self, user_id: String) {
        if let Ok(mut slot) = self.0.lock() {
            slot.user_id = Some(user_id);
        }
    }

    pub fn user(&self) -> Option<String> {
        self.0.lock().ok().and_then(|slot| slot.user_id.clone())
    }
}

/// Logs a failure and classifies it. Returns what the client is told and,
/// when the error log keeps it, the record for the recorder to write.
pub fn report(err: FlowError, ctx: &RequestContext, health: &RedisHealth) -> (Classified, Option<NewError>) {
    let id = &ctx.correlation_id;
    match &err {
        FlowError::Unexpected { .. } | FlowError::DeliveryFailed(_) => {
            tracing::error!(error = %chain(&err), request_id = %id, "request failed")
        }
        FlowError::Unavailable(_) => {
            health.set(false);
            tracing::warn!(error = %chain(&err), request_id = %id, "redis unavailable")
        }
        _ => tracing::debug!(error = %err, request_id = %id, "request refused"),
    }
    let classified = classify(&err, id);
    let record = classified.record.map(|kind| {
        // The log's own wording, never input: records must hold no secrets.
        let mut record = NewError::new(kind, err.to_string());
        if matches!(err, FlowError::Unexpected { .. } | FlowError::DeliveryFailed(_)) {
            record = record.with_chain(&err);
        }
        record.user_id = ctx.report.user();
        record.correlation_id = Some(id.clone()).filter(|c| !c.is_empty());
        record.metadata = ErrorMetadata {
            endpoint: Some(ctx.path.clone()),
            method: Some(ctx.method.clone()),
            ip_address: Some(ctx.client_ip.to_string()),
        };
        record
    });
    (classified, record)
}

/// The server-function side of [`report`]: leaves the record in the
/// request's slot and sets the status and `Retry-After` for callers that
/// came through JavaScript. (A plain form post must stay a redirect, so it
/// keeps the 302.)
pub async fn fail(err: FlowError) -> AppError {
    let ctx = super::request_context();
    let Ok(core) = super::core() else { return no_state() };
    let (classified, record) = report(err, &ctx, &core.health);
    if let Some(record) = record {
        ctx.report.put(record);
    }
    set_status(classified.status, &classified.error);
    classified.error
}

/// Sets the status of a server function's error response.
pub fn set_status(status: StatusCode, err: &AppError) {
    if is_form_post() {
        return;
    }
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(status);
        if let Some(secs) = err.retry_after {
            res.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

/// A plain HTML form post (JavaScript off): the answer must stay a redirect.
fn is_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false)
}

/// Without the app's state nothing can be served (a wiring mistake).
pub(crate) fn no_state() -> AppError {
    let err = FlowError::unexpected("reading the app state", "no AppState in the Leptos context");
    classify(&err, "").error
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

#[cfg(test)]
mod tests {
    use super::*;
    use keyhold::flows::FieldErrors;
    use keyhold::notify::DeliveryError;
    use keyhold::store::StoreError;

    fn redis_down() -> StoreError {
        StoreError::Unhealthy
    }

    #[test]
    fn every_failure_has_one_status_code_and_record_type() {
        use ErrorKind::*;
        let table: Vec<(FlowError, u16, &str, Option<ErrorKind>)> = vec![
            (FlowError::Invalid(FieldErrors::single("email", "bad")), 400, "invalid_input", Some(Validation)),
            (FlowError::WrongCode { attempts_left: 2 }, 400, "invalid_code", Some(Validation)),
            (FlowError::CodeExhausted, 400, "code_exhausted", Some(Validation)),
            (FlowError::CodeExpired, 410, "code_expired", Some(Validation)),
            (FlowError::AccountGone, 401, "account_gone", Some(Auth)),
            (FlowError::AccountExists, 409, "user_exists", Some(Validation)),
            (FlowError::Throttled { retry_after: 30 }, 429, "too_many_requests", Some(Auth)),
            (FlowError::InvalidCredentials, 401, "invalid_credentials", Some(Auth)),
            (FlowError::NotSignedIn, 401, "not_logged_in", None),
            (FlowError::CrossOrigin, 403, "cross_origin", None),
            (FlowError::DeliveryFailed(DeliveryError::Email("smtp down".into())), 502, "delivery_failed", Some(Email)),
            (FlowError::DeliveryFailed(DeliveryError::Sms("provider down".into())), 502, "delivery_failed", Some(Sms)),
            (FlowError::Token(TokenError::Missing), 401, "token_missing", Some(Auth)),
            (FlowError::Token(TokenError::Invalid), 401, "token_invalid", Some(Auth)),
            (FlowError::Token(TokenError::Expired), 401, "token_expired", Some(Auth)),
            (FlowError::Token(TokenError::Revoked), 401, "token_revoked", Some(Auth)),
            (FlowError::Unavailable(redis_down()), 503, "service_unavailable", None),
            (FlowError::unexpected("testing", "boom"), 500, "internal_error", Some(Internal)),
        ];
        for (err, status, code, record) in table {
            let c = classify(&err, "req-1");
            assert_eq!((c.status.as_u16(), c.error.code.as_str(), c.record), (status, code, record), "{err:?}");
            assert!(!c.error.message.is_empty(), "{err:?}");
            assert!(!c.error.message.contains("boom"), "the cause stays in the log: {err:?}");
        }
    }

    #[test]
    fn details_travel_with_the_error() {
        let c = classify(&FlowError::Invalid(FieldErrors::single("email", "Enter an email.")), "r");
        assert_eq!(c.error.field("email").as_deref(), Some("Enter an email."));
        assert_eq!(classify(&FlowError::WrongCode { attempts_left: 4 }, "r").error.attempts_left, Some(4));
        let c = classify(&FlowError::Throttled { retry_after: 900 }, "r");
        assert_eq!(
            (c.error.retry_after, c.error.message.as_str()),
            (Some(900), "Too many attempts. Please try again in 15 minutes.")
        );
        assert_eq!(
            classify(&FlowError::Unavailable(redis_down()), "r").error.retry_after,
            Some(UNAVAILABLE_RETRY_AFTER)
        );
        let c = classify(&FlowError::unexpected("testing", "boom"), "req-9");
        assert_eq!(c.error.request_id.as_deref(), Some("req-9"));
        assert!(c.error.message.contains("req-9"));
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_text(1), "a second");
        assert_eq!(wait_text(42), "42 seconds");
        assert_eq!(wait_text(900), "15 minutes");
    }
}
