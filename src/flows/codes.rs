//! What every code purpose shares: issuing a code within the limits,
//! delivering it (or leaving nothing behind), judging an attempt, and the
//! status a verify page shows.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{DeliveryMethod, Email, Purpose};
use crate::keys;
use crate::notify::Message;
use crate::store::pending::{self, AttemptOutcome, Guard, Issue, IssueOutcome, IssueRequest, WrongGuess};
use crate::store::rate_limit;
use std::net::IpAddr;

/// A request for a code under the configured limits.
pub(crate) fn request<'a>(
    core: &Core,
    purpose: Purpose,
    email: &'a Email,
    method: DeliveryMethod,
    issue: Issue<'a>,
) -> IssueRequest<'a> {
    let s = &core.settings;
    IssueRequest {
        purpose,
        email,
        method,
        issue,
        now_ms: chrono::Utc::now().timestamp_millis(),
        ttl: s.ttl.verification,
        candidate_ttl: s.ttl.user_candidate,
        cooldown: s.limits.resend_cooldown,
        max_sends: s.limits.code_sends,
        attempt: None,
        link_token: None,
    }
}

/// Counts one code request (a registration, a resend, a reset) against the
/// client IP, before any hashing or sending: codes cost mail, SMS and CPU.
pub(crate) async fn throttle_requests(core: &Core, ip: IpAddr) -> Result<(), FlowError> {
    let limit = core.settings.limits.code_requests_per_ip;
    match rate_limit::hit(&core.redis, &keys::code_request(ip), limit, keys::CODE_REQUEST_WINDOW).await? {
        rate_limit::Decision::Allowed => Ok(()),
        rate_limit::Decision::Limited { retry_after } => Err(FlowError::Throttled { retry_after }),
    }
}

/// A code that is now live, and what came with it.
pub(crate) struct Issued {
    pub code: String,
    /// A registration's live code (maybe another attempt's) died for it.
    pub replaced: bool,
    /// The phone of a resent registration.
    pub phone: Option<crate::domain::Phone>,
}

/// The issued code, or the reason there is none.
pub(crate) fn issued(outcome: IssueOutcome) -> Result<Issued, FlowError> {
    match outcome {
        IssueOutcome::Issued { code, replaced, phone, .. } => Ok(Issued { code, replaced, phone }),
        IssueOutcome::OtherAttempt => Err(FlowError::OtherAttempt),
        IssueOutcome::Again { code, .. } => Ok(Issued { code, replaced: false, phone: None }),
        IssueOutcome::Cooldown { retry_after } | IssueOutcome::TooManySends { retry_after } => {
            Err(FlowError::Throttled { retry_after })
        }
        IssueOutcome::Expired => Err(FlowError::CodeExpired),
    }
}

/// Sends the message; if that fails, removes every key of the code so the
/// person starts again with a clean slate.
pub(crate) async fn deliver(
    core: &Core,
    purpose: Purpose,
    email: &Email,
    code: &str,
    message: Option<Message>,
) -> Result<(), FlowError> {
    let Some(message) = message else { return Ok(()) };
    if let Err(err) = core.notifier.send(message).await {
        pending::discard(&core.redis, purpose, email, code).await?;
        return Err(FlowError::DeliveryFailed(err));
    }
    Ok(())
}

/// Whether to go on after judging one attempt.
pub(crate) enum Judgement {
    Matched,
    /// The live code changed under us: read the guard again.
    Stale,
}

