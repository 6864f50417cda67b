//! Admins (README: "Admins"). The role is never chosen at registration:
//! an address listed in `ADMIN_EMAILS` becomes admin when it logs in (once
//! proven), and `keyhold-server admin grant|revoke EMAIL` changes it by hand.
//! Every change is logged.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{Email, Role};
use crate::store::accounts::{self, Account, LoginName};
use uuid::Uuid;

/// After a successful login: an address listed in `ADMIN_EMAILS` is made
/// admin. Only a proven address counts (an SMS registration's is not, until
/// its owner confirms it).
pub async fn promote_if_listed(core: &Core, mut account: Account) -> Result<Account, FlowError> {
    let listed = core.settings.admin_emails.contains(&account.email);
    if listed
        && account.email_verified
        && account.role != Role::Admin
        && accounts::set_role(&core.redis, account.id, Role::Admin).await?
    {
        tracing::info!(target: "audit", user_id = %account.id, "admin role granted from ADMIN_EMAILS");
        account.role = Role::Admin;
    }
    Ok(account)
}

/// What `admin grant|revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Now { user_id: Uuid, role: Role },
    Already { user_id: Uuid, role: Role },
}

/// Sets the role of the account with this (proven) address.
pub async fn set_role_by_email(core: &Core, email: &str, admin: bool) -> Result<Changed, FlowError> {
    let email = Email::parse(email).map_err(|e| FlowError::Invalid(FieldErrors::single("email", e)))?;
    let Some(id) = accounts::find_id(&core.redis, &LoginName::Email(email)).await? else {
        return Err(FlowError::NotFound);
    };
    let Some(account) = accounts::get(&core.redis, id).await? else { return Err(FlowError::NotFound) };
    let role = if admin {
        Role::Admin
    } else if account.role == Role::Admin {
        // Back to what people may choose for themselves.
        Role::Consumer
    } else {
        account.role
    };
    if account.role == role {
        return Ok(Changed::Already { user_id: id, role });
    }
    if !accounts::set_role(&core.redis, id, role).await? {
        return Err(FlowError::NotFound);
    }
    tracing::info!(target: "audit", user_id = %id, role = role.as_str(), "role changed from the command line");
    Ok(Changed::Now { user_id: id, role })
}

/// The caller, if an admin; `Forbidden` for anyone else signed in.
pub fn require(role: Role) -> Result<(), FlowError> {
    if role == Role::Admin { Ok(()) } else { Err(FlowError::Forbidden) }
}

/// The role of an account (for bearer-token callers).
pub async fn role_of(core: &Core, user: Uuid) -> Result<Role, FlowError> {
    match accounts::get(&core.redis, user).await? {
        Some(account) => Ok(account.role),
        None => Err(FlowError::AccountGone),
    }
}
