//! JSON errors: `{"success": false, "code": "…", "message": "…", …details}`
//! with the status, `Retry-After` and the stable `code` of [`AppError`].

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keyhold::flows::{Core, FlowError};
use keyhold_app::error::AppError;
use keyhold_app::ssr::{RECORDED_HEADER, RequestContext, report, retry_after_of, status_of};

pub struct ApiError {
    error: AppError,
    recorded: bool,
}

impl ApiError {
    /// Logs and records a flow error the way server functions do.
    pub async fn from_flow(core: &Core, ctx: &RequestContext, err: FlowError) -> Self {
        let (error, recorded) = report(core, ctx, err, None).await;
        Self { error, recorded }
    }

    pub fn invalid_body(detail: String) -> Self {
        Self {
            error: AppError::InvalidInput {
                fields: vec![keyhold_app::error::FieldError { field: "body".to_owned(), message: detail }],
                values: Vec::new(),
            },
            recorded: false,
        }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.error);
        let mut body = match serde_json::to_value(&self.error) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        body.remove("values");
        if let Some(serde_json::Value::Array(fields)) = body.remove("fields") {
            // {"fields": {"email": "Enter a valid email address…"}}
            let by_name: serde_json::Map<String, serde_json::Value> = fields
                .into_iter()
                .filter_map(|f| Some((f.get("field")?.as_str()?.to_owned(), f.get("message")?.clone())))
                .collect();
            body.insert("fields".to_owned(), by_name.into());
        }
        body.insert("success".to_owned(), false.into());
        body.insert("message".to_owned(), self.error.to_string().into());
        let mut res = (status, Json(serde_json::Value::Object(body))).into_response();
        if let Some(secs) = retry_after_of(&self.error) {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.recorded {
            res.headers_mut().insert(HeaderName::from_static(RECORDED_HEADER), HeaderValue::from_static("1"));
        }
        res
    }
}
