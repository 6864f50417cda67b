//! JSON errors: `{"success": false, "code": "…", "message": "…", …details}`,
//! the status and `Retry-After`, all decided by the app's one mapping
//! (`keyhold_app::ssr::failure::classify`). Field messages are an object
//! keyed by field name.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyhold::error_sink::Entry;
use keyhold::flows::{Core, FieldErrors, FlowError};
use keyhold_app::error::AppError;
use keyhold_app::ssr::RequestContext;
use keyhold_app::ssr::failure::{self, Classified};
use serde::Serialize;
use std::collections::BTreeMap;

/// Boxed: handlers return it by value on their cold path.
pub struct ApiError(Box<Answer>);

struct Answer {
    classified: Classified,
    entry: Option<Entry>,
}

/// What the error log should get for a failure already answered; the
/// server's recorder takes it from the response's extensions.
#[derive(Clone, Debug)]
pub struct Reported(pub Entry);

impl ApiError {
    /// Logs and classifies a failure the way server functions do.
    pub fn from_flow(core: &Core, ctx: &RequestContext, err: FlowError) -> Self {
        let (classified, entry) = failure::report(err, ctx, &core.health);
        Self(Box::new(Answer { classified, entry }))
    }

    /// A failure found before any flow ran (a malformed body): never recorded.
    pub fn plain(err: FlowError) -> Self {
        Self(Box::new(Answer { classified: failure::classify(&err, ""), entry: None }))
    }

    pub fn invalid_body(detail: String) -> Self {
        Self::plain(FlowError::Invalid(FieldErrors::single("body", detail)))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::invalid_body(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::invalid_body(rejection.body_text())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    success: bool,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_left: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// The JSON answer for an error, as every API route and middleware gives it.
pub fn json_error(status: StatusCode, error: &AppError) -> Response {
    let body = Body {
        success: false,
        code: &error.code,
        message: &error.message,
        fields: error.fields.iter().map(|f| (f.field.as_str(), f.message.as_str())).collect(),
        retry_after: error.retry_after,
        attempts_left: error.attempts_left,
        request_id: error.request_id.as_deref(),
    };
    let mut res = (status, Json(body)).into_response();
    if let Some(secs) = error.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Answer { classified, entry } = *self.0;
        let mut res = json_error(classified.status, &classified.error);
        if let Some(entry) = entry {
            res.extensions_mut().insert(Reported(entry));
        }
        res
    }
}
