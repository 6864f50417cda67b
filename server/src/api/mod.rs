//! The JSON API under `/api`, plus the health probes.

mod auth;
mod error;
mod health;
mod registration;
mod username;

pub use error::{ApiError, Reported, json_error};

use axum::Router;
use axum::routing::{get, post};
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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
}
