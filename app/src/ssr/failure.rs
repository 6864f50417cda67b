//! The one error path. [`classify`] decides, for every failure kind, what the
//! client is told (status, stable code, safe message, details) and under which
//! type the error log keeps it. Server functions, the JSON API and the
//! server's middleware all answer through it; the log sees the whole chain,
//! the client never does.

use super::RequestContext;
use crate::error::{AppError, FieldError};
use http::{HeaderValue, StatusCode, header};
use keyhold::connections::RedisHealth;
use keyhold::domain::human_size;
use keyhold::error_sink::Entry;
use keyhold::flows::FlowError;
use keyhold::jwt::TokenError;
use keyhold::store::error_log::{ErrorKind, ErrorMetadata, NewError};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::sync::{Arc, Mutex};

/// `Retry-After` while Redis is unreachable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// What the client is told about a failure, and what the error log does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub status: StatusCode,
    pub error: AppError,
    pub log: Log,
}

/// What the error log does with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Nothing: Redis outages (the recorder needs Redis; the logs have
    /// them) and plain "please log in" answers.
    Nothing,
    /// Counted per type and day: expected failures anyone can cause, which
    /// must not be able to fill Redis.
    Count(ErrorKind),
    /// Kept whole: what an operator must read (bugs, failed deliveries,
    /// security events).
    Keep(ErrorKind),
}

