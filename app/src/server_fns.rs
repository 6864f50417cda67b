//! Server functions: thin wrappers that parse the request, call a flow and
//! map its error. Every one has a fixed URL under `/fn/`.

// One argument per form field (forms post flat `name=…&email=…` pairs), and
// the macro's generated client code repeats the signature.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the page chrome shows about the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: String,
}

/// What the verify page shows about a pending code.
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

/// Only same-site paths may be a redirect target after login.
pub fn safe_next(next: Option<&str>) -> String {
    // Browsers drop tabs and newlines from URLs and read `\` as `/`, so
    // `/\t/evil.example` would become `//evil.example`: accept only plain
    // path characters.
    let plain = |p: &str| p.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    match next.map(str::trim) {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && plain(p) && !p.contains("://") => p.to_owned(),
        _ => "/profile".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/profile?tab=1")), "/profile?tab=1");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/a\nb",
            "/\u{7f}x",
            "profile",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/profile", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/profile");
    }
}

/// `/verify?email=…` with the address encoded for a URL and a header.
pub fn verify_path(email: &str, extra: &str) -> String {
    let mut encoded = String::with_capacity(email.len());
    for b in email.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => encoded.push(b as char),
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("/verify?email={encoded}{extra}")
}

#[cfg(feature = "ssr")]
mod server {
    use crate::auth::{AuthSession, User};
    use crate::error::AppError;
    use crate::ssr::{core, fail};
    use keyhold::flows::{Core, FlowError};
    use keyhold::store::accounts;
    use uuid::Uuid;

    pub async fn auth_session() -> Result<AuthSession, AppError> {
        leptos_axum::extract::<AuthSession>().await.map_err(|_| AppError::ServiceUnavailable)
    }

    /// Logs the account in on this session, with a fresh session id.
    pub async fn log_in(core: &Core, user_id: Uuid) -> Result<(), AppError> {
        let account = match accounts::get(&core.redis, user_id).await {
            Ok(Some(account)) => account,
            Ok(None) => return Err(fail(FlowError::Expired, None).await),
            Err(e) => return Err(fail(e.into(), None).await),
        };
        let mut session = auth_session().await?;
        // axum-login cycles the id only for anonymous sessions; always do it.
        if let Err(e) = session.session.cycle_id().await {
            tracing::warn!(error = %e, "could not cycle the session id");
        }
        let user = User::from_account(core, account);
        session.login(&user).await.map_err(|e| {
            tracing::error!(error = %e, "login could not be stored in the session");
            AppError::ServiceUnavailable
        })
    }

    pub fn current_core() -> Result<Core, AppError> {
        core()
    }
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
    use crate::ssr::{fail, request_context, set_status};
    use keyhold::flows::{registration, username as username_flow};

    let core = server::current_core()?;
    let values = vec![
        ("name".to_owned(), name.clone()),
        ("username".to_owned(), username.clone()),
        ("email".to_owned(), email.clone()),
        ("phone".to_owned(), phone.clone().unwrap_or_default()),
        ("delivery_method".to_owned(), delivery_method.clone().unwrap_or_default()),
        ("role".to_owned(), role.clone().unwrap_or_default()),
    ];
    let with_values = |err: AppError| match err {
        AppError::InvalidInput { fields, .. } => AppError::InvalidInput { fields, values: values.clone() },
        other => other,
    };

