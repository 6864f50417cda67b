//! Everything that lives only until a code is verified (README: "Redis schema"):
//! `verification_guard:{purpose}:{email}`, `verification:{purpose}:{email}:{code}`,
//! `registration:{email}:{code}` and `user_candidate:{email}`.
//!
//! The guard holds the one live code per purpose and email with its wrong
//! guesses and sends. Every change goes through a Lua script that first checks
//! the guard still holds the code the caller read, so concurrent requests can
//! never both spend one code.

use super::{StoreError, StoreResult};
use crate::domain::{Address, DeliveryMethod, Email, PersonName, Phone, Preferences, Purpose, Role, Username};
use crate::keys;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;
use uuid::Uuid;

static ISSUE_CODE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/issue_code.lua")));
static FAIL_ATTEMPT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/fail_attempt.lua")));
static COMPLETE_REGISTRATION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/complete_registration.lua")));

/// How often a script is re-run when another request changed the guard
/// between our read and our write.
const MAX_RETRIES: usize = 5;

/// `verification_guard:{purpose}:{email}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Guard {
    pub code: String,
    pub attempts: u32,
    pub sends: u32,
    /// Unix milliseconds of the last send.
    pub sent_at: i64,
    /// Seconds until the guard (and the live code) expire.
    pub ttl: i64,
    /// How the live code was sent.
    pub method: Option<DeliveryMethod>,
    /// Wrong guesses today for this purpose and email, across codes.
    pub daily_failures: u32,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("attempts", &self.attempts)
            .field("sends", &self.sends)
            .field("sent_at", &self.sent_at)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Guard {
    fn from_hash(h: &HashMap<String, String>, ttl: i64, daily_failures: Option<u32>) -> Option<Self> {
        let num = |f: &str| h.get(f).and_then(|v| v.parse().ok());
        Some(Self {
            code: h.get("code")?.clone(),
            attempts: num("attempts").unwrap_or(0) as u32,
            sends: num("sends").unwrap_or(0) as u32,
            sent_at: num("sent_at").unwrap_or(0),
            ttl,
            method: h.get("delivery_method").and_then(|m| DeliveryMethod::parse(m).ok()),
            daily_failures: daily_failures.unwrap_or(0),
        })
    }
}

/// `user_candidate:{email}`: the pending account.
#[derive(Clone, PartialEq, Eq)]
pub struct Candidate {
    pub username: Username,
    pub role: Role,
    /// Backs the magic link (25 random alphanumerics).
    pub validation_token: String,
    pub password_hash: String,
    pub email: Email,
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl Candidate {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("username", self.username.to_string()),
            ("role", self.role.to_string()),
            ("validation_token", self.validation_token.clone()),
            ("password_hash", self.password_hash.clone()),
            ("email", self.email.to_string()),
        ]
    }

    fn from_hash(key: &str, h: &HashMap<String, String>) -> StoreResult<Option<Self>> {
        if h.is_empty() {
            return Ok(None);
        }
        let get = |f: &str| h.get(f).cloned().ok_or_else(|| StoreError::corrupt(key, format!("missing `{f}`")));
        let invalid = |e: crate::domain::ParseError| StoreError::corrupt(key, e.to_string());
        Ok(Some(Self {
            username: Username::parse(&get("username")?).map_err(invalid)?,
            role: Role::parse(&get("role")?).map_err(invalid)?,
            validation_token: get("validation_token")?,
            password_hash: get("password_hash")?,
            email: Email::parse(&get("email")?).map_err(invalid)?,
        }))
    }
}

/// `registration:{email}:{code}`: what the account will be made of.
#[derive(Clone, PartialEq)]
pub struct Registration {
    pub name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
    /// The argon2 hash, never the password.
    pub password_hash: String,
    pub preferences: Option<Preferences>,
    pub address: Option<Address>,
    /// The attempt this data belongs to: a secret the browser session that
    /// sent the form keeps, so that only it can complete or resend.
    pub attempt: String,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("email", &self.email).finish_non_exhaustive()
    }
}

impl Registration {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("name", self.name.to_string()),
            ("email", self.email.to_string()),
            ("password", self.password_hash.clone()),
            ("attempt", self.attempt.clone()),
        ];
        if let Some(phone) = &self.phone {
            fields.push(("phone", phone.to_string()));
        }
        if let Some(preferences) = &self.preferences {
            fields.push(("preferences", preferences.to_json()));
        }
        if let Some(address) = &self.address {
            fields.push(("address", address.to_string()));
        }
        fields
    }
}

