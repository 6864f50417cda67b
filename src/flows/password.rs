//! Forgotten and changed passwords: a code with purpose `forgot_password`
//! or `change_password`, then a new password that ends every other session.

pub use super::codes::Proof;
use super::codes::{self, ATTEMPT_RETRIES, Checked, Judgement};
use super::{Core, FieldErrors, FlowError, login};
use crate::domain::{DeliveryMethod, Email, ParseError, Password, Purpose};
use crate::error_sink::Entry;
use crate::notify::{Message, templates};
use crate::passwords;
use crate::store::accounts::{self, Account, LoginName};
use crate::store::error_log::{ErrorKind, NewError};
use crate::store::pending::{self, Issue, IssueOutcome, PasswordReset, ResetOutcome};
use std::net::IpAddr;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Minutes the code stays valid (shown to the person).
pub struct CodeIssued {
    pub expires_in_minutes: u64,
}

/// Sends a reset code if the address has an account. The answer, the keys
/// written and the limits are the same either way, so the form tells a
/// stranger nothing about who is registered.
pub async fn forgot(core: &Core, email: &str, ip: IpAddr) -> Result<CodeIssued, FlowError> {
    let email = codes::parse_email(email)?;
    codes::throttle_requests(core, ip).await?;
    let purpose = Purpose::ForgotPassword;
    let account = accounts::find_id(&core.redis, &LoginName::Email(email.clone())).await?;
    // The emailed link proves the mailbox without typing the code, so no
    // stranger's wrong guesses can keep the owner from resetting; and a
    // request while a code is live sends that code and link again rather
    // than replacing them, so nobody can kill the mail the owner holds.
    let fresh_token = passwords::random_token(32);
    let mut request = codes::request(core, purpose, &email, DeliveryMethod::Email, Issue::Again);
    request.link_token = Some(&fresh_token);
    let (code, link_token) = match pending::issue_code(&core.redis, request).await? {
        IssueOutcome::Again { code, link_token } => (code, link_token.unwrap_or_default()),
        outcome => (codes::issued(outcome)?.code, fresh_token),
    };
    let message = account.map(|_| {
        let mut url = core.settings.app_url.clone();
        url.set_path("/reset-password");
        url.query_pairs_mut().clear().append_pair("email", email.as_str()).append_pair("token", &link_token);
        Message::Email(templates::password_reset_code(&email, &code, url.as_str(), core.settings.ttl.verification))
    });
    // Sent in the background: waiting for the mail server only when the
    // address has an account would tell a stranger that it has one.
    if message.is_some() {
        let core = core.clone();
        let tasks = core.tasks.clone();
        tasks.spawn(async move {
            if let Err(err) = codes::deliver(&core, purpose, &email, &code, message).await {
                tracing::error!(error = %err, "a password reset code could not be sent");
                let record =
                    NewError::new(ErrorKind::Email, "a password reset code could not be sent").with_chain(&err);
                core.error_sink.send(Entry::Keep(record), Some(ip));
            }
        });
    }
    Ok(CodeIssued { expires_in_minutes: core.settings.ttl.verification.div_ceil(60) })
}

/// A new password, and the proof that allows it.
pub struct NewPassword<'a> {
    pub proof: Proof<'a>,
    pub new_password: &'a str,
    pub confirm: &'a str,
    /// Whose wrong guesses these are.
    pub client: IpAddr,
}

/// Sets a new password with a `forgot_password` code or link; returns the account.
pub async fn reset(core: &Core, email: &str, new: NewPassword<'_>) -> Result<Account, FlowError> {
    let mut errors = FieldErrors::default();
    let email = errors.check("email", Email::parse(email));
    let proof = new.proof.check(&mut errors);
    let password = new_password_checked(&mut errors, new.new_password, new.confirm);
    let (Some(email), Some(proof), Some(password)) = (email, proof, password) else {
        return Err(FlowError::Invalid(errors));
    };
    let id = accounts::find_id(&core.redis, &LoginName::Email(email.clone())).await?;
    set_with_proof(core, Purpose::ForgotPassword, &email, id, &proof, password, new.client).await
}

