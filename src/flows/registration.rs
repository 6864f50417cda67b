//! Registration with a verification code (README: "Redis schema"): start, resend,
//! verify by code or magic link.

pub use super::codes::Proof;
use super::codes::{self, ATTEMPT_RETRIES, Checked, Judgement};
use super::{Core, FieldErrors, FlowError};
use crate::domain::{
    Address, DeliveryMethod, Email, Password, PersonName, Phone, Preferences, Purpose, Role, Username,
};
use crate::error_sink::Entry;
use crate::keys;
use crate::notify::{Message, templates};
use crate::passwords;
use crate::store::accounts;
use crate::store::error_log::{ErrorKind, NewError};
use crate::store::pending::{self, Candidate, CompleteOutcome, Confirmation, Issue, NewAccount, Registration};
use crate::store::rate_limit::{self, Decision};
use std::net::IpAddr;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// What the form or the API sent, unparsed. `Debug` leaves out the password.
#[derive(Clone, Default)]
pub struct RegistrationInput {
    pub name: String,
    /// Optional for API clients: derived from the email when absent.
    pub username: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    pub password: String,
    pub delivery_method: String,
    pub role: Option<String>,
    /// JSON object, stored as text.
    pub preferences: Option<serde_json::Value>,
    pub address: Option<String>,
}

impl std::fmt::Debug for RegistrationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationInput")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("delivery_method", &self.delivery_method)
            .finish_non_exhaustive()
    }
}

const PURPOSE: Purpose = Purpose::FinishRegistration;

/// Where the code went. Identical for new and already-registered addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSent {
    pub email: Email,
    pub method: DeliveryMethod,
    pub expires_in_minutes: u64,
    /// The secret of this attempt: the browser session that started it keeps
    /// it, and only with it can the code be entered or resent on the pages.
    pub attempt: String,
}

struct Parsed {
    name: PersonName,
    username: Option<Username>,
    email: Email,
    phone: Option<Phone>,
    method: DeliveryMethod,
    role: Role,
    preferences: Option<Preferences>,
    address: Option<Address>,
}

fn parse(input: &RegistrationInput, password_raw: &str) -> Result<(Parsed, Password), FlowError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&input.name));
    let username = match input.username.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => errors.check("username", Username::parse(u)).map(Some),
        None => Some(None),
    };
    let email = errors.check("email", Email::parse(&input.email));
    let phone = errors.check("phone", Phone::parse_optional(input.phone.as_deref().unwrap_or_default()));
    let password = errors.check("password", Password::parse_new(password_raw));
    let method = errors.check("delivery_method", DeliveryMethod::parse(&input.delivery_method));
    let role = match input.role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => errors.check("role", Role::parse_self_service(r)),
        None => Some(Role::Consumer),
    };
    if method == Some(DeliveryMethod::Sms) && phone == Some(None) {
        errors.add("phone", "Enter a phone number to receive the code by SMS.");
    }
    let preferences = match &input.preferences {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(value) => errors.check("preferences", Preferences::parse(value)).map(Some),
    };
    let address = errors.check("address", Address::parse_optional(input.address.as_deref().unwrap_or_default()));
    match (name, username, email, phone, password, method, role, preferences, address) {
        (
            Some(name),
            Some(username),
            Some(email),
            Some(phone),
            Some(password),
            Some(method),
            Some(role),
            Some(preferences),
            Some(address),
        ) if errors.is_empty() => {
            Ok((Parsed { name, username, email, phone, method, role, preferences, address }, password))
        }
        _ => Err(FlowError::Invalid(errors)),
    }
}

