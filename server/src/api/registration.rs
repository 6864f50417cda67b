//! The registration endpoints (README: "JSON API"), with their exact request and
//! response bodies.

use super::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use keyhold::domain::{DeliveryMethod, Email, Purpose};
use keyhold::flows::registration::{self, Proof, RegistrationInput};
use keyhold::flows::{FieldErrors, FlowError, password};
use keyhold_app::ssr::{AppState, RequestContext};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct SendCodeRequest {
    email: Option<String>,
    purpose: Option<String>,
    registration_data: Option<RegistrationData>,
    delivery_method: Option<String>,
    /// Keyhold's addition for `change_password` (with a bearer token).
    current_password: Option<String>,
}

/// Seed 004's fields plus Keyhold's optional `username` and `role`.
#[derive(Deserialize)]
pub struct RegistrationData {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    preferences: Option<serde_json::Value>,
    address: Option<String>,
    username: Option<String>,
    role: Option<String>,
}

#[derive(Serialize)]
pub struct SendCodeResponse {
    success: bool,
    message: &'static str,
    expires_in_minutes: u64,
}

#[derive(Deserialize)]
pub struct CompleteRequest {
    email: Option<String>,
    code: Option<String>,
}

#[derive(Serialize)]
pub struct CompleteResponse {
    success: bool,
    message: &'static str,
}

pub async fn send_code_email(
    state: State<AppState>,
    ctx: Extension<RequestContext>,
    headers: HeaderMap,
    body: Result<Json<SendCodeRequest>, JsonRejection>,
) -> Result<Json<SendCodeResponse>, ApiError> {
    send_code(state, ctx, headers, DeliveryMethod::Email, body).await
}

pub async fn send_code_sms(
    state: State<AppState>,
    ctx: Extension<RequestContext>,
    headers: HeaderMap,
    body: Result<Json<SendCodeRequest>, JsonRejection>,
) -> Result<Json<SendCodeResponse>, ApiError> {
    send_code(state, ctx, headers, DeliveryMethod::Sms, body).await
}

/// `POST /api/{email,sms}/send-code`: `delivery_method` in the body wins over
/// the path's channel. Password codes always go to the account's email.
async fn send_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    channel: DeliveryMethod,
    body: Result<Json<SendCodeRequest>, JsonRejection>,
) -> Result<Json<SendCodeResponse>, ApiError> {
    let Json(body) = body?;
    let core = &state.core;
    let result = match body.purpose.as_deref().map(Purpose::parse) {
        Some(Ok(Purpose::ForgotPassword)) => {
            password::forgot(core, body.email.as_deref().unwrap_or_default(), ctx.client_ip)
                .await
                .map(|c| c.expires_in_minutes)
        }
        Some(Ok(Purpose::ChangePassword)) => match super::auth::bearer_account(&state, &headers).await {
            Ok(id) => {
                let current = body.current_password.unwrap_or_default();
                password::send_change_code(core, id, &current, ctx.client_ip).await.map(|c| c.expires_in_minutes)
            }
            Err(e) => Err(e),
        },
        _ => match to_input(body, channel) {
            Ok(input) => registration::start(core, input, ctx.client_ip).await.map(|sent| sent.expires_in_minutes),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(expires_in_minutes) => Ok(Json(SendCodeResponse {
            success: true,
            message: "Verification code sent successfully",
            expires_in_minutes,
        })),
        Err(e) => Err(ApiError::from_flow(core, &ctx, e)),
    }
}

fn to_input(body: SendCodeRequest, channel: DeliveryMethod) -> Result<RegistrationInput, FlowError> {
    let mut errors = FieldErrors::default();
    let email = body.email.unwrap_or_default();
    match body.purpose.as_deref().map(Purpose::parse) {
        Some(Ok(Purpose::FinishRegistration)) => {}
        Some(Ok(_)) => {}
        Some(Err(e)) => errors.add("purpose", e),
        None => errors.add("purpose", "This field is required."),
    }
    let Some(data) = body.registration_data else {
        errors.add("registration_data", "This field is required.");
        return Err(FlowError::Invalid(errors));
    };
    if let Some(inner) = data.email.as_deref()
        && Email::parse(inner).ok() != Email::parse(&email).ok()
    {
        errors.add("registration_data.email", "Must be the same address as `email`.");
    }
    errors.into_result()?;
    Ok(RegistrationInput {
        name: data.name.unwrap_or_default(),
        username: data.username,
        email,
        phone: data.phone,
        password: data.password.unwrap_or_default(),
        delivery_method: body.delivery_method.unwrap_or_else(|| channel.to_string()),
        role: data.role,
        preferences: data.preferences,
        address: data.address,
    })
}

/// `POST /api/{email,sms}/complete-registration`.
pub async fn complete(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Result<Json<CompleteRequest>, JsonRejection>,
) -> Result<Json<CompleteResponse>, ApiError> {
    let Json(body) = body?;
    let core = &state.core;
    let email = body.email.unwrap_or_default();
    let code = body.code.unwrap_or_default();
    match registration::complete(core, &email, Proof::Code(&code), None, ctx.client_ip).await {
        Ok(_) => Ok(Json(CompleteResponse { success: true, message: "Registration completed successfully" })),
        Err(e) => Err(ApiError::from_flow(core, &ctx, e)),
    }
}
