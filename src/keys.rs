//! The Redis schema: every key Keyhold reads or writes is formatted here and
//! nowhere else, with the TTL that goes with it. Key names follow the source
//! schemas exactly (see the README's "Redis schema" table).

use crate::domain::{Email, Phone, Purpose, Username};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::fmt::Display;
use std::net::IpAddr;

// ---- TTLs (seconds) -------------------------------------------------------

/// Cookie sessions (`{session_id}`), renewed on activity (at most once per
/// `SESSION_RENEW_AFTER`).
pub const SESSION_TTL: u64 = 86_400;
/// `user_candidate:{email}`: kept a day, plenty for
/// a person to find the email, and anonymous input must not grow unbounded.
pub const USER_CANDIDATE_TTL: u64 = 86_400;
/// `registration:…`, `verification:…` and `verification_guard:…`.
pub const VERIFICATION_TTL: u64 = 600;
/// Window of the `username_status_req:{ip_addr}` counter.
pub const USERNAME_STATUS_WINDOW: u64 = 60;
/// Default of `REDIS_CACHE_TTL` for `user:{userId}`.
pub const USER_CACHE_TTL: u64 = 3_600;
/// Default of `REDIS_ERROR_TTL` for `error:{service}:{type}:{timestamp}:{id}`.
pub const ERROR_TTL: u64 = 604_800;
/// Default of `REDIS_ERROR_INDEX_TTL` for the error index and counters.
pub const ERROR_INDEX_TTL: u64 = 2_592_000;
/// `login_fail:{account_or_ip}` window.
pub const LOGIN_FAIL_TTL: u64 = 900;
/// `verification_failures:{purpose}:{email}`: wrong guesses over a day,
/// whatever number of codes was issued.
pub const VERIFICATION_FAILURES_TTL: u64 = 86_400;
/// `code_guesses:…` window: a client that guessed too often waits this long.
pub const CODE_GUESS_WINDOW: u64 = 900;
/// `code_request:{ip_addr}` window.
pub const CODE_REQUEST_WINDOW: u64 = 600;
/// `idempotency:{user_id}:{key}`.
pub const IDEMPOTENCY_TTL: u64 = 86_400;

// ---- the upload, signup and payment keys -----------------------------------

/// `upload_request:{user_id}:{object_key}`
pub fn upload_request(user_id: impl Display, object_key: impl Display) -> String {
    format!("upload_request:{user_id}:{object_key}")
}

/// `user_candidate:{email}`
pub fn user_candidate(email: &Email) -> String {
    format!("user_candidate:{email}")
}

/// `username_status_req:{ip_addr}`
pub fn username_status_req(ip: IpAddr) -> String {
    format!("username_status_req:{ip}")
}

/// `payment:{payment_id}`
pub fn payment(payment_id: impl Display) -> String {
    format!("payment:{payment_id}")
}

// ---- the user cache, token blacklist and error log ------------------------

/// `{session_id}`: a cookie session as tower-sessions-redis-store names it,
/// the session id alone.
pub fn session(session_id: impl Display) -> String {
    session_id.to_string()
}

/// `user:{userId}`: the cache-aside view of an account.
pub fn user_cache(user_id: impl Display) -> String {
    format!("user:{user_id}")
}

/// `token:blacklist:{tokenId}`
pub fn token_blacklist(token_id: impl Display) -> String {
    format!("token:blacklist:{token_id}")
}

/// `error:{service}:{type}:{timestamp}:{id}` with an RFC 3339 UTC timestamp to
/// the second, e.g. `error:user-service:validation:2025-01-15T10:30:00Z:abc123`.
pub fn error(service: &str, kind: &str, at: DateTime<Utc>, id: &str) -> String {
    format!("error:{service}:{kind}:{}:{id}", error_timestamp(at))
}

/// `error:index:{service}:{date}` (UTC day).
pub fn error_index(service: &str, date: NaiveDate) -> String {
    format!("error:index:{service}:{}", date.format("%Y-%m-%d"))
}