/// Checks the form, stores the pending registration and sends the code.
/// By email, an address that already has an account gets the same answer;
/// its owner gets a warning email instead of a code. By SMS the code always
/// goes to the phone: an SMS registration proves only the phone, and its
/// address stays unverified until confirmed, so whether the address is
/// taken changes nothing a registrant can see.
pub async fn start(core: &Core, input: RegistrationInput, ip: IpAddr) -> Result<CodeSent, FlowError> {
    let (parsed, password) = parse(&input, &input.password)?;
    if parsed.method == DeliveryMethod::Sms
        && let Some(phone) = &parsed.phone
        && !core.settings.limits.sms.allows(phone)
    {
        return Err(FlowError::Invalid(FieldErrors::single("phone", "We cannot send text messages to this country.")));
    }
    codes::throttle_requests(core, ip).await?;
    if let (DeliveryMethod::Sms, Some(phone)) = (parsed.method, &parsed.phone) {
        sms_budget(core, phone).await?;
    }
    // Hash before any lookup so that every path costs the same.
    let password_hash = passwords::hash(password).await?;

    let probe = parsed.username.clone().unwrap_or_else(|| Username::suggest_from(parsed.email.local_part()));
    let (email_taken, username_free) = accounts::registration_check(&core.redis, &parsed.email, &probe).await?;
    let username = match (&parsed.username, username_free) {
        (Some(_), false) => {
            return Err(FlowError::Invalid(FieldErrors::single("username", "This username is taken.")));
        }
        (_, true) => probe,
        (None, false) => free_username_like(core, &probe).await?,
    };

    let registration = Registration {
        name: parsed.name,
        email: parsed.email.clone(),
        phone: parsed.phone.clone(),
        password_hash: password_hash.clone(),
        preferences: parsed.preferences,
        address: parsed.address,
        attempt: passwords::random_token(32),
    };
    let candidate = Candidate {
        username,
        role: parsed.role,
        validation_token: passwords::random_token(25),
        password_hash,
        email: parsed.email.clone(),
    };
    let issue = Issue::Register(&registration, &candidate);
    let request = codes::request(core, PURPOSE, &parsed.email, parsed.method, issue);
    let issued = codes::issued(pending::issue_code(&core.redis, request).await?)?;
    let delivery = Delivery {
        email: &parsed.email,
        method: parsed.method,
        phone: parsed.phone.as_ref(),
        token: &candidate.validation_token,
        email_taken: email_taken && parsed.method == DeliveryMethod::Email,
        replaced: issued.replaced,
        resend: false,
        code: &issued.code,
    };
    send(core, delivery, registration.attempt).await
}

/// Sends a fresh code for a registration in progress; the old one dies.
/// `attempt`: the one the caller's session started (`None` from the API).
pub async fn resend(core: &Core, email: &str, ip: IpAddr, attempt: Option<&str>) -> Result<CodeSent, FlowError> {
    let email = codes::parse_email(email)?;
    codes::throttle_requests(core, ip).await?;
    let (guard, candidate) = pending::registration_state(&core.redis, &email).await?;
    let (Some(guard), Some(candidate)) = (guard, candidate) else {
        return Err(FlowError::CodeExpired);
    };
    let method = guard.method.unwrap_or(DeliveryMethod::Email);
    let email_taken = method == DeliveryMethod::Email
        && accounts::find_id(&core.redis, &accounts::LoginName::Email(email.clone())).await?.is_some();
    let mut request = codes::request(core, PURPOSE, &email, method, Issue::Resend);
    request.attempt = bound(attempt);
    let issued = codes::issued(pending::issue_code(&core.redis, request).await?)?;
    let delivery = Delivery {
        email: &email,
        method,
        phone: issued.phone.as_ref(),
        token: &candidate.validation_token,
        email_taken,
        replaced: false,
        resend: true,
        code: &issued.code,
    };
    send(core, delivery, attempt.unwrap_or_default().to_owned()).await
}

/// Counts one text to `phone` against the caps (per number per hour and
/// day, all numbers per hour, the allowed countries); refuses past them.
async fn sms_budget(core: &Core, phone: &Phone) -> Result<(), FlowError> {
    let limits = &core.settings.limits.sms;
    if !limits.allows(phone) {
        return Err(FlowError::SmsLimit { reason: "the number's country is not allowed", retry_after: 86_400 });
    }
    let (hour, day, all) = (
        keys::sms_limit_number(phone, "hour"),
        keys::sms_limit_number(phone, "day"),
        keys::sms_limit_all(chrono::Utc::now()),
    );
    // One script: a text refused by any cap counts against none.
    let caps = [
        (hour.as_str(), limits.per_number_hour, 3_600),
        (day.as_str(), limits.per_number_day, 86_400),
        (all.as_str(), limits.per_hour, 3_600),
    ];
    match rate_limit::attempt(&core.redis, &caps).await? {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => {
            Err(FlowError::SmsLimit { reason: "a cap on text messages was reached", retry_after })
        }
    }
}

