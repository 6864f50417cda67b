//! Registration: the form, the username check, the code or magic link, resends.

// One argument per form field (forms post flat `name=…&email=…` pairs), and
// the macro's generated client code repeats the signature.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a verify page shows about a pending code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyStatus {
    pub live: bool,
    pub resend_in: u64,
    pub sends_left: u32,
    pub attempts_left: u32,
    pub expires_in: u64,
}

#[cfg(feature = "ssr")]
impl From<keyhold::flows::codes::PendingStatus> for VerifyStatus {
    fn from(s: keyhold::flows::codes::PendingStatus) -> Self {
        Self {
            live: s.live,
            resend_in: s.resend_in,
            sends_left: s.sends_left,
            attempts_left: s.attempts_left,
            expires_in: s.expires_in,
        }
    }
}

/// `/verify?email=…[&sent=1]`.
#[cfg(feature = "ssr")]
fn verify_path(email: &keyhold::domain::Email, sent: bool) -> String {
    let email = ("email", email.as_str());
    let pairs: &[(&str, &str)] = if sent { &[email, ("sent", "1")] } else { &[email] };
    super::ssr::path_with_query("/verify", pairs)
}

#[server(prefix = "/fn", endpoint = "register")]
pub async fn register(
    name: String,
    username: String,
    email: String,
    phone: Option<String>,
    password: String,
    delivery_method: Option<String>,
    role: Option<String>,
    intent: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    use crate::ssr::{core, fail, failure::set_status, request_context};
    use keyhold::flows::{registration, username as username_flow};

    let core = core()?;
    let ip = request_context().client_ip;
    let echo = Echo::default()
        .with("name", &name)
        .with("username", &username)
        .with("email", &email)
        .with_optional("phone", &phone)
        .with_optional("delivery_method", &delivery_method)
        .with_optional("role", &role);

    if intent.as_deref() == Some("check") {
        return match username_flow::is_available(&core, &username, ip).await {
            Ok(available) => {
                let answer = AppError::username_status(available);
                set_status(http::StatusCode::BAD_REQUEST, &answer);
                echo.keep_for(&answer).await;
                Err(answer)
            }
            Err(e) => {
                let err = fail(e).await;
                echo.keep_for(&err).await;
                Err(err)
            }
        };
    }

    let input = registration::RegistrationInput {
        name,
        username: Some(username),
        email,
        phone,
        password,
        delivery_method: delivery_method.unwrap_or_default(),
        role,
        preferences: None,
        address: None,
    };
    let result = registration::start(&core, input, ip).await;
    if let Ok(sent) = &result {
        super::ssr::remember_attempt(sent.email.as_str(), &sent.attempt).await?;
    }
    finish(result, |sent| verify_path(&sent.email, false), echo).await
}

#[server(prefix = "/fn", endpoint = "username-status")]
pub async fn check_username(username: String) -> Result<bool, AppError> {
    use crate::ssr::{core, fail, request_context};
    let core = core()?;
    match keyhold::flows::username::is_available(&core, &username, request_context().client_ip).await {
        Ok(available) => Ok(available),
        Err(e) => Err(fail(e).await),
    }
}

/// Verifies by code or magic link, then logs the new account in. Either
/// must belong to the attempt this session started: a code or link from
/// someone else's attempt (their username and password) never creates an
/// account for whoever follows it.
#[cfg(feature = "ssr")]
async fn complete(email: String, proof: keyhold::flows::registration::Proof<'_>) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    let attempt = Some(super::ssr::attempt_for(&email).await?);
    let client = crate::ssr::request_context().client_ip;
    match keyhold::flows::registration::complete(&core, &email, proof, attempt.as_deref(), client).await {
        Ok(user_id) => {
            super::ssr::log_in(&core, user_id).await?;
            leptos_axum::redirect("/profile");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "verify")]
pub async fn verify_code(email: String, code: String) -> Result<(), AppError> {
    complete(email, keyhold::flows::registration::Proof::Code(&code)).await
}

#[server(prefix = "/fn", endpoint = "confirm-link")]
pub async fn confirm_link(email: String, token: String) -> Result<(), AppError> {
    complete(email, keyhold::flows::registration::Proof::Token(&token)).await
}

#[server(prefix = "/fn", endpoint = "resend")]
pub async fn resend_code(email: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    let core = crate::ssr::core()?;
    let attempt = super::ssr::attempt_for(&email).await?;
    let ip = crate::ssr::request_context().client_ip;
    let result = keyhold::flows::registration::resend(&core, &email, ip, Some(&attempt)).await;
    finish(result, |sent| verify_path(&sent.email, true), Echo::default()).await
}

#[server(prefix = "/fn", endpoint = "verification-status")]
pub async fn verification_status(email: String) -> Result<VerifyStatus, AppError> {
    let core = crate::ssr::core()?;
    let attempt = super::ssr::attempt_for(&email).await?;
    match keyhold::flows::registration::status(&core, &email, Some(&attempt)).await {
        Ok(s) => Ok(s.into()),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

/// Confirms the address of an account registered by SMS (the emailed link).
#[server(prefix = "/fn", endpoint = "confirm-email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    let core = crate::ssr::core()?;
    let result = keyhold::flows::registration::confirm_email(&core, &token).await;
    finish(result, |_| "/login?confirmed=1".to_owned(), Echo::default()).await
}