/// The one mapping from a failure to its answer.
pub fn classify(err: &FlowError, request_id: &str) -> Classified {
    use ErrorKind::{Auth, Email, Internal, Payment, Sms, Storage, Validation};
    use FlowError as F;
    use Log::{Count, Keep, Nothing};
    let (status, code, log, message) = match err {
        F::Invalid(_) => (
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Count(Validation),
            "Please correct the highlighted fields.".into(),
        ),
        F::WrongCode { attempts_left } => (
            StatusCode::BAD_REQUEST,
            "invalid_code",
            Count(Validation),
            format!("That code is not right. {attempts_left} attempt(s) left."),
        ),
        F::CodeExhausted => (
            StatusCode::BAD_REQUEST,
            "code_exhausted",
            Count(Validation),
            "Too many wrong attempts: this code no longer works. Request a new code.".into(),
        ),
        F::CodeExpired => {
            (StatusCode::GONE, "code_expired", Count(Validation), "This code has expired. Please start again.".into())
        }
        F::LinkExpired => (
            StatusCode::GONE,
            "link_expired",
            Count(Validation),
            "This link has expired or was already used. Ask for a new one.".into(),
        ),
        F::AccountGone => (
            StatusCode::UNAUTHORIZED,
            "account_gone",
            Count(Auth),
            "Your account could not be found. Please log in again.".into(),
        ),
        F::OtherAttempt => (
            StatusCode::CONFLICT,
            "other_attempt",
            Count(Validation),
            "This code or link belongs to a registration started in another browser, perhaps by someone \
             else. To create your account, start again here."
                .into(),
        ),
        F::AccountExists => (
            StatusCode::CONFLICT,
            "user_exists",
            Count(Validation),
            "An account with this email or username already exists.".into(),
        ),
        F::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            Count(Auth),
            format!("Too many attempts. Please try again in {}.", wait_text(*retry_after)),
        ),
        F::SmsLimit { retry_after, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            Keep(Sms),
            format!("We cannot send more text messages right now. Please try again in {}.", wait_text(*retry_after)),
        ),
        F::TokenReused => (StatusCode::UNAUTHORIZED, "token_revoked", Keep(Auth), "The token has been revoked.".into()),
        F::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            Count(Auth),
            "The email/username or password is not right.".into(),
        ),
        F::NotSignedIn => (StatusCode::UNAUTHORIZED, "not_logged_in", Nothing, "Please log in first.".into()),
        F::CrossOrigin => (StatusCode::FORBIDDEN, "cross_origin", Nothing, "Cross-origin requests are refused.".into()),
        F::DeliveryFailed(e) => (
            StatusCode::BAD_GATEWAY,
            "delivery_failed",
            Keep(if e.is_email() { Email } else { Sms }),
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
            (StatusCode::UNAUTHORIZED, code, Count(Auth), message.into())
        }
        F::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            Nothing,
            "Keyhold is temporarily unavailable. Please try again in a moment.".into(),
        ),
        F::NotFound => (StatusCode::NOT_FOUND, "not_found", Nothing, "There is nothing here.".into()),
        F::BodyTooLarge { limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            Count(Validation),
            format!("The request is too large: at most {} is allowed.", human_size(*limit)),
        ),
        F::Forbidden => (StatusCode::FORBIDDEN, "forbidden", Count(Auth), "This area is for administrators.".into()),
        F::TooLarge { limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            Count(Validation),
            format!("The file is too large: at most {} is allowed.", human_size(*limit)),
        ),
        F::QuotaExceeded { quota } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "quota_exceeded",
            Count(Validation),
            format!("Your files would take more than your {} of space. Delete some first.", human_size(*quota)),
        ),
        F::TooManyUploads { max } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_uploads",
            Count(Validation),
            format!("You have {max} uploads in progress. Let them finish or cancel some first."),
        ),
        F::TooManyFiles { max } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_files",
            Count(Validation),
            format!("You have {max} files, the most one account may keep. Delete some first."),
        ),
        F::UploadIncomplete => (
            StatusCode::CONFLICT,
            "upload_incomplete",
            Count(Validation),
            "The file's bytes have not arrived yet. Upload them, then complete.".into(),
        ),
        F::SizeMismatch { declared, actual } => (
            StatusCode::BAD_REQUEST,
            "size_mismatch",
            Count(Validation),
            format!("The upload has {actual} bytes but {declared} were announced. Please upload it again."),
        ),
        F::UnsupportedType { accepted } => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            Count(Validation),
            format!("This file's content is not {accepted}."),
        ),
        F::UploadExpired => (
            StatusCode::GONE,
            "upload_expired",
            Count(Validation),
            "This upload expired or was cancelled. Please start it again.".into(),
        ),
        F::UploadUrlInvalid => {
            (StatusCode::FORBIDDEN, "upload_url_invalid", Count(Auth), "This upload URL is not valid.".into())
        }
        F::UploadInterrupted(_) => (
            StatusCode::BAD_REQUEST,
            "upload_interrupted",
            Nothing,
            "The upload broke off before the end. Please try again.".into(),
        ),
        F::Storage(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            Keep(Storage),
            "File storage is unavailable right now. Please try again in a moment.".into(),
        ),
        F::PaymentRefused { code, .. } => {
            (StatusCode::BAD_REQUEST, *code, Count(Validation), "Please correct the highlighted fields.".into())
        }
        F::IdempotencyKeyMissing => (
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            Count(Validation),
            "Send an Idempotency-Key header, so a retry cannot pay twice.".into(),
        ),
        F::IdempotencyReused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            Count(Validation),
            "This idempotency key was already used for a different payment.".into(),
        ),
        F::PaymentConflict { code, message } => (StatusCode::CONFLICT, *code, Count(Validation), (*message).into()),
        F::PaymentProvider => (
            StatusCode::BAD_GATEWAY,
            "payment_provider_failed",
            Keep(Payment),
            "The payment provider did not answer. Please try again in a moment.".into(),
        ),
        F::WebhookRefused(_) => {
            (StatusCode::BAD_REQUEST, "invalid_signature", Keep(Payment), "The signature is not valid.".into())
        }
        F::Unexpected { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            Keep(Internal),
            format!("Something went wrong on our side. If it keeps happening, quote request {request_id}."),
        ),
    };
    let mut error = AppError::new(code, message);
    match err {
        F::Invalid(fields) | F::PaymentRefused { fields, .. } => {
            error.fields =
                fields.0.iter().map(|(f, m)| FieldError { field: (*f).to_owned(), message: m.clone() }).collect();
        }
        F::WrongCode { attempts_left } => error.attempts_left = Some(*attempts_left),
        F::Throttled { retry_after } | F::SmsLimit { retry_after, .. } => error.retry_after = Some(*retry_after),
        F::Unavailable(_) | F::Storage(_) => error.retry_after = Some(UNAVAILABLE_RETRY_AFTER),
        F::Unexpected { .. } => error.request_id = Some(request_id.to_owned()),
        _ => {}
    }
    Classified { status, error, log }
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
    entry: Option<Entry>,
}

