//! Forgotten and changed passwords.

use super::VerifyStatus;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/fn", endpoint = "forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish, path_with_query};
    let core = crate::ssr::core()?;
    let result = keyhold::flows::password::forgot(&core, &email, crate::ssr::request_context().client_ip).await;
    let typed = keyhold::domain::Email::parse(&email).map(|e| e.to_string()).unwrap_or_else(|_| email.clone());
    let to = |_: &_| path_with_query("/reset-password", &[("email", &typed), ("sent", "1")]);
    finish(result, to, Echo::default().with("email", &email)).await
}

/// A new password with the emailed code, or with the emailed link's token.
#[server(prefix = "/fn", endpoint = "reset-password")]
pub async fn reset_password(
    email: String,
    code: Option<String>,
    token: Option<String>,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use keyhold::flows::password::{NewPassword, Proof, reset};
    let core = crate::ssr::core()?;
    let code = code.unwrap_or_default();
    let proof = match token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Proof::Token(token),
        None => Proof::Code(&code),
    };
    let client = crate::ssr::request_context().client_ip;
    let new = NewPassword { proof, new_password: &new_password, confirm: &confirm_password, client };
    match reset(&core, &email, new).await {
        Ok(account) => {
            super::ssr::log_in(&core, account.id).await?;
            leptos_axum::redirect("/profile?reset=1");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "send-change-code")]
pub async fn send_change_code(current_password: String) -> Result<(), AppError> {
    use super::ssr::{Echo, finish, signed_in_user};
    let user = signed_in_user().await?;
    let core = crate::ssr::core()?;
    let ip = crate::ssr::request_context().client_ip;
    let result = keyhold::flows::password::send_change_code(&core, user.id, &current_password, ip).await;
    finish(result, |_| "/change-password?sent=1".to_owned(), Echo::default()).await
}

#[server(prefix = "/fn", endpoint = "change-password")]
pub async fn change_password(code: String, new_password: String, confirm_password: String) -> Result<(), AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    use keyhold::flows::password::{NewPassword, Proof, change};
    let client = crate::ssr::request_context().client_ip;
    let new =
        NewPassword { proof: Proof::Code(&code), new_password: &new_password, confirm: &confirm_password, client };
    match change(&core, user.id, new).await {
        Ok(account) => {
            // Every session ended with the new password; this one carries on.
            super::ssr::log_in(&core, account.id).await?;
            leptos_axum::redirect("/profile?changed=1");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}

#[server(prefix = "/fn", endpoint = "reset-status")]
pub async fn reset_status(email: String) -> Result<VerifyStatus, AppError> {
    let core = crate::ssr::core()?;
    let purpose = keyhold::domain::Purpose::ForgotPassword;
    match keyhold::flows::codes::status(&core, purpose, &email).await {
        Ok(s) => Ok(s.into()),
        Err(e) => Err(crate::ssr::fail(e).await),
    }
}