/// Judges one typed code against the guard: a match goes on, a miss counts
/// against the code (the last allowed miss kills it), the address's day and
/// the guessing client. A client past its own cap waits (at most
/// [`keys::CODE_GUESS_WINDOW`]) without touching anyone else's budget.
///
/// The odds: a 6-digit code and at most `CODE_MAX_DAILY_FAILURES` (100)
/// wrong guesses per purpose and address a day give a guesser at most
/// 100 / 1 000 000 = 1 in 10 000 a day. A stranger who spends that budget
/// blocks only typed codes: the emailed link of a fresh code still works.
pub(crate) async fn judge(
    core: &Core,
    purpose: Purpose,
    email: &Email,
    guard: &Guard,
    matches: bool,
    client: IpAddr,
) -> Result<Judgement, FlowError> {
    let limits = &core.settings.limits;
    let max = limits.code_attempts;
    let (here, everywhere) = pending::client_guesses(&core.redis, purpose, email, client).await?;
    if here >= limits.code_client_failures || everywhere >= limits.code_ip_failures {
        return Err(FlowError::Throttled { retry_after: keys::CODE_GUESS_WINDOW });
    }
    if guard.attempts >= max || guard.daily_failures >= limits.code_daily_failures {
        return Err(FlowError::CodeExhausted);
    }
    if matches {
        return Ok(Judgement::Matched);
    }
    let guess = WrongGuess {
        purpose,
        email,
        code: &guard.code,
        client,
        max_attempts: max,
        max_daily_failures: limits.code_daily_failures,
    };
    match pending::fail_attempt(&core.redis, guess).await? {
        AttemptOutcome::Wrong { attempts_left } => Err(FlowError::WrongCode { attempts_left }),
        AttemptOutcome::Exhausted => Err(FlowError::CodeExhausted),
        AttemptOutcome::Expired => Err(FlowError::CodeExpired),
        AttemptOutcome::Stale => Ok(Judgement::Stale),
    }
}

/// How a pending code is proven: typed, or by the emailed link's token
/// (which proves the mailbox, is not a guess, and counts against nothing).
pub enum Proof<'a> {
    Code(&'a str),
    Token(&'a str),
}

/// A proof that parsed.
pub(crate) enum Checked<'a> {
    Code(crate::domain::VerificationCode),
    Token(&'a str),
}

impl Checked<'_> {
    /// What to answer when nothing is pending for the proof.
    pub(crate) fn expired(&self) -> FlowError {
        match self {
            Checked::Code(_) => FlowError::CodeExpired,
            Checked::Token(_) => FlowError::LinkExpired,
        }
    }
}

impl<'a> Proof<'a> {
    pub(crate) fn check(self, errors: &mut FieldErrors) -> Option<Checked<'a>> {
        match self {
            Proof::Code(c) => errors.check("code", crate::domain::VerificationCode::parse(c)).map(Checked::Code),
            Proof::Token(t) if (1..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(Checked::Token(t))
            }
            Proof::Token(_) => {
                errors.add("token", "This link is not valid.");
                None
            }
        }
    }
}

/// How often an attempt is re-judged when a resend raced it.
pub(crate) const ATTEMPT_RETRIES: usize = 5;

pub(crate) fn parse_email(input: &str) -> Result<Email, FlowError> {
    Email::parse(input).map_err(|e| FlowError::Invalid(FieldErrors::single("email", e)))
}

/// What a verify page shows about a pending code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingStatus {
    /// A code can still be entered.
    pub live: bool,
    /// Seconds until "send a new code" works again (0 = now).
    pub resend_in: u64,
    pub sends_left: u32,
    pub attempts_left: u32,
    pub expires_in: u64,
}

impl PendingStatus {
    /// Nothing to enter: no live code (or none this client may know of).
    pub fn none() -> Self {
        Self { live: false, resend_in: 0, sends_left: 0, attempts_left: 0, expires_in: 0 }
    }
}

pub async fn status(core: &Core, purpose: Purpose, email: &str) -> Result<PendingStatus, FlowError> {
    let email = parse_email(email)?;
    let guard = pending::guard(&core.redis, purpose, &email).await?;
    let limits = &core.settings.limits;
    Ok(match guard {
        None => PendingStatus::none(),
        Some(g) => {
            let since_ms = (chrono::Utc::now().timestamp_millis() - g.sent_at).max(0) as u64;
            PendingStatus {
                live: g.attempts < limits.code_attempts && g.daily_failures < limits.code_daily_failures,
                resend_in: (limits.resend_cooldown * 1000).saturating_sub(since_ms).div_ceil(1000),
                sends_left: limits.code_sends.saturating_sub(g.sends),
                attempts_left: limits.code_attempts.saturating_sub(g.attempts),
                expires_in: g.ttl.max(0) as u64,
            }
        }
    })
}