/// Why a code is issued.
#[derive(Clone, Copy)]
pub enum Issue<'a> {
    /// A first code (or a new start) for a password purpose.
    Start,
    /// A registration form was sent: its data and candidate are (re)written.
    Register(&'a Registration, &'a Candidate),
    /// "Send a new code": the live code dies, a registration's data moves on.
    Resend,
    /// A password code asked for again: the live one (and its link), if
    /// any, is sent once more instead of being replaced.
    Again,
}

pub struct IssueRequest<'a> {
    pub purpose: Purpose,
    pub email: &'a Email,
    pub method: DeliveryMethod,
    pub issue: Issue<'a>,
    /// Unix milliseconds.
    pub now_ms: i64,
    pub ttl: u64,
    pub candidate_ttl: u64,
    /// Seconds between two sends.
    pub cooldown: u64,
    pub max_sends: u32,
    /// For a resend: the attempt the caller owns (`None`: not bound to one).
    pub attempt: Option<&'a str>,
    /// A secret for an emailed link that proves the code without typing it.
    pub link_token: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    /// A new code is live; deliver it. `replaced`: a registration's live code
    /// (maybe someone else's attempt) died for it. `phone`: the number of a
    /// resent registration.
    Issued { code: String, sends: u32, replaced: bool, phone: Option<Phone> },
    /// The live registration belongs to another attempt (another browser).
    OtherAttempt,
    /// The live code, sent once more, with its link token (if it has one).
    Again { code: String, link_token: Option<String> },
    /// Too soon after the last send.
    Cooldown { retry_after: u64 },
    /// Every send of this window is used.
    TooManySends { retry_after: u64 },
    /// Nothing to resend: start again.
    Expired,
}

/// Reads the guard and its TTL in one round trip.
pub async fn guard(conn: &ConnectionManager, purpose: Purpose, email: &Email) -> StoreResult<Option<Guard>> {
    let key = keys::verification_guard(purpose, email);
    let mut conn = conn.clone();
    let (h, ttl, failures): (HashMap<String, String>, i64, Option<u32>) = redis::pipe()
        .hgetall(&key)
        .ttl(&key)
        .get(keys::verification_failures(purpose, email))
        .query_async(&mut conn)
        .await?;
    Ok(Guard::from_hash(&h, ttl, failures))
}

/// The registration guard and the candidate, in one round trip.
pub async fn registration_state(
    conn: &ConnectionManager,
    email: &Email,
) -> StoreResult<(Option<Guard>, Option<Candidate>)> {
    let guard_key = keys::verification_guard(Purpose::FinishRegistration, email);
    let candidate_key = keys::user_candidate(email);
    let mut conn = conn.clone();
    let (g, ttl, failures, c): (HashMap<String, String>, i64, Option<u32>, HashMap<String, String>) = redis::pipe()
        .hgetall(&guard_key)
        .ttl(&guard_key)
        .get(keys::verification_failures(Purpose::FinishRegistration, email))
        .hgetall(&candidate_key)
        .query_async(&mut conn)
        .await?;
    Ok((Guard::from_hash(&g, ttl, failures), Candidate::from_hash(&candidate_key, &c)?))
}

/// Wrong guesses from one client at an address's codes in the current window.
/// Returns the guesses at this address's codes and at any address's codes, in one MGET.
pub async fn client_guesses(
    conn: &ConnectionManager,
    purpose: Purpose,
    email: &Email,
    ip: IpAddr,
) -> StoreResult<(u32, u32)> {
    let mut conn = conn.clone();
    let (here, all): (Option<u32>, Option<u32>) =
        conn.mget(&[keys::code_guesses(purpose, email, ip), keys::code_guesses_all(ip)]).await?;
    Ok((here.unwrap_or(0), all.unwrap_or(0)))
}

/// The live code of a purpose and its link token, if it has one.
pub async fn link_token(
    conn: &ConnectionManager,
    purpose: Purpose,
    email: &Email,
) -> StoreResult<Option<(String, String)>> {
    let mut conn = conn.clone();
    let code: Option<String> = conn.hget(keys::verification_guard(purpose, email), "code").await?;
    let Some(code) = code else { return Ok(None) };
    let token: Option<String> = conn.hget(keys::verification(purpose, email, &code), "link_token").await?;
    Ok(token.map(|t| (code, t)))
}