/// `error:timeline:{service}:{date}`: ZSET of the day's error keys by time
/// (ms), beside the seed's SET, so a page of errors is read newest first
/// without reading the day.
pub fn error_timeline(service: &str, date: NaiveDate) -> String {
    format!("error:timeline:{service}:{}", date.format("%Y-%m-%d"))
}

/// `error:group:{service}:{group}`: HASH of one group of alike errors
/// (`kind sample first_seen last_seen count state state_at`).
pub fn error_group(service: &str, group: &str) -> String {
    format!("error:group:{service}:{group}")
}

/// `error:groups:{service}`: ZSET of a service's groups by last seen (ms).
pub fn error_groups(service: &str) -> String {
    format!("error:groups:{service}")
}

/// `error:group_count:{service}:{group}:{date}`: a group's errors that day.
pub fn error_group_count(service: &str, group: &str, date: NaiveDate) -> String {
    format!("error:group_count:{service}:{group}:{}", date.format("%Y-%m-%d"))
}

/// `error:group_errors:{service}:{group}`: ZSET of one group's error keys by
/// time (ms); entries older than a record's TTL are trimmed on each write.
pub fn error_group_errors(service: &str, group: &str) -> String {
    format!("error:group_errors:{service}:{group}")
}

/// `error:timeline:{service}:{type}:{date}`: the same for one type, so a
/// type filter pages as cheaply as no filter.
pub fn error_type_timeline(service: &str, kind: &str, date: NaiveDate) -> String {
    format!("error:timeline:{service}:{kind}:{}", date.format("%Y-%m-%d"))
}

/// `error:services`: SET of the services that reported errors.
pub const ERROR_SERVICES: &str = "error:services";

/// `error_ingest:{digest}`: records taken from one ingest token this minute.
pub fn error_ingest(token: &str) -> String {
    format!("error_ingest:{}", digest(token))
}

/// `error:count:{service}:{type}:{date}` (UTC day).
pub fn error_count(service: &str, kind: &str, date: NaiveDate) -> String {
    format!("error:count:{service}:{kind}:{}", date.format("%Y-%m-%d"))
}

/// The timestamp format shared by error keys and error records.
pub fn error_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---- codes and pending registrations --------------------------------------

/// `registration:{email}:{code}`
pub fn registration(email: &Email, code: &str) -> String {
    format!("registration:{email}:{code}")
}

/// `verification:{purpose}:{email}:{code}`
pub fn verification(purpose: Purpose, email: &Email, code: &str) -> String {
    format!("verification:{purpose}:{email}:{code}")
}

// ---- Keyhold's own --------------------------------------------------------

/// `account:{user_id}`: the durable account HASH.
pub fn account(user_id: impl Display) -> String {
    format!("account:{user_id}")
}

/// `account:email:{email}` → user id.
pub fn account_by_email(email: &Email) -> String {
    format!("account:email:{email}")
}

/// `account:username:{username}` → user id.
pub fn account_by_username(username: &Username) -> String {
    format!("account:username:{username}")
}

/// `verification_guard:{purpose}:{email}`: the one live code, its attempts
/// and sends.
pub fn verification_guard(purpose: Purpose, email: &Email) -> String {
    format!("verification_guard:{purpose}:{email}")
}

/// `verification_failures:{purpose}:{email}`: wrong guesses in the last day.
/// A fresh code resets the guard's attempts, never this.
pub fn verification_failures(purpose: Purpose, email: &Email) -> String {
    format!("verification_failures:{purpose}:{email}")
}

/// `code_guesses:{purpose}:{email}:{ip_addr}`: wrong guesses at an
/// address's codes from one client, in a short window: one client cannot
/// spend the address's daily budget.
pub fn code_guesses(purpose: Purpose, email: &Email, ip: IpAddr) -> String {
    format!("code_guesses:{purpose}:{email}:{}", client(ip))
}