/// Step one of a change: checks the current password (counted like a
/// login) and sends a `change_password` code to the account's address.
pub async fn send_change_code(core: &Core, id: Uuid, current: &str, ip: IpAddr) -> Result<CodeIssued, FlowError> {
    let account = accounts::get(&core.redis, id).await?.ok_or(FlowError::AccountGone)?;
    if !account.email_verified {
        // The code would go to an address nobody proved.
        return Err(FlowError::Invalid(FieldErrors::single(
            "current_password",
            "Confirm your email address first: we sent you a link when you registered.",
        )));
    }
    match login::check_password(core, account.email.as_str(), current, ip).await {
        Ok(_) => {}
        Err(FlowError::InvalidCredentials) => {
            return Err(FlowError::Invalid(FieldErrors::single(
                "current_password",
                "This is not your current password.",
            )));
        }
        Err(FlowError::Invalid(_)) => {
            return Err(FlowError::Invalid(FieldErrors::single("current_password", ParseError::Required)));
        }
        Err(e) => return Err(e),
    }
    let purpose = Purpose::ChangePassword;
    let request = codes::request(core, purpose, &account.email, DeliveryMethod::Email, Issue::Start);
    let code = codes::issued(pending::issue_code(&core.redis, request).await?)?.code;
    let message = templates::password_change_code(&account.email, &code, core.settings.ttl.verification);
    codes::deliver(core, purpose, &account.email, &code, Some(Message::Email(message))).await?;
    Ok(CodeIssued { expires_in_minutes: core.settings.ttl.verification.div_ceil(60) })
}

/// Step two: the code and the new password. Every session ends; the caller
/// logs the current one in again with the returned account.
pub async fn change(core: &Core, id: Uuid, new: NewPassword<'_>) -> Result<Account, FlowError> {
    let mut errors = FieldErrors::default();
    let proof = new.proof.check(&mut errors);
    let password = new_password_checked(&mut errors, new.new_password, new.confirm);
    let (Some(proof), Some(password)) = (proof, password) else {
        return Err(FlowError::Invalid(errors));
    };
    let account = accounts::get(&core.redis, id).await?.ok_or(FlowError::AccountGone)?;
    set_with_proof(core, Purpose::ChangePassword, &account.email, Some(id), &proof, password, new.client).await
}

fn new_password_checked(errors: &mut FieldErrors, new_password: &str, confirm: &str) -> Option<Password> {
    let password = errors.check("new_password", Password::parse_new(new_password));
    if password.is_some() && new_password != confirm {
        errors.add("confirm_password", ParseError::PasswordMismatch);
        return None;
    }
    password
}

/// Judges the code (or checks the link), then spends it and stores the new
/// hash in one step.
async fn set_with_proof(
    core: &Core,
    purpose: Purpose,
    email: &Email,
    id: Option<Uuid>,
    proof: &Checked<'_>,
    password: Password,
    client: IpAddr,
) -> Result<Account, FlowError> {
    let mut hash = None;
    for _ in 0..ATTEMPT_RETRIES {
        let Some(guard) = pending::guard(&core.redis, purpose, email).await? else {
            return Err(proof.expired());
        };
        match proof {
            Checked::Code(code) => {
                let matches = code.expose().as_bytes().ct_eq(guard.code.as_bytes()).into();
                if let Judgement::Stale = codes::judge(core, purpose, email, &guard, matches, client).await? {
                    continue;
                }
            }
            // The link is no guess: it proves the mailbox, whatever was guessed.
            Checked::Token(token) => match pending::link_token(&core.redis, purpose, email).await? {
                Some((code, live)) if code == guard.code && bool::from(live.as_bytes().ct_eq(token.as_bytes())) => {}
                Some((code, _)) if code != guard.code => continue,
                _ => return Err(FlowError::LinkExpired),
            },
        }
        // Only a right code costs a hash.
        let Some(id) = id else { return Err(FlowError::CodeExpired) };
        let hash = match &hash {
            Some(h) => h,
            None => hash.insert(passwords::hash(password.clone()).await?),
        };
        let reset = PasswordReset {
            purpose,
            email,
            code: &guard.code,
            user_id: id,
            password_hash: hash,
            max_attempts: core.settings.limits.code_attempts,
            by_link: matches!(proof, Checked::Token(_)),
        };
        match pending::reset_password(&core.redis, reset).await? {
            ResetOutcome::Done => return accounts::get(&core.redis, id).await?.ok_or(FlowError::AccountGone),
            ResetOutcome::Exhausted => return Err(FlowError::CodeExhausted),
            ResetOutcome::Expired => return Err(FlowError::CodeExpired),
            ResetOutcome::Stale => continue,
        }
    }
    Err(FlowError::CodeExpired)
}