/// The attempt a script must check: `None` (the API, the emailed link)
/// checks none; a page whose session started none must match nothing.
fn bound(attempt: Option<&str>) -> Option<&str> {
    attempt.map(|a| if a.is_empty() { "-" } else { a })
}

/// One code on its way: where it goes and what the message must carry.
struct Delivery<'a> {
    email: &'a Email,
    method: DeliveryMethod,
    phone: Option<&'a Phone>,
    /// The magic link's token.
    token: &'a str,
    /// The address already has an account: its owner gets a warning instead.
    email_taken: bool,
    /// This code replaced another attempt's live code: the mail says so.
    replaced: bool,
    /// "Send a new code" rather than a first one.
    resend: bool,
    code: &'a str,
}

/// Sends the code (or, to an address that already has an account, a warning).
async fn send(core: &Core, d: Delivery<'_>, attempt: String) -> Result<CodeSent, FlowError> {
    let s = &core.settings;
    // A start counted its text before issuing the code; a resend learns the
    // number from the script that issued it. Refused, its registration stays.
    if let (true, DeliveryMethod::Sms, Some(phone)) = (d.resend, d.method, d.phone) {
        sms_budget(core, phone).await?;
    }
    let message = if d.email_taken {
        let mut login = s.app_url.clone();
        login.set_path("/login");
        Message::Email(templates::already_registered(d.email, login.as_str()))
    } else {
        match (d.method, d.phone) {
            (DeliveryMethod::Sms, Some(phone)) => {
                Message::Sms(templates::code_sms(phone.as_str(), d.code, s.ttl.verification))
            }
            _ => {
                let link = templates::magic_link(&s.app_url, d.email, d.token);
                Message::Email(templates::registration_code(d.email, d.code, &link, s.ttl.verification, d.replaced))
            }
        }
    };
    codes::deliver(core, PURPOSE, d.email, d.code, Some(message)).await?;
    Ok(CodeSent {
        email: d.email.clone(),
        method: d.method,
        expires_in_minutes: s.ttl.verification.div_ceil(60),
        attempt,
    })
}

/// `base`, or `base` with the first free numeric suffix among a few random ones.
async fn free_username_like(core: &Core, base: &Username) -> Result<Username, FlowError> {
    use rand::Rng;
    let candidates: Vec<Username> = {
        let mut rng = rand::rng();
        (0..8).map(|_| base.with_suffix(rng.random_range(1..100_000))).collect()
    };
    let free = accounts::usernames_available(&core.redis, &candidates).await?;
    candidates
        .into_iter()
        .zip(free)
        .find_map(|(u, free)| free.then_some(u))
        .ok_or(FlowError::Invalid(FieldErrors::single("username", "Choose a username.")))
}

/// Verifies the proof and creates the account; returns its id. `attempt`:
/// the one the caller's session started; a code or link used on the pages
/// must belong to it (`None`: not bound, as the API, whose clients have no
/// session and must hold the code).
/// `client`: whose wrong guesses these are.
pub async fn complete(
    core: &Core,
    email: &str,
    proof: Proof<'_>,
    attempt: Option<&str>,
    client: IpAddr,
) -> Result<Uuid, FlowError> {
    let mut errors = FieldErrors::default();
    let email = errors.check("email", Email::parse(email));
    let proof = proof.check(&mut errors);
    let (Some(email), Some(proof)) = (email, proof) else {
        return Err(FlowError::Invalid(errors));
    };
    for _ in 0..ATTEMPT_RETRIES {
        let (guard, candidate) = pending::registration_state(&core.redis, &email).await?;
        let (Some(guard), Some(candidate)) = (guard, candidate) else {
            return Err(proof.expired());
        };
        match &proof {
            Checked::Code(code) => {
                let matches = code.expose().as_bytes().ct_eq(guard.code.as_bytes()).into();
                if let Judgement::Stale = codes::judge(core, PURPOSE, &email, &guard, matches, client).await? {
                    continue;
                }
            }
            // The link is no guess: it proves the mailbox, whatever was guessed.
            Checked::Token(token) => {
                if !bool::from(token.as_bytes().ct_eq(candidate.validation_token.as_bytes())) {
                    return Err(FlowError::LinkExpired);
                }
            }
        }
        let user_id = Uuid::now_v7();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let new_account = NewAccount {
            email: &email,
            code: &guard.code,
            username: &candidate.username,
            user_id,
            now: &now,
            max_attempts: core.settings.limits.code_attempts,
            attempt: bound(attempt),
            by_link: matches!(proof, Checked::Token(_)),
        };
        match pending::complete_registration(&core.redis, new_account).await? {
            CompleteOutcome::Created { email_proven: true } => return Ok(user_id),
            CompleteOutcome::Created { email_proven: false } => {
                ask_to_confirm(core, user_id, &email, &candidate.username, client).await;
                return Ok(user_id);
            }
            CompleteOutcome::OtherAttempt => return Err(FlowError::OtherAttempt),
            CompleteOutcome::Taken => return Err(FlowError::AccountExists),
            CompleteOutcome::Exhausted => return Err(FlowError::CodeExhausted),
            CompleteOutcome::Expired => return Err(FlowError::CodeExpired),
            CompleteOutcome::Stale => continue,
        }
    }
    Err(FlowError::CodeExpired)
}

