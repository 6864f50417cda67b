//! Reading and editing one's own profile.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
    pub picture_max_bytes: u64,
    pub language: String,
    pub newsletter: bool,
    /// False while an SMS registration's address awaits its confirmation.
    pub email_verified: bool,
}

#[cfg(feature = "ssr")]
impl From<keyhold::store::profile_cache::CachedUser> for ProfileView {
    fn from(u: keyhold::store::profile_cache::CachedUser) -> Self {
        let preferences = u.preferences();
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
            // The setting, filled in by the server function.
            picture_max_bytes: 0,
            language: preferences.language().to_string(),
            newsletter: preferences.newsletter(),
            email_verified: u.email_verified,
        }
    }
}

#[server(prefix = "/fn", endpoint = "profile")]
pub async fn profile() -> Result<ProfileView, AppError> {
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    match keyhold::flows::profile::view_from_read(&core, user.id, user.cached_profile).await {
        Ok(view) => Ok(ProfileView { picture_max_bytes: core.settings.uploads.picture_max_bytes, ..view.into() }),
        Err(e) => Err(crate::ssr::fail(e).await),
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
    use super::ssr::{Echo, finish};
    use keyhold::flows::profile::{ProfileInput, update};
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    // The account number is a secret: it is never echoed.
    let echo = Echo::default()
        .with("name", &name)
        .with_optional("phone", &phone)
        .with_optional("address", &address)
        .with_optional("agency", &agency)
        .with_optional("language", &language)
        .with_optional("newsletter", &newsletter);
    let input = ProfileInput {
        name,
        phone: phone.unwrap_or_default(),
        address: address.unwrap_or_default(),
        agency: agency.unwrap_or_default(),
        account_number: account_number.unwrap_or_default(),
        language: language.unwrap_or_default(),
        newsletter: newsletter.is_some_and(|v| v == "on" || v == "true"),
    };
    finish(update(&core, user.id, input).await, |_| "/profile?saved=1".to_owned(), echo).await
}

/// Mails the address-confirmation link again.
#[server(prefix = "/fn", endpoint = "resend-confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    use super::ssr::{Echo, finish};
    let user = super::ssr::signed_in_user().await?;
    let core = crate::ssr::core()?;
    let ip = crate::ssr::request_context().client_ip;
    let result = keyhold::flows::registration::resend_confirmation(&core, user.id, ip).await;
    finish(result, |_| "/profile?confirmation=1".to_owned(), Echo::default()).await
}
