//! Password login with throttles per account and per client IP.

use super::{Core, FieldErrors, FlowError};
use crate::domain::Password;
use crate::keys;
use crate::passwords;
use crate::store::accounts::{self, Account, LoginName};
use crate::store::rate_limit;
use std::net::IpAddr;

/// Checks a login. Every failure — unknown name, wrong password, malformed
/// input — is the same `InvalidCredentials` after the same amount of work.
pub async fn authenticate(core: &Core, identifier: &str, password: &str, ip: IpAddr) -> Result<Account, FlowError> {
    let mut errors = FieldErrors::default();
    if identifier.trim().is_empty() {
        errors.add("identifier", "Enter your email or username.");
    }
    let password = errors.check("password", Password::parse_attempt(password));
    errors.into_result()?;
    let Some(password) = password else { return Err(FlowError::InvalidCredentials) };

    let name = LoginName::parse(identifier);
    let account_id = match &name {
        Some(name) => accounts::find_id(&core.redis, name).await?,
        None => None,
    };
    // Unknown names are throttled under the name typed, known ones under the
    // account, so both behave the same from outside.
    let account_key = match (&account_id, &name) {
        (Some(id), _) => keys::login_fail(id),
        (None, Some(name)) => keys::login_fail(name.as_str()),
        (None, None) => keys::login_fail(identifier.trim().to_lowercase()),
    };
    let ip_key = keys::login_fail(ip);
    let limits = &core.settings.limits;
    if let Some(retry_after) = rate_limit::over_limit(
        &core.redis,
        &[(&account_key, limits.login_fail_per_account), (&ip_key, limits.login_fail_per_ip)],
    )
    .await?
    {
        return Err(FlowError::Throttled { retry_after });
    }

    let account = match account_id {
        Some(id) => accounts::get(&core.redis, id).await?,
        None => None,
    };
    let verified = passwords::verify(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    match account {
        Some(account) if verified => {
            rate_limit::clear(&core.redis, &[&account_key]).await?;
            Ok(account)
        }
        _ => {
            rate_limit::record(&core.redis, &[&account_key, &ip_key], limits.login_fail_window).await?;
            Err(FlowError::InvalidCredentials)
        }
    }
}