/// `code_guesses:all:{ip_addr}`: wrong guesses from one client at any
/// address's codes: nobody guesses across many accounts at once.
pub fn code_guesses_all(ip: IpAddr) -> String {
    format!("code_guesses:all:{}", client(ip))
}

/// `code_request:{ip_addr}`: codes requested (registrations, resets) per client IP.
pub fn code_request(ip: IpAddr) -> String {
    format!("code_request:{}", client(ip))
}

/// `login_fail:account:{user_id}`: failed logins for an account, whichever
/// name (email or username) was typed.
pub fn login_fail_account(user_id: impl Display) -> String {
    format!("login_fail:account:{user_id}")
}

/// `login_fail:account:{user_id}:{ip_addr}`: failed logins for an account
/// from one client: a stranger who fails locks out only themselves.
pub fn login_fail_account_client(user_id: impl Display, ip: IpAddr) -> String {
    format!("login_fail:account:{user_id}:{}", client(ip))
}

/// `login_fail:unknown:{digest}`: failed logins for a name that is no
/// account, keyed by a digest so the key stays short whatever was typed.
pub fn login_fail_unknown(name: &str) -> String {
    format!("login_fail:unknown:{}", digest(name))
}

/// `login_fail:ip:{ip_addr}`: failed logins from one client.
pub fn login_fail_ip(ip: IpAddr) -> String {
    format!("login_fail:ip:{}", client(ip))
}