    if intent.as_deref() == Some("check") {
        let ip = request_context().client_ip;
        return match username_flow::is_available(&core, &username, ip).await {
            Ok(available) => {
                let answer = AppError::UsernameStatus { available, values: values.clone() };
                set_status(&answer);
                Err(answer)
            }
            Err(e) => Err(with_values(fail(e, None).await)),
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
    match registration::start(&core, input, request_context().client_ip).await {
        Ok(sent) => {
            leptos_axum::redirect(&verify_path(sent.email.as_str(), ""));
            Ok(())
        }
        Err(e) => Err(with_values(fail(e, None).await)),
    }
}

#[server(prefix = "/fn", endpoint = "username-status")]
pub async fn check_username(username: String) -> Result<bool, AppError> {
    use crate::ssr::{fail, request_context};
    let core = server::current_core()?;
    match keyhold::flows::username::is_available(&core, &username, request_context().client_ip).await {
        Ok(available) => Ok(available),
        Err(e) => Err(fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "verify")]
pub async fn verify_code(email: String, code: String) -> Result<(), AppError> {
    use keyhold::flows::registration::{Proof, complete};
    let core = server::current_core()?;
    match complete(&core, &email, Proof::Code(&code)).await {
        Ok(user_id) => {
            server::log_in(&core, user_id).await?;
            leptos_axum::redirect("/profile");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "confirm-link")]
pub async fn confirm_link(email: String, token: String) -> Result<(), AppError> {
    use keyhold::flows::registration::{Proof, complete};
    let core = server::current_core()?;
    match complete(&core, &email, Proof::Token(&token)).await {
        Ok(user_id) => {
            server::log_in(&core, user_id).await?;
            leptos_axum::redirect("/profile");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "resend")]
pub async fn resend_code(email: String) -> Result<(), AppError> {
    let core = server::current_core()?;
    match keyhold::flows::registration::resend(&core, &email, crate::ssr::request_context().client_ip).await {
        Ok(sent) => {
            leptos_axum::redirect(&verify_path(sent.email.as_str(), "&sent=1"));
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "verification-status")]
pub async fn verification_status(email: String) -> Result<VerifyStatus, AppError> {
    let core = server::current_core()?;
    let purpose = keyhold::domain::Purpose::FinishRegistration;
    match keyhold::flows::codes::status(&core, purpose, &email).await {
        Ok(s) => Ok(s.into()),
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(identifier: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::ssr::request_context;
    let core = server::current_core()?;
    let ip = request_context().client_ip;
    match keyhold::flows::login::authenticate(&core, &identifier, &password, ip).await {
        Ok(account) => {
            server::log_in(&core, account.id).await?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        Err(e) => {
            let err = crate::ssr::fail(e, None).await;
            Err(match err {
                AppError::InvalidInput { fields, .. } => {
                    AppError::InvalidInput { fields, values: vec![("identifier".to_owned(), identifier)] }
                }
                other => other,
            })
        }
    }
}

#[server(prefix = "/fn", endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    let session = server::auth_session().await?;
    Ok(session.user.map(|u| UserView { username: u.username, name: u.name, email: u.email, role: u.role.to_string() }))
}

/// The profile as shown and edited on `/profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    pub name: String,
    pub username: String,
    pub email: String,
    pub role: String,
    pub phone: String,
    pub address: String,
    pub agency: String,
    /// Only the tail, e.g. `•••45-6`; empty when none is stored.
    pub account_number_masked: String,
    pub profile_picture_url: Option<String>,
    pub language: String,
    pub newsletter: bool,
}

#[cfg(feature = "ssr")]
impl From<keyhold::store::profile_cache::CachedUser> for ProfileView {
    fn from(u: keyhold::store::profile_cache::CachedUser) -> Self {
        let pref = |key: &str| u.preferences.as_ref().and_then(|p| p.get(key)).cloned();
        Self {
            name: u.name,
            username: u.username,
            email: u.email,
            role: u.role,
            phone: u.phone.unwrap_or_default(),
            address: u.address.unwrap_or_default(),
            agency: u.banking_details.as_ref().map(|b| b.agency.clone()).unwrap_or_default(),
            account_number_masked: u.banking_details.map(|b| b.account_number).unwrap_or_default(),
            profile_picture_url: u.profile_picture_url,
            language: pref("language").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| "en".to_owned()),
            newsletter: pref("newsletter").and_then(|v| v.as_bool()).unwrap_or(false),
        }
    }
}

#[cfg(feature = "ssr")]
async fn signed_in_user() -> Result<crate::auth::User, AppError> {
    match server::auth_session().await?.user {
        Some(user) => Ok(user),
        None => {
            let err = AppError::NotLoggedIn;
            crate::ssr::set_status(&err);
            Err(err)
        }
    }
}

#[server(prefix = "/fn", endpoint = "profile")]
pub async fn profile() -> Result<ProfileView, AppError> {
    let user = signed_in_user().await?;
    let core = server::current_core()?;
    match keyhold::flows::profile::view(&core, user.id).await {
        Ok(view) => Ok(view.into()),
        Err(e) => Err(crate::ssr::fail(e, Some(user.id.to_string())).await),
    }
}

#[server(prefix = "/fn", endpoint = "update-profile")]
pub async fn update_profile(
    name: String,
    phone: Option<String>,
    address: Option<String>,
    agency: Option<String>,
    account_number: Option<String>,
    language: Option<String>,
    newsletter: Option<String>,
) -> Result<(), AppError> {
    use keyhold::flows::profile::{ProfileInput, update};
    let user = signed_in_user().await?;
    let core = server::current_core()?;
    let values = vec![
        ("name".to_owned(), name.clone()),
        ("phone".to_owned(), phone.clone().unwrap_or_default()),
        ("address".to_owned(), address.clone().unwrap_or_default()),
        ("agency".to_owned(), agency.clone().unwrap_or_default()),
        ("language".to_owned(), language.clone().unwrap_or_default()),
        ("newsletter".to_owned(), newsletter.clone().unwrap_or_default()),
    ];
    let input = ProfileInput {
        name,
        phone: phone.unwrap_or_default(),
        address: address.unwrap_or_default(),
        agency: agency.unwrap_or_default(),
        account_number: account_number.unwrap_or_default(),
        language: language.unwrap_or_default(),
        newsletter: newsletter.is_some_and(|v| v == "on" || v == "true"),
    };
    match update(&core, user.id, input).await {
        Ok(_) => {
            leptos_axum::redirect("/profile?saved=1");
            Ok(())
        }
        Err(e) => Err(match crate::ssr::fail(e, Some(user.id.to_string())).await {
            AppError::InvalidInput { fields, .. } => AppError::InvalidInput { fields, values },
            other => other,
        }),
    }
}

#[server(prefix = "/fn", endpoint = "forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    let core = server::current_core()?;
    match keyhold::flows::password::forgot(&core, &email, crate::ssr::request_context().client_ip).await {
        Ok(_) => {
            let email = keyhold::domain::Email::parse(&email).map(|e| e.to_string()).unwrap_or(email);
            leptos_axum::redirect(&reset_path(&email, "&sent=1"));
            Ok(())
        }
        Err(e) => Err(match crate::ssr::fail(e, None).await {
            AppError::InvalidInput { fields, .. } => {
                AppError::InvalidInput { fields, values: vec![("email".to_owned(), email)] }
            }
            other => other,
        }),
    }
}

/// `/reset-password?email=…` with the address encoded.
pub fn reset_path(email: &str, extra: &str) -> String {
    verify_path(email, extra).replacen("/verify", "/reset-password", 1)
}

#[server(prefix = "/fn", endpoint = "reset-password")]
pub async fn reset_password(
    email: String,
    code: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let core = server::current_core()?;
    match keyhold::flows::password::reset(&core, &email, &code, &new_password, &confirm_password).await {
        Ok(account) => {
            server::log_in(&core, account.id).await?;
            leptos_axum::redirect("/profile?reset=1");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}

#[server(prefix = "/fn", endpoint = "send-change-code")]
pub async fn send_change_code(current_password: String) -> Result<(), AppError> {
    let user = signed_in_user().await?;
    let core = server::current_core()?;
    let ip = crate::ssr::request_context().client_ip;
    match keyhold::flows::password::send_change_code(&core, user.id, &current_password, ip).await {
        Ok(_) => {
            leptos_axum::redirect("/change-password?sent=1");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, Some(user.id.to_string())).await),
    }
}

#[server(prefix = "/fn", endpoint = "change-password")]
pub async fn change_password(code: String, new_password: String, confirm_password: String) -> Result<(), AppError> {
    let user = signed_in_user().await?;
    let core = server::current_core()?;
    match keyhold::flows::password::change(&core, user.id, &code, &new_password, &confirm_password).await {
        Ok(account) => {
            // Every session ended with the new password; this one carries on.
            server::log_in(&core, account.id).await?;
            leptos_axum::redirect("/profile?changed=1");
            Ok(())
        }
        Err(e) => Err(crate::ssr::fail(e, Some(user.id.to_string())).await),
    }
}

#[server(prefix = "/fn", endpoint = "reset-status")]
pub async fn reset_status(email: String) -> Result<VerifyStatus, AppError> {
    let core = server::current_core()?;
    let purpose = keyhold::domain::Purpose::ForgotPassword;
    match keyhold::flows::codes::status(&core, purpose, &email).await {
        Ok(s) => Ok(s.into()),
        Err(e) => Err(crate::ssr::fail(e, None).await),
    }
}
