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
pub async fn check_password(core: &Core, identifier: &str, password: &str, ip: IpAddr) -> Result<Account, FlowError> {
    let mut errors = FieldErrors::default();
    if identifier.trim().is_empty() {
        errors.add("identifier", "Enter your email or username.");
    }
    let password = errors.check("password", Password::parse_attempt(password));
    errors.into_result()?;
    let Some(password) = password else { return Err(FlowError::InvalidCredentials) };

    // Attempts are counted under the name as typed (normalised) whether or
    // not it exists, so the throttle tells nothing about which names are
    // accounts, and per client IP. They are counted before the password is
    // checked, so parallel guesses cannot slip through on a stale count.
    let name = LoginName::parse(identifier);
    let typed = match &name {
        Some(name) => name.as_str().to_owned(),
        None => identifier.trim().to_lowercase(),
    };
    let name_key = keys::login_fail(&typed);
    let ip_key = keys::login_fail(ip);
    let limits = &core.settings.limits;
    let counted = [(name_key.as_str(), limits.login_fail_per_account), (ip_key.as_str(), limits.login_fail_per_ip)];
    if let Some(retry_after) = rate_limit::count_all(&core.redis, &counted, limits.login_fail_window).await? {
        return Err(FlowError::Throttled { retry_after });
    }

    let account = match &name {
        Some(name) => match accounts::find_id(&core.redis, name).await? {
            Some(id) => accounts::get(&core.redis, id).await?,
            None => None,
        },
        None => None,
    };
    let verified = passwords::verify(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    match account {
        Some(account) if verified => {
            rate_limit::forgive(&core.redis, &[&name_key], &[&ip_key]).await?;
            Ok(account)
        }
        _ => Err(FlowError::InvalidCredentials),
    }
}