/// 32 hex characters of SHA-256: a fixed-length key part for input of any length.
fn digest(input: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(input.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// `email_confirmation:{token}`: HASH `user_id email`; confirms the address
/// of an account registered by SMS.
pub fn email_confirmation(token: &str) -> String {
    format!("email_confirmation:{token}")
}

/// `sms_limit:number:{phone}:hour` and `…:day`: texts sent to one number.
pub fn sms_limit_number(phone: &Phone, window: &str) -> String {
    format!("sms_limit:number:{phone}:{window}")
}

/// `sms_limit:all:{YYYY-MM-DDTHH}`: texts sent to any number this hour (UTC).
pub fn sms_limit_all(at: DateTime<Utc>) -> String {
    format!("sms_limit:all:{}", at.format("%Y-%m-%dT%H"))
}

/// `error_cap:{ip_addr}`: error records kept for one client this hour.
pub fn error_cap(ip: IpAddr) -> String {
    format!("error_cap:{}", client(ip))
}

/// `form_values_kept:{ip_addr}`: failed forms whose typed values one client
/// had kept in a session (each may make a new session).
pub fn form_values_kept(ip: IpAddr) -> String {
    format!("form_values_kept:{}", client(ip))
}

/// A client as the per-client limits count it: an IPv4 address, or the /64
/// an IPv6 address is in (one host easily holds a whole /64, so counting
/// single IPv6 addresses would let it step around every limit).
fn client(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// `payments:user:{user_id}`
pub fn payments_by_user(user_id: impl Display) -> String {
    format!("payments:user:{user_id}")
}

/// `idempotency:{user_id}:{key}`
pub fn idempotency(user_id: impl Display, key: &str) -> String {
    format!("idempotency:{user_id}:{key}")
}

/// `payments:received:{user_id}`: ZSET payment id by creation time (µs).
pub fn payments_received(user_id: impl Display) -> String {
    format!("payments:received:{user_id}")
}

/// `payments:totals:{user_id}`: HASH `sent:{CUR}` / `received:{CUR}` →
/// minor units of succeeded payments.
pub fn payment_totals(user_id: impl Display) -> String {
    format!("payments:totals:{user_id}")
}

/// `payment_event:{event_id}`: a provider event already processed.
pub fn payment_event(event_id: &str) -> String {
    format!("payment_event:{}", digest(event_id))
}

/// How long a processed webhook event is remembered.
pub const PAYMENT_EVENT_TTL: u64 = 30 * 86_400;

/// `files:user:{user_id}`
pub fn files_by_user(user_id: impl Display) -> String {
    format!("files:user:{user_id}")
}

/// `file:{object_key}`
pub fn file(object_key: impl Display) -> String {
    format!("file:{object_key}")
}

/// `upload_requests`: ZSET of upload request keys by start time.
pub const UPLOAD_REQUESTS: &str = "upload_requests";

/// The user id and object key inside an `upload_request:{user_id}:{object_key}` key.
pub fn parse_upload_request(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix("upload_request:")?.rsplit_once(':')
}

/// `upload_slots:{user_id}`: HASH object key → JSON of what each open
/// upload request allows (name, size, type, kind, start, S3 multipart id).
pub fn upload_slots(user_id: impl Display) -> String {
    format!("upload_slots:{user_id}")
}

/// `files:usage:{user_id}`: bytes held by a user's completed files.
pub fn files_usage(user_id: impl Display) -> String {
    format!("files:usage:{user_id}")
}

/// `stats:cache`: HASH `hits misses`.
pub const STATS_CACHE: &str = "stats:cache";

/// `stats:cache:{YYYY-MM-DDTHH}`: HASH `hits misses` of one UTC hour (kept 2 h).
pub fn stats_cache_hour(at: DateTime<Utc>) -> String {
    format!("stats:cache:{}", at.format("%Y-%m-%dT%H"))
}

/// `lock:job:{name}`
pub fn job_lock(name: &str) -> String {
    format!("lock:job:{name}")
}

/// `stats:keys`: HASH of the key census (one field per [`KeyKind`], plus
/// `total` and `counted_at` in ms), replaced whole by each census.
pub const STATS_KEYS: &str = "stats:keys";

/// What a key holds, read from its name: the key census's kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    Session,
    UserCache,
    PendingRegistration,
    VerificationCode,
    TokenBlacklist,
    ErrorLog,
    Account,
    Upload,
    Payment,
    Throttle,
    Other,
}

impl KeyKind {
    pub const ALL: &'static [KeyKind] = &[
        KeyKind::Session,
        KeyKind::UserCache,
        KeyKind::PendingRegistration,
        KeyKind::VerificationCode,
        KeyKind::TokenBlacklist,
        KeyKind::ErrorLog,
        KeyKind::Account,
        KeyKind::Upload,
        KeyKind::Payment,
        KeyKind::Throttle,
        KeyKind::Other,
    ];

    /// The kind of `key`, by the prefixes this module writes. Sessions are
    /// the only keys without a prefix: tower-sessions' 22-character ids.
    pub fn of(key: &str) -> Self {
        const PREFIXES: &[(&str, KeyKind)] = &[
            ("user:", KeyKind::UserCache),
            ("user_candidate:", KeyKind::PendingRegistration),
            ("registration:", KeyKind::VerificationCode),
            ("verification:", KeyKind::VerificationCode),
            ("email_confirmation:", KeyKind::VerificationCode),
            ("token:blacklist:", KeyKind::TokenBlacklist),
            ("error:", KeyKind::ErrorLog),
            ("account:", KeyKind::Account),
            ("upload_request:", KeyKind::Upload),
            ("upload_slots:", KeyKind::Upload),
            ("upload_requests", KeyKind::Upload),
            ("file:", KeyKind::Upload),
            ("files:", KeyKind::Upload),
            ("payment:", KeyKind::Payment),
            ("payments:", KeyKind::Payment),
            ("payment_event:", KeyKind::Payment),
            ("idempotency:", KeyKind::Payment),
            ("login_fail:", KeyKind::Throttle),
            ("code_guesses:", KeyKind::Throttle),
            ("code_request:", KeyKind::Throttle),
            ("sms_limit:", KeyKind::Throttle),
            ("username_status_req:", KeyKind::Throttle),
            ("verification_guard:", KeyKind::Throttle),
            ("verification_failures:", KeyKind::Throttle),
            ("error_cap:", KeyKind::Throttle),
            ("error_ingest:", KeyKind::Throttle),
            ("form_values_kept:", KeyKind::Throttle),
        ];
        if let Some((_, kind)) = PREFIXES.iter().find(|(p, _)| key.starts_with(p)) {
            return *kind;
        }
        let session_id = key.len() == 22 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if session_id { KeyKind::Session } else { KeyKind::Other }
    }

    /// Its field in `stats:keys`.
    pub fn field(self) -> &'static str {
        match self {
            KeyKind::Session => "sessions",
            KeyKind::UserCache => "user_cache",
            KeyKind::PendingRegistration => "pending_registrations",
            KeyKind::VerificationCode => "verification_codes",
            KeyKind::TokenBlacklist => "token_blacklist",
            KeyKind::ErrorLog => "error_log",
            KeyKind::Account => "accounts",
            KeyKind::Upload => "uploads",
            KeyKind::Payment => "payments",
            KeyKind::Throttle => "throttles",
            KeyKind::Other => "other",
        }
    }

    /// How the monitoring panel names it.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Session => "Sessions",
            KeyKind::UserCache => "User cache entries",
            KeyKind::PendingRegistration => "Pending registrations",
            KeyKind::VerificationCode => "Verification codes and links",
            KeyKind::TokenBlacklist => "Revoked tokens (blacklist)",
            KeyKind::ErrorLog => "Error log (records and indexes)",
            KeyKind::Account => "Accounts and their lookups",
            KeyKind::Upload => "Files and upload requests",
            KeyKind::Payment => "Payments and their indexes",
            KeyKind::Throttle => "Throttles",
            KeyKind::Other => "Other (stats, leases)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn email() -> Email {
        Email::parse("anyemail@anyhost.ru").unwrap()
    }

    #[test]
    fn error_keys_match_the_seed_examples() {
        let at = Utc.with_ymd_and_hms(2025, 1, 15, 10, 30, 0).unwrap();
        assert_eq!(
            error("user-service", "validation", at, "abc123"),
            "error:user-service:validation:2025-01-15T10:30:00Z:abc123"
        );
        assert_eq!(error_index("user-service", at.date_naive()), "error:index:user-service:2025-01-15");
        assert_eq!(
            error_count("user-service", "validation", at.date_naive()),
            "error:count:user-service:validation:2025-01-15"
        );
    }

    #[test]
    fn error_timestamps_drop_subseconds() {
        let at = Utc.with_ymd_and_hms(2025, 1, 15, 10, 30, 0).unwrap() + chrono::Duration::milliseconds(789);
        assert_eq!(error_timestamp(at), "2025-01-15T10:30:00Z");
    }

    #[test]
    fn seed_000_keys() {
        assert_eq!(user_candidate(&email()), "user_candidate:anyemail@anyhost.ru");
        assert_eq!(username_status_req("192.168.1.1".parse().unwrap()), "username_status_req:192.168.1.1");
        assert_eq!(username_status_req("::1".parse().unwrap()), "username_status_req:::1");
        assert_eq!(payment("e8ef9831-0279-4495-973b-c49d73dcaee0"), "payment:e8ef9831-0279-4495-973b-c49d73dcaee0");
        assert_eq!(upload_request(7, "avatars/a.png"), "upload_request:7:avatars/a.png");
    }

    #[test]
    fn seed_003_keys() {
        assert_eq!(user_cache("42"), "user:42");
        assert_eq!(token_blacklist("jti-1"), "token:blacklist:jti-1");
    }

    #[test]
    fn seed_004_keys() {
        assert_eq!(registration(&email(), "000000"), "registration:anyemail@anyhost.ru:000000");
        assert_eq!(
            verification(Purpose::FinishRegistration, &email(), "000000"),
            "verification:finish_registration:anyemail@anyhost.ru:000000"
        );
        assert_eq!(
            verification(Purpose::ForgotPassword, &email(), "123456"),
            "verification:forgot_password:anyemail@anyhost.ru:123456"
        );
    }

    #[test]
    fn keyhold_keys() {
        let user = Username::parse("anyuser").unwrap();
        assert_eq!(account("u1"), "account:u1");
        assert_eq!(account_by_email(&email()), "account:email:anyemail@anyhost.ru");
        assert_eq!(account_by_username(&user), "account:username:anyuser");
        assert_eq!(
            verification_guard(Purpose::ChangePassword, &email()),
            "verification_guard:change_password:anyemail@anyhost.ru"
        );
        assert_eq!(login_fail_account("u1"), "login_fail:account:u1");
        assert_eq!(login_fail_ip("10.0.0.1".parse().unwrap()), "login_fail:ip:10.0.0.1");
        // IPv6 clients count by /64.
        assert_eq!(login_fail_ip("2001:db8:1:2:aaaa::1".parse().unwrap()), "login_fail:ip:2001:db8:1:2::/64");
        assert_eq!(
            login_fail_ip("2001:db8:1:2:bbbb::9".parse().unwrap()),
            login_fail_ip("2001:db8:1:2:aaaa::1".parse().unwrap())
        );
        assert_eq!(code_request("::ffff:10.0.0.1".parse().unwrap()), "code_request:10.0.0.1");
        // Names that are no account: a digest, however long the input.
        let long = login_fail_unknown(&"x".repeat(10_000));
        assert_eq!(long.len(), "login_fail:unknown:".len() + 32);
        assert_ne!(login_fail_unknown("ann"), login_fail_unknown("bob"));
        assert_eq!(
            verification_failures(Purpose::ForgotPassword, &email()),
            "verification_failures:forgot_password:anyemail@anyhost.ru"
        );
        assert_eq!(code_request("10.0.0.1".parse().unwrap()), "code_request:10.0.0.1");
        assert_eq!(payments_by_user("u1"), "payments:user:u1");
        assert_eq!(idempotency("u1", "k"), "idempotency:u1:k");
        assert_eq!(payments_received("u1"), "payments:received:u1");
        assert_eq!(payment_totals("u1"), "payments:totals:u1");
        assert_eq!(payment_event("evt_1").len(), "payment_event:".len() + 32);
        assert_eq!(files_by_user("u1"), "files:user:u1");
        assert_eq!(file("u1/x"), "file:u1/x");
        assert_eq!(job_lock("check_current_user_uploads"), "lock:job:check_current_user_uploads");
        assert_eq!(STATS_CACHE, "stats:cache");
        assert_eq!(KeyKind::of(&user_cache("u1")), KeyKind::UserCache);
        assert_eq!(KeyKind::of(&user_candidate(&email())), KeyKind::PendingRegistration);
        assert_eq!(KeyKind::of(&token_blacklist("jti")), KeyKind::TokenBlacklist);
        assert_eq!(KeyKind::of(&job_lock("x")), KeyKind::Other);
        assert_eq!(KeyKind::of("AAAAAAAAAAAAAAAAAAAAAA"), KeyKind::Session);
        assert_eq!(KeyKind::of(STATS_KEYS), KeyKind::Other);
        assert_eq!(UPLOAD_REQUESTS, "upload_requests");
        assert_eq!(upload_slots("u1"), "upload_slots:u1");
        assert_eq!(files_usage("u1"), "files:usage:u1");
        let request = upload_request("5f0c", "0123456789abcdef0123456789abcdef");
        assert_eq!(parse_upload_request(&request), Some(("5f0c", "0123456789abcdef0123456789abcdef")));
        assert_eq!(parse_upload_request("user:1"), None);
    }

    #[test]
    fn ttls_match_the_schema() {
        assert_eq!(SESSION_TTL, 86_400);
        assert_eq!(VERIFICATION_TTL, 600);
        assert_eq!(USER_CACHE_TTL, 3_600);
        assert_eq!(ERROR_TTL, 604_800);
        assert_eq!(ERROR_INDEX_TTL, 2_592_000);
    }
}
