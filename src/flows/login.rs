//! Password login with throttles per account and per client IP.

use super::{Core, FieldErrors, FlowError};
use crate::domain::Password;
use crate::keys;
use crate::passwords;
use crate::store::accounts::{self, Account, LoginName};
use crate::store::rate_limit::{self, Decision};
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

    // Attempts count per account (whichever of its names was typed), per
    // name for names that are no account, and per client IP, in separate
    // namespaces. They are counted before the password is checked, so
    // parallel guesses cannot slip through, and not at all once refused.
    let name = LoginName::parse(identifier);
    let id = match &name {
        Some(name) => accounts::find_id(&core.redis, name).await?,
        None => None,
    };
    let name_key = match (id, &name) {
        (Some(id), _) => keys::login_fail_account(id),
        (None, Some(name)) => keys::login_fail_unknown(name.as_str()),
        (None, None) => keys::login_fail_unknown(&identifier.trim().to_lowercase()),
    };
    let ip_key = keys::login_fail_ip(ip);
    let limits = &core.settings.limits;
    let window = limits.login_fail_window;
    let counted = [
        (name_key.as_str(), limits.login_fail_per_account, window),
        (ip_key.as_str(), limits.login_fail_per_ip, window),
    ];
    if let Decision::Limited { retry_after } = rate_limit::attempt(&core.redis, &counted).await? {
        return Err(FlowError::Throttled { retry_after });
    }

    let account = match id {
        Some(id) => accounts::get(&core.redis, id).await?,
        None => None,
    };
    let verified = passwords::verify(password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    match account {
        Some(account) if verified => {
            // The account's count starts over; the client's loses this one
            // attempt, so people behind one address are not locked out by
            // their own successful logins.
            rate_limit::forgive(&core.redis, &[&name_key], &[&ip_key]).await?;
            Ok(account)
        }
        _ => Err(FlowError::InvalidCredentials),
    }
}
