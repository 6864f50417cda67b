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

    // Attempts count per account and client (a stranger who fails locks
    // out only themselves), per account from everyone (a higher bar, so a
    // crowd cannot guess on), per name for names that are no account, and
    // per client, in separate namespaces. They are counted before the
    // password is checked, so parallel guesses cannot slip through, and not
    // at all once refused, so every lockout ends with its window.
    let name = LoginName::parse(identifier);
    let id = match &name {
        Some(name) => accounts::find_id(&core.redis, name).await?,
        None => None,
    };
    let limits = &core.settings.limits;
    let window = limits.login_fail_window;
    let ip_key = keys::login_fail_ip(ip);
    // `own`: this client's count for the name, cleared by a success;
    // `shared`: counts a success only takes its one attempt back from.
    let (own, shared) = match id {
        Some(id) => (keys::login_fail_account_client(id, ip), vec![ip_key, keys::login_fail_account(id)]),
        None => {
            let typed = name.as_ref().map_or_else(|| identifier.trim().to_lowercase(), |n| n.as_str().to_owned());
            (keys::login_fail_unknown(&typed), vec![ip_key])
        }
    };
    let mut counted = vec![(own.as_str(), limits.login_fail_per_account, window)];
    counted.push((shared[0].as_str(), limits.login_fail_per_ip, window));
    if let Some(account) = shared.get(1) {
        counted.push((account.as_str(), limits.login_fail_per_account_all, window));
    }
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
            // People behind one address, and an account's owner among
            // strangers, are not held back by their own successful logins.
            let shared: Vec<&str> = shared.iter().map(String::as_str).collect();
            rate_limit::forgive(&core.redis, &[&own], &shared).await?;
            super::admin::promote_if_listed(core, account).await
        }
        _ => Err(FlowError::InvalidCredentials),
    }
}