/// The attempt behind the live registration code, if there is one.
pub async fn registration_attempt(conn: &ConnectionManager, email: &Email) -> StoreResult<Option<String>> {
    let mut conn = conn.clone();
    let code: Option<String> = conn.hget(keys::verification_guard(Purpose::FinishRegistration, email), "code").await?;
    let Some(code) = code else { return Ok(None) };
    Ok(conn.hget(keys::registration(email, &code), "attempt").await?)
}

/// Issues a fresh code (killing the live one) within the cooldown and send
/// limits; see [`Issue`] for what happens to registration data.
pub async fn issue_code(conn: &ConnectionManager, req: IssueRequest<'_>) -> StoreResult<IssueOutcome> {
    let mut conn = conn.clone();
    let guard_key = keys::verification_guard(req.purpose, req.email);
    let carries_registration = req.purpose == Purpose::FinishRegistration;
    for _ in 0..MAX_RETRIES {
        let current: Option<String> = conn.hget(&guard_key, "code").await?;
        let current = current.unwrap_or_default();
        let code = crate::domain::VerificationCode::generate();
        let code = code.expose();
        let mut verification = vec![
            ("email", req.email.to_string()),
            ("code", code.to_owned()),
            ("purpose", req.purpose.to_string()),
            ("delivery_method", req.method.to_string()),
        ];
        if carries_registration {
            verification.push(("registration_key", keys::registration(req.email, code)));
        }
        if let Some(token) = req.link_token {
            verification.push(("link_token", token.to_owned()));
        }
        let (registration, candidate) = match req.issue {
            Issue::Register(r, c) => (r.fields(), c.fields()),
            Issue::Start | Issue::Resend | Issue::Again => (Vec::new(), Vec::new()),
        };
        let mut invocation = ISSUE_CODE.prepare_invoke();
        invocation
            .key(&guard_key)
            .key(keys::verification(req.purpose, req.email, &current))
            .key(keys::registration(req.email, &current))
            .key(keys::verification(req.purpose, req.email, code))
            .key(keys::registration(req.email, code))
            .key(keys::user_candidate(req.email))
            .arg(&current)
            .arg(code)
            .arg(req.now_ms)
            .arg(req.cooldown * 1000)
            .arg(req.max_sends)
            .arg(req.ttl)
            .arg(req.candidate_ttl)
            .arg(match req.issue {
                Issue::Resend => "resend",
                Issue::Again => "again",
                Issue::Start | Issue::Register(..) => "start",
            })
            .arg(if carries_registration { "1" } else { "0" })
            .arg(req.attempt.unwrap_or_default());
        for list in [&verification, &registration, &candidate] {
            invocation.arg(list.len());
            for (field, value) in list.iter() {
                invocation.arg(*field).arg(value);
            }
        }
        let (status, n, replaced, phone): (String, i64, String, String) = invocation.invoke_async(&mut conn).await?;
        if status == "again" {
            let link_token = Some(phone).filter(|t| !t.is_empty());
            return Ok(IssueOutcome::Again { code: replaced, link_token });
        }
        let phone = match phone.as_str() {
            "" => None,
            p => Some(Phone::parse(p).map_err(|e| StoreError::corrupt(&guard_key, e.to_string()))?),
        };
        // `None`: the guard changed since we read it; read it again.
        let outcome = super::script_outcome("issue_code", (status, n), |status, n| match status {
            "ok" => Some(Some(IssueOutcome::Issued {
                code: code.to_owned(),
                sends: n as u32,
                replaced: replaced == "1",
                phone: phone.clone(),
            })),
            "other_attempt" => Some(Some(IssueOutcome::OtherAttempt)),
            "cooldown" => Some(Some(IssueOutcome::Cooldown { retry_after: n.max(1) as u64 })),
            "too_many" => Some(Some(IssueOutcome::TooManySends { retry_after: n.max(1) as u64 })),
            "expired" => Some(Some(IssueOutcome::Expired)),
            "retry" => Some(None),
            _ => None,
        })?;
        if let Some(outcome) = outcome {
            return Ok(outcome);
        }
    }
    Err(StoreError::corrupt(&guard_key, "the code kept changing; gave up"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Wrong {
        attempts_left: u32,
    },
    Exhausted,
    Expired,
    /// The guard moved on (a resend) since it was read: read it again.
    Stale,
}

/// A wrong guess to count: against the code the caller read from the guard,
/// the address's day and the guessing client.
pub struct WrongGuess<'a> {
    pub purpose: Purpose,
    pub email: &'a Email,
    pub code: &'a str,
    pub client: IpAddr,
    pub max_attempts: u32,
    pub max_daily_failures: u32,
}

/// Counts a wrong guess against the code the caller read from the guard.
pub async fn fail_attempt(conn: &ConnectionManager, guess: WrongGuess<'_>) -> StoreResult<AttemptOutcome> {
    let mut conn = conn.clone();
    let reply: (String, i64) = FAIL_ATTEMPT
        .key(keys::verification_guard(guess.purpose, guess.email))
        .key(keys::verification(guess.purpose, guess.email, guess.code))
        .key(keys::verification_failures(guess.purpose, guess.email))
        .key(keys::code_guesses(guess.purpose, guess.email, guess.client))
        .key(keys::code_guesses_all(guess.client))
        .arg(guess.code)
        .arg(guess.max_attempts)
        .arg(guess.max_daily_failures)
        .arg(keys::VERIFICATION_FAILURES_TTL)
        .arg(keys::CODE_GUESS_WINDOW)
        .invoke_async(&mut conn)
        .await?;
    super::script_outcome("fail_attempt", reply, |status, n| match status {
        "wrong" => Some(AttemptOutcome::Wrong { attempts_left: n.max(0) as u32 }),
        "exhausted" => Some(AttemptOutcome::Exhausted),
        "expired" => Some(AttemptOutcome::Expired),
        "retry" => Some(AttemptOutcome::Stale),
        _ => None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteOutcome {
    /// `email_proven`: false for an SMS registration, whose address awaits
    /// confirmation.
    Created {
        email_proven: bool,
    },
    /// The live registration belongs to another attempt (another browser).
    OtherAttempt,
    /// The email or the username was claimed first by someone else.
    Taken,
    Exhausted,
    Expired,
    Stale,
}

/// What [`complete_registration`] needs: the code and candidate the caller
/// read, and the new account's id and creation time.
pub struct NewAccount<'a> {
    pub email: &'a Email,
    pub code: &'a str,
    pub username: &'a Username,
    pub user_id: Uuid,
    /// RFC 3339.
    pub now: &'a str,
    pub max_attempts: u32,
    /// The attempt the caller owns (`None`: not bound to one, as the API).
    pub attempt: Option<&'a str>,
    /// Proven by the emailed link rather than a code.
    pub by_link: bool,
}

/// Spends the registration code and creates `account:{user_id}` with both
/// indexes, or nothing at all.
pub async fn complete_registration(conn: &ConnectionManager, new: NewAccount<'_>) -> StoreResult<CompleteOutcome> {
    let purpose = Purpose::FinishRegistration;
    let mut conn = conn.clone();
    let reply: (String, i64) = COMPLETE_REGISTRATION
        .key(keys::verification_guard(purpose, new.email))
        .key(keys::verification(purpose, new.email, new.code))
        .key(keys::registration(new.email, new.code))
        .key(keys::user_candidate(new.email))
        .key(keys::account_by_email(new.email))
        .key(keys::account_by_username(new.username))
        .key(keys::account(new.user_id))
        .arg(new.code)
        .arg(new.username.as_str())
        .arg(new.user_id.to_string())
        .arg(new.now)
        .arg(new.max_attempts)
        .arg(new.attempt.unwrap_or_default())
        .arg(if new.by_link { "link" } else { "code" })
        .invoke_async(&mut conn)
        .await?;
    super::script_outcome("complete_registration", reply, |status, n| match status {
        "created" => Some(CompleteOutcome::Created { email_proven: n == 1 }),
        "other_attempt" => Some(CompleteOutcome::OtherAttempt),
        "taken" => Some(CompleteOutcome::Taken),
        "exhausted" => Some(CompleteOutcome::Exhausted),
        "expired" => Some(CompleteOutcome::Expired),
        "retry" => Some(CompleteOutcome::Stale),
        _ => None,
    })
}

static RESET_PASSWORD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/reset_password.lua")));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetOutcome {
    Done,
    Exhausted,
    Expired,
    Stale,
}

/// What [`reset_password`] needs: the code the caller read from the guard
/// and the account's new hash.
pub struct PasswordReset<'a> {
    pub purpose: Purpose,
    pub email: &'a Email,
    pub code: &'a str,
    pub user_id: Uuid,
    pub password_hash: &'a str,
    pub max_attempts: u32,
    /// Proven by the emailed link, not by typing the code.
    pub by_link: bool,
}

/// Spends a `forgot_password` or `change_password` code and sets the new
/// password hash in one step (every session ends, the cache entry goes).
pub async fn reset_password(conn: &ConnectionManager, reset: PasswordReset<'_>) -> StoreResult<ResetOutcome> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut conn = conn.clone();
    let reply: (String, i64) = RESET_PASSWORD
        .key(keys::verification_guard(reset.purpose, reset.email))
        .key(keys::verification(reset.purpose, reset.email, reset.code))
        .key(keys::account(reset.user_id))
        .key(keys::user_cache(reset.user_id))
        .arg(reset.code)
        .arg(reset.max_attempts)
        .arg(reset.password_hash)
        .arg(now)
        .arg(if reset.by_link { "link" } else { "code" })
        .invoke_async(&mut conn)
        .await?;
    super::script_outcome("reset_password", reply, |status, _| match status {
        "ok" => Some(ResetOutcome::Done),
        "exhausted" => Some(ResetOutcome::Exhausted),
        "expired" => Some(ResetOutcome::Expired),
        "retry" => Some(ResetOutcome::Stale),
        _ => None,
    })
}

static DISCARD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/discard.lua")));

/// Removes the pending keys of one code (after a failed delivery), leaving
/// a newer code's guard and candidate alone.
pub async fn discard(conn: &ConnectionManager, purpose: Purpose, email: &Email, code: &str) -> StoreResult<()> {
    let registration = purpose == Purpose::FinishRegistration;
    let mut conn = conn.clone();
    let _: i64 = DISCARD
        .key(keys::verification_guard(purpose, email))
        .key(keys::verification(purpose, email, code))
        .key(if registration { keys::registration(email, code) } else { keys::verification(purpose, email, code) })
        .key(if registration { keys::user_candidate(email) } else { keys::verification(purpose, email, code) })
        .arg(code)
        .invoke_async(&mut conn)
        .await?;
    Ok(())
}

static CONFIRM_EMAIL: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/confirm_email.lua")));

/// What confirming an address found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed(Uuid),
    /// Another account proved this address first.
    Taken,
    /// No such token, already used, or the account changed its address.
    Expired,
}

