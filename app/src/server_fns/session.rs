//! Signing in, and who is signed in.

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
    pub picture_url: Option<String>,
}

#[cfg(feature = "ssr")]
impl From<&crate::auth::User> for UserView {
    fn from(u: &crate::auth::User) -> Self {
        Self {
            username: u.username.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.to_string(),
            picture_url: u.picture_url.clone(),
        }
    }
}

#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(identifier: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ssr::{Echo, log_in, safe_next};
    let core = crate::ssr::core()?;
    let ip = crate::ssr::request_context().client_ip;
    match keyhold::flows::login::check_password(&core, &identifier, &password, ip).await {
        Ok(account) => {
            log_in(&core, account.id).await?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        Err(e) => {
            let err = crate::ssr::fail(e).await;
            Echo::default().with("identifier", &identifier).keep_for(&err).await;
            Err(err)
        }
    }
}

#[server(prefix = "/fn", endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    Ok(super::ssr::auth_session().await?.user.as_ref().map(UserView::from))
}