impl ReportSlot {
    pub fn put(&self, entry: Entry) {
        if let Ok(mut slot) = self.0.lock() {
            slot.entry = Some(entry);
        }
    }

    pub fn take(&self) -> Option<Entry> {
        self.0.lock().ok().and_then(|mut slot| slot.entry.take())
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

/// Logs a failure and classifies it. Returns what the client is told and
/// what the error log should get, for the recorder to write.
pub fn report(err: FlowError, ctx: &RequestContext, health: &RedisHealth) -> (Classified, Option<Entry>) {
    let id = &ctx.correlation_id;
    let classified = classify(&err, id);
    match (&err, classified.log) {
        (FlowError::Unavailable(_), _) => {
            health.set(false);
            tracing::warn!(error = %chain(&err), request_id = %id, "redis unavailable")
        }
        (_, Log::Keep(_)) => tracing::error!(error = %chain(&err), request_id = %id, "request failed"),
        _ => tracing::debug!(error = %err, request_id = %id, "request refused"),
    }
    let entry = match classified.log {
        Log::Nothing => None,
        Log::Count(kind) => Some(Entry::Count(kind)),
        Log::Keep(kind) => {
            // The log's own wording and cause chain, never input: records
            // must hold no secrets.
            let mut record = NewError::new(kind, err.to_string()).with_chain(&err);
            record.user_id = ctx.report.user();
            record.correlation_id = Some(id.clone()).filter(|c| !c.is_empty());
            record.metadata = ErrorMetadata {
                endpoint: Some(ctx.path.clone()),
                method: Some(ctx.method.clone()),
                ip_address: Some(ctx.client_ip.to_string()),
            };
            Some(Entry::Keep(record))
        }
    };
    (classified, entry)
}

/// The server-function side of [`report`]: leaves the record in the
/// request's slot and sets the status and `Retry-After` — on a call from
/// JavaScript and on a page being rendered alike (a page whose data could
/// not be loaded answers with the failure's status, a 503 during an
/// outage). Only a plain form post keeps its 302 back to the form.
pub async fn fail(err: FlowError) -> AppError {
    let ctx = super::request_context();
    let Ok(core) = super::core() else { return no_state() };
    let (classified, entry) = report(err, &ctx, &core.health);
    if let Some(entry) = entry {
        ctx.report.put(entry);
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
pub(crate) fn is_form_post() -> bool {
    with_context::<http::request::Parts, _>(|p| {
        p.method == http::Method::POST
            && p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    })
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
    use keyhold::objects::ObjectError;
    use keyhold::store::StoreError;

    fn redis_down() -> StoreError {
        StoreError::Unhealthy
    }

    #[test]
    fn every_failure_has_one_status_code_and_record_type() {
        use ErrorKind::*;
        use Log::{Count, Keep, Nothing};
        let table: Vec<(FlowError, u16, &str, Log)> = vec![
            (FlowError::Invalid(FieldErrors::single("email", "bad")), 400, "invalid_input", Count(Validation)),
            (FlowError::WrongCode { attempts_left: 2 }, 400, "invalid_code", Count(Validation)),
            (FlowError::CodeExhausted, 400, "code_exhausted", Count(Validation)),
            (FlowError::CodeExpired, 410, "code_expired", Count(Validation)),
            (FlowError::AccountGone, 401, "account_gone", Count(Auth)),
            (FlowError::LinkExpired, 410, "link_expired", Count(Validation)),
            (FlowError::AccountExists, 409, "user_exists", Count(Validation)),
            (FlowError::OtherAttempt, 409, "other_attempt", Count(Validation)),
            (FlowError::Throttled { retry_after: 30 }, 429, "too_many_requests", Count(Auth)),
            (FlowError::InvalidCredentials, 401, "invalid_credentials", Count(Auth)),
            (FlowError::SmsLimit { reason: "cap", retry_after: 60 }, 429, "too_many_requests", Keep(Sms)),
            (FlowError::TokenReused, 401, "token_revoked", Keep(Auth)),
            (FlowError::NotSignedIn, 401, "not_logged_in", Nothing),
            (FlowError::CrossOrigin, 403, "cross_origin", Nothing),
            (FlowError::DeliveryFailed(DeliveryError::Email("smtp down".into())), 502, "delivery_failed", Keep(Email)),
            (FlowError::DeliveryFailed(DeliveryError::Sms("provider down".into())), 502, "delivery_failed", Keep(Sms)),
            (FlowError::Token(TokenError::Missing), 401, "token_missing", Count(Auth)),
            (FlowError::Token(TokenError::Invalid), 401, "token_invalid", Count(Auth)),
            (FlowError::Token(TokenError::Expired), 401, "token_expired", Count(Auth)),
            (FlowError::Token(TokenError::Revoked), 401, "token_revoked", Count(Auth)),
            (FlowError::Unavailable(redis_down()), 503, "service_unavailable", Nothing),
            (FlowError::unexpected("testing", "boom"), 500, "internal_error", Keep(Internal)),
            (FlowError::NotFound, 404, "not_found", Nothing),
            (FlowError::Forbidden, 403, "forbidden", Count(Auth)),
            (FlowError::BodyTooLarge { limit: 1024 }, 413, "payload_too_large", Count(Validation)),
            (FlowError::TooLarge { limit: 1 << 20 }, 413, "file_too_large", Count(Validation)),
            (FlowError::QuotaExceeded { quota: 1 << 20 }, 413, "quota_exceeded", Count(Validation)),
            (FlowError::TooManyUploads { max: 3 }, 413, "too_many_uploads", Count(Validation)),
            (FlowError::TooManyFiles { max: 3 }, 413, "too_many_files", Count(Validation)),
            (FlowError::UploadIncomplete, 409, "upload_incomplete", Count(Validation)),
            (
                FlowError::PaymentRefused { code: "beneficiary_is_payer", fields: FieldErrors::single("x", "y") },
                400,
                "beneficiary_is_payer",
                Count(Validation),
            ),
            (FlowError::IdempotencyKeyMissing, 400, "idempotency_key_required", Count(Validation)),
            (FlowError::IdempotencyReused, 422, "idempotency_key_reused", Count(Validation)),
            (
                FlowError::PaymentConflict { code: "refund_not_allowed", message: "m" },
                409,
                "refund_not_allowed",
                Count(Validation),
            ),
            (FlowError::PaymentProvider, 502, "payment_provider_failed", Keep(Payment)),
            (
                FlowError::WebhookRefused(keyhold::provider::signature::SignatureError::Stale),
                400,
                "invalid_signature",
                Keep(Payment),
            ),
            (FlowError::SizeMismatch { declared: 3, actual: 4 }, 400, "size_mismatch", Count(Validation)),
            (FlowError::UnsupportedType { accepted: "PNG" }, 415, "unsupported_type", Count(Validation)),
            (FlowError::UploadExpired, 410, "upload_expired", Count(Validation)),
            (FlowError::UploadUrlInvalid, 403, "upload_url_invalid", Count(Auth)),
            (FlowError::UploadInterrupted(ObjectError::Interrupted("boom".into())), 400, "upload_interrupted", Nothing),
            (FlowError::Storage(ObjectError::Setup("boom".into())), 503, "storage_unavailable", Keep(Storage)),
        ];
        for (err, status, code, log) in table {
            let c = classify(&err, "req-1");
            assert_eq!((c.status.as_u16(), c.error.code.as_str(), c.log), (status, code, log), "{err:?}");
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