/// Stores a token that confirms `email` for the account, for a day.
pub async fn store_email_confirmation(
    conn: &ConnectionManager,
    token: &str,
    user_id: Uuid,
    email: &Email,
    ttl: u64,
) -> StoreResult<()> {
    let key = keys::email_confirmation(token);
    let mut conn = conn.clone();
    redis::pipe()
        .atomic()
        .hset_multiple(&key, &[("user_id", user_id.to_string()), ("email", email.to_string())])
        .ignore()
        .expire(&key, ttl as i64)
        .ignore()
        .exec_async(&mut conn)
        .await?;
    Ok(())
}

/// Spends a confirmation token and claims the address for its account.
pub async fn confirm_email(conn: &ConnectionManager, token: &str) -> StoreResult<Confirmation> {
    let key = keys::email_confirmation(token);
    let mut conn = conn.clone();
    let (user_id, email): (Option<String>, Option<String>) =
        redis::pipe().hget(&key, "user_id").hget(&key, "email").query_async(&mut conn).await?;
    let (Some(id), Some(email)) =
        (user_id.and_then(|u| Uuid::parse_str(&u).ok()), email.and_then(|e| Email::parse(&e).ok()))
    else {
        return Ok(Confirmation::Expired);
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let status: String = CONFIRM_EMAIL
        .key(&key)
        .key(keys::account(id))
        .key(keys::account_by_email(&email))
        .key(keys::user_cache(id))
        .arg(id.to_string())
        .arg(email.as_str())
        .arg(now)
        .invoke_async(&mut conn)
        .await?;
    super::script_outcome("confirm_email", (status, 0), |status, _| match status {
        "confirmed" => Some(Confirmation::Confirmed(id)),
        "taken" => Some(Confirmation::Taken),
        "expired" => Some(Confirmation::Expired),
        _ => None,
    })
}
