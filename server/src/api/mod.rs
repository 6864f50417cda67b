//! The JSON API under `/api`, plus the health probes.

mod admin;
mod auth;
mod error;
mod health;
mod payments;
mod registration;
mod uploads;
mod username;

pub use error::{ApiError, Reported, json_error};

use axum::http::HeaderMap;
use keyhold::flows::FlowError;
use keyhold_app::ssr::RequestContext;
use uuid::Uuid;

/// A flow's failure, answered through the one mapping.
fn fail(state: &AppState, ctx: &RequestContext, err: FlowError) -> ApiError {
    ApiError::from_flow(&state.core, ctx, err)
}

/// The account of the request's bearer token.
async fn caller(state: &AppState, ctx: &RequestContext, headers: &HeaderMap) -> Result<Uuid, ApiError> {
    keyhold::flows::tokens::verify_access(&state.core, auth::bearer(headers)).await.map_err(|e| fail(state, ctx, e))
}

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use keyhold_app::ssr::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/email/send-code", post(registration::send_code_email))
        .route("/api/sms/send-code", post(registration::send_code_sms))
        .route("/api/email/complete-registration", post(registration::complete))
        .route("/api/sms/complete-registration", post(registration::complete))
        .route("/api/username-status", get(username::status))
        .route("/api/auth/token", post(auth::token))
        .route("/api/auth/refresh", post(auth::refresh))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/reset-password", post(auth::reset_password))
        .route("/api/auth/change-password", post(auth::change_password))
        .route("/api/me", get(auth::me))
        .route("/api/errors", post(admin::ingest).layer(DefaultBodyLimit::max(admin::INGEST_BODY_LIMIT)))
        .route("/api/admin/errors", get(admin::list))
        .route("/api/admin/errors/groups", get(admin::groups))
        .route("/api/admin/errors/groups/{service}/{group}", get(admin::group))
        .route("/api/admin/errors/groups/{service}/{group}/{action}", post(admin::group_action))
        .route("/api/admin/errors/{key}", get(admin::show))
        .route("/api/payments", get(payments::list).post(payments::create))
        .route("/api/payments/webhook", post(payments::webhook))
        .route("/api/payments/{id}", get(payments::show))
        .route("/api/payments/{id}/refund", post(payments::refund))
        .route("/api/uploads", get(uploads::list).post(uploads::open))
        .route("/api/uploads/{object_key}", get(uploads::download).delete(uploads::delete))
        // The body streams into the store, limited by the upload's own size.
        .route("/api/uploads/{object_key}/content", put(uploads::put_content).layer(DefaultBodyLimit::disable()))
        .route("/api/uploads/{object_key}/complete", post(uploads::complete))
        .route("/api/uploads/{object_key}/cancel", post(uploads::cancel))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}