/// Sends an account registered by SMS a link that confirms its address.
/// A failure leaves the account as it is, usable by its username, and is
/// kept in the error log.
async fn ask_to_confirm(core: &Core, user_id: Uuid, email: &Email, username: &Username, client: IpAddr) {
    let token = passwords::random_token(32);
    let ttl = core.settings.ttl.user_candidate;
    let stored = pending::store_email_confirmation(&core.redis, &token, user_id, email, ttl).await;
    let result = match stored {
        Ok(()) => {
            let mut link = core.settings.app_url.clone();
            link.set_path("/confirm-email");
            link.query_pairs_mut().clear().append_pair("token", &token);
            let message = templates::confirm_email(email, username.as_str(), link.as_str(), ttl);
            core.notifier.send(Message::Email(message)).await.map_err(FlowError::DeliveryFailed)
        }
        Err(e) => Err(e.into()),
    };
    if let Err(err) = result {
        tracing::error!(error = %err, "the address confirmation could not be sent");
        let record = NewError::new(ErrorKind::Email, "an address confirmation could not be sent").with_chain(&err);
        core.error_sink.send(Entry::Keep(record), Some(client));
    }
}

/// Sends the confirmation link again to an account whose address is not
/// confirmed yet (the first mail failed, expired or got lost). Counted
/// like any code request.
pub async fn resend_confirmation(core: &Core, user_id: Uuid, ip: IpAddr) -> Result<(), FlowError> {
    let account = accounts::get(&core.redis, user_id).await?.ok_or(FlowError::AccountGone)?;
    if account.email_verified {
        return Ok(());
    }
    codes::throttle_requests(core, ip).await?;
    ask_to_confirm(core, user_id, &account.email, &account.username, ip).await;
    Ok(())
}

/// Confirms an account's address with the emailed token; returns the account.
pub async fn confirm_email(core: &Core, token: &str) -> Result<Uuid, FlowError> {
    let plausible = (1..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric());
    if !plausible {
        return Err(FlowError::Invalid(FieldErrors::single("token", "This link is not valid.")));
    }
    match pending::confirm_email(&core.redis, token).await? {
        Confirmation::Confirmed(id) => Ok(id),
        Confirmation::Taken => Err(FlowError::AccountExists),
        Confirmation::Expired => Err(FlowError::LinkExpired),
    }
}

/// What the verify page may show: only the browser session that started
/// the live registration learns anything about it.
pub async fn status(core: &Core, email: &str, attempt: Option<&str>) -> Result<codes::PendingStatus, FlowError> {
    let owned = match (codes::parse_email(email), attempt) {
        (Ok(parsed), Some(attempt)) if !attempt.is_empty() => pending::registration_attempt(&core.redis, &parsed)
            .await?
            .is_some_and(|live| bool::from(live.as_bytes().ct_eq(attempt.as_bytes()))),
        _ => false,
    };
    if owned { codes::status(core, PURPOSE, email).await } else { Ok(codes::PendingStatus::none()) }
}
