//! The error log (README: "Redis schema"): one JSON record per error, a per-day
//! index per service and a per-day counter per service and type, written in
//! one atomic round trip.

use super::StoreResult;
use crate::keys;
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

static GROUP_STATE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/error_group_state.lua")));

/// The `type` of a recorded error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// Input that failed the rules.
    Validation,
    /// A failed login or a refused token.
    Auth,
    /// A bug or an unexpected failure (every 5xx that is not one of the others).
    Internal,
    /// An email could not be sent.
    Email,
    /// A text message could not be sent.
    Sms,
    /// Object storage failed (uploads, downloads, the upload cleanup).
    Storage,
    /// A payment provider failed, or a webhook was refused.
    Payment,
}

impl ErrorKind {
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Validation,
        ErrorKind::Auth,
        ErrorKind::Internal,
        ErrorKind::Email,
        ErrorKind::Sms,
        ErrorKind::Storage,
        ErrorKind::Payment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::Auth => "auth",
            ErrorKind::Internal => "internal",
            ErrorKind::Email => "email",
            ErrorKind::Sms => "sms",
            ErrorKind::Storage => "storage",
            ErrorKind::Payment => "payment",
        }
    }
}

/// Where the error happened. `endpoint` is the path only: query strings can
/// carry tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMetadata {
    pub endpoint: Option<String>,
    pub method: Option<String>,
    pub ip_address: Option<String>,
}

/// One stored error, in the documented JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    pub error_id: String,
    pub service: String,
    /// Keyhold's own types are [`ErrorKind`]s; other services send theirs.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub stack: Option<String>,
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: String,
    pub metadata: ErrorMetadata,
}

/// What a caller knows about an error. Messages must be free of secrets:
/// callers pass their own wording, never raw input.
#[derive(Debug, Clone)]
pub struct NewError {
    pub kind: ErrorKind,
    pub message: String,
    pub stack: Option<String>,
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub metadata: ErrorMetadata,
}

impl NewError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            stack: None,
            user_id: None,
            correlation_id: None,
            metadata: ErrorMetadata::default(),
        }
    }

    /// The `Display` chain of an error, outermost first, as the `stack`.
    pub fn with_chain(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut lines = vec![err.to_string()];
        let mut source = err.source();
        while let Some(cause) = source {
            lines.push(format!("    caused by: {cause}"));
            source = cause.source();
        }
        self.stack = Some(lines.join("\n"));
        self
    }
}

/// Longest message and stack kept, so one error cannot fill Redis.
const MAX_TEXT: usize = 4_000;

#[derive(Clone)]
pub struct ErrorRecorder {
    conn: ConnectionManager,
    service: String,
    ttl: u64,
    index_ttl: u64,
}

impl ErrorRecorder {
    pub fn new(conn: ConnectionManager, service: impl Into<String>, ttl: u64, index_ttl: u64) -> Self {
        Self { conn, service: service.into(), ttl, index_ttl }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Stores the error and returns its key.
    pub async fn record(&self, error: NewError) -> StoreResult<String> {
        self.record_at(error, Utc::now()).await
    }

    pub async fn record_at(&self, error: NewError, at: DateTime<Utc>) -> StoreResult<String> {
        let service = self.service.clone();
        self.write(&service, error.kind.as_str(), error, at).await
    }

    /// Stores a record of `service` (this one or another that reports its
    /// errors here) under `kind`: seed 003's three keys, plus Keyhold's
    /// time-ordered index and the list of services, in one atomic round trip.
    /// `service` and `kind` must already be safe key parts.
    pub async fn write(&self, service: &str, kind: &str, error: NewError, at: DateTime<Utc>) -> StoreResult<String> {
        let error_id = short_id();
        let day = at.date_naive();
        let key = keys::error(service, kind, at, &error_id);
        let index = keys::error_index(service, day);
        let timeline = keys::error_timeline(service, day);
        let type_timeline = keys::error_type_timeline(service, kind, day);
        let count = keys::error_count(service, kind, day);
        let record = ErrorRecord {
            error_id,
            service: service.to_owned(),
            kind: kind.to_owned(),
            message: truncate(error.message),
            stack: error.stack.map(truncate),
            user_id: error.user_id,
            correlation_id: error.correlation_id,
            timestamp: keys::error_timestamp(at),
            metadata: error.metadata,
        };
        let json = serde_json::to_string(&record).map_err(|e| super::StoreError::corrupt(&key, e.to_string()))?;
        let group = group_id(service, kind, &record.message);
        let group_key = keys::error_group(service, &group);
        let groups = keys::error_groups(service);
        let group_count = keys::error_group_count(service, &group, day);
        let group_errors = keys::error_group_errors(service, &group);
        let at_ms = at.timestamp_millis();
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            // The group: first seen once, then last seen, count, sparkline.
            .hset_nx(&group_key, "first_seen", at_ms)
            .ignore()
            .hset_nx(&group_key, "sample", &record.message)
            .ignore()
            .hset_multiple(&group_key, &[("kind", kind), ("last_seen", &at_ms.to_string())])
            .ignore()
            .hincr(&group_key, "count", 1)
            .ignore()
            .expire(&group_key, self.index_ttl as i64)
            .ignore()
            .zadd(&groups, &group, at_ms)
            .ignore()
            .expire(&groups, self.index_ttl as i64)
            .ignore()
            .incr(&group_count, 1)
            .ignore()
            // The group's own errors, for its page: only those still kept.
            .zadd(&group_errors, &key, at_ms)
            .ignore()
            .zrembyscore(&group_errors, "-inf", at_ms - (self.ttl as i64) * 1000)
            .ignore()
            .expire(&group_errors, self.ttl as i64)
            .ignore()
            .expire(&group_count, self.index_ttl as i64)
            .ignore()
            .set_ex(&key, json, self.ttl)
            .ignore()
            .sadd(&index, &key)
            .ignore()
            .expire(&index, self.index_ttl as i64)
            .ignore()
            .zadd(&timeline, &key, at.timestamp_millis())
            .ignore()
            .expire(&timeline, self.index_ttl as i64)
            .ignore()
            .zadd(&type_timeline, &key, at.timestamp_millis())
            .ignore()
            .expire(&type_timeline, self.index_ttl as i64)
            .ignore()
            .sadd(keys::ERROR_SERVICES, service)
            .ignore();
        self.bump(&mut pipe, &count).exec_async(&mut conn).await?;
        Ok(key)
    }

    /// Adds one to a day's counter, which lives as long as the index.
    fn bump<'a>(&self, pipe: &'a mut redis::Pipeline, count: &str) -> &'a mut redis::Pipeline {
        pipe.incr(count, 1).ignore().expire(count, self.index_ttl as i64).ignore()
    }

    /// Counts one error of `kind` today without keeping a record (expected
    /// failures: wrong codes, refused logins …). One atomic round trip.
    pub async fn count(&self, kind: ErrorKind) -> StoreResult<()> {
        let count = keys::error_count(&self.service, kind.as_str(), Utc::now().date_naive());
        let mut conn = self.conn.clone();
        self.bump(redis::pipe().atomic(), &count).exec_async(&mut conn).await?;
        Ok(())
    }

    /// Counts per type for one service and day, in one MGET.
    pub async fn counts(&self, date: NaiveDate) -> StoreResult<Vec<(ErrorKind, u64)>> {
        let keys: Vec<String> =
            ErrorKind::ALL.iter().map(|k| keys::error_count(&self.service, k.as_str(), date)).collect();
        let mut conn = self.conn.clone();
        let values: Vec<Option<u64>> = conn.mget(&keys).await?;
        Ok(ErrorKind::ALL.iter().copied().zip(values.into_iter().map(Option::unwrap_or_default)).collect())
    }

    /// Reads one record back.
    pub async fn get(&self, key: &str) -> StoreResult<Option<ErrorRecord>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn.get(key).await?;
        raw.map(|json| serde_json::from_str(&json).map_err(|e| super::StoreError::corrupt(key, e.to_string())))
            .transpose()
    }
}

/// Where a group stands with the people on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupState {
    Open,
    Resolved,
    Ignored,
    /// Resolved, then seen again.
    Regressed,
}

/// A group of alike errors (same service, type and folded message).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub service: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The first message seen, as it was.
    pub sample: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: u64,
    pub state: GroupState,
    /// Errors per day, oldest first, over the days asked for.
    pub daily: Vec<u64>,
}

fn group_from(service: &str, id: String, mut h: HashMap<String, String>, daily: Vec<u64>) -> Option<Group> {
    let num = |h: &mut HashMap<String, String>, f: &str| h.remove(f).and_then(|v| v.parse::<i64>().ok());
    let last_seen = num(&mut h, "last_seen")?;
    let state_at = num(&mut h, "state_at").unwrap_or(0);
    let state = match h.get("state").map(String::as_str) {
        Some("resolved") if last_seen > state_at => GroupState::Regressed,
        Some("resolved") => GroupState::Resolved,
        Some("ignored") => GroupState::Ignored,
        _ => GroupState::Open,
    };
    Some(Group {
        id,
        service: service.to_owned(),
        first_seen: num(&mut h, "first_seen").unwrap_or(last_seen),
        last_seen,
        count: num(&mut h, "count").unwrap_or(0).max(0) as u64,
        kind: h.remove("kind").unwrap_or_default(),
        sample: h.remove("sample").unwrap_or_default(),
        state,
        daily,
    })
}

impl ErrorRecorder {
    /// A service's groups, most recently seen first, with their counts on
    /// `days`: three round trips whatever the number of errors.
    pub async fn groups(&self, service: &str, limit: isize, days: &[NaiveDate]) -> StoreResult<Vec<Group>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.zrevrange(keys::error_groups(service), 0, limit - 1).await?;
        self.read_groups(service, ids, days).await
    }

    /// One group, if it is still known.
    pub async fn group(&self, service: &str, id: &str, days: &[NaiveDate]) -> StoreResult<Option<Group>> {
        Ok(self.read_groups(service, vec![id.to_owned()], days).await?.pop())
    }

    async fn read_groups(&self, service: &str, ids: Vec<String>, days: &[NaiveDate]) -> StoreResult<Vec<Group>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(keys::error_group(service, id));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        let count_keys: Vec<String> =
            ids.iter().flat_map(|id| days.iter().map(move |d| keys::error_group_count(service, id, *d))).collect();
        let counts: Vec<Option<u64>> = if count_keys.is_empty() { Vec::new() } else { conn.mget(&count_keys).await? };
        let per_group = days.len();
        Ok(ids
            .into_iter()
            .zip(hashes)
            .enumerate()
            .filter_map(|(i, (id, h))| {
                let daily = counts.get(i * per_group..(i + 1) * per_group).unwrap_or_default();
                group_from(service, id, h, daily.iter().map(|c| c.unwrap_or(0)).collect())
            })
            .collect())
    }

    /// Marks a group resolved, ignored or open again, and keeps it (and its
    /// place in the list) another index TTL from now; false when unknown.
    /// One script: a group that expired meanwhile is not brought back half.
    pub async fn set_group_state(&self, service: &str, id: &str, state: GroupState) -> StoreResult<bool> {
        let state = match state {
            GroupState::Resolved => "resolved",
            GroupState::Ignored => "ignored",
            GroupState::Open | GroupState::Regressed => "open",
        };
        let mut conn = self.conn.clone();
        let changed: i64 = GROUP_STATE
            .key(keys::error_group(service, id))
            .key(keys::error_groups(service))
            .arg(state)
            .arg(Utc::now().timestamp_millis())
            .arg(self.index_ttl)
            .invoke_async(&mut conn)
            .await?;
        Ok(changed == 1)
    }

    /// Up to `want` of a group's error keys after the first `skip`, newest
    /// first, in one round trip.
    pub async fn group_errors(&self, service: &str, id: &str, skip: usize, want: usize) -> StoreResult<Vec<String>> {
        let mut conn = self.conn.clone();
        let start = isize::try_from(skip).unwrap_or(isize::MAX - 1);
        let stop = start.saturating_add(want as isize).saturating_sub(1);
        Ok(conn.zrevrange(keys::error_group_errors(service, id), start, stop).await?)
    }
}

/// A message with what varies between occurrences folded: quoted values,
/// ids (hex runs of 8+ with a digit, UUIDs) and numbers. Errors of one
/// service and type with the same folded message form one group.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if (c == '"' || c == '\'')
            && let Some(end) = chars[i + 1..].iter().position(|&d| d == c)
        {
            out.push(c);
            out.push('…');
            out.push(c);
            i += end + 2;
            continue;
        }
        if c.is_ascii_alphanumeric() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '-') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let hexish = word.len() >= 8
                && word.chars().any(|c| c.is_ascii_digit())
                && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if hexish {
                out.push_str("{id}");
            } else if word.chars().all(|c| c.is_ascii_digit()) {
                out.push_str("{n}");
            } else {
                // Digits inside a word (`order123`) are folded too.
                let mut last_digit = false;
                for ch in word.chars() {
                    if ch.is_ascii_digit() {
                        if !last_digit {
                            out.push_str("{n}");
                        }
                        last_digit = true;
                    } else {
                        out.push(ch);
                        last_digit = false;
                    }
                }
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The group of an error: 16 hex digits of SHA-256 over service, type and
/// the folded message.
pub fn group_id(service: &str, kind: &str, message: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{service}\0{kind}\0{}", normalize(message)).as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A 12-character lowercase alphanumeric id (about 62 bits of randomness).
fn short_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alike_messages_fold_to_one_group() {
        assert_eq!(normalize("Order 123 failed for user 'ann'"), "Order {n} failed for user '…'");
        assert_eq!(
            normalize("Payment 0b1f8a2c-4e1b-4a5e-9a3b-2f6f1c0d9e77 declined: \"card_declined\""),
            "Payment {id} declined: \"…\""
        );
        assert_eq!(normalize("timeout after 30s on db2"), "timeout after {n}s on db{n}");
        assert_eq!(group_id("svc", "t", "Order 1 failed"), group_id("svc", "t", "Order 99 failed"));
        assert_ne!(group_id("svc", "t", "Order 1 failed"), group_id("svc", "u", "Order 1 failed"));
        assert_ne!(group_id("svc", "t", "Order 1 failed"), group_id("svc", "t", "Order 1 shipped"));
        assert_eq!(normalize("unterminated 'quote 5"), "unterminated 'quote {n}");
    }

    #[test]
    fn records_serialise_in_the_seed_shape() {
        let record = ErrorRecord {
            error_id: "abc123".into(),
            service: "user-service".into(),
            kind: "validation".into(),
            message: "Email inválido".into(),
            stack: Some("Error: Email inválido\n    at ...".into()),
            user_id: Some("uuid".into()),
            correlation_id: Some("corr-123".into()),
            timestamp: "2025-01-15T10:30:00Z".into(),
            metadata: ErrorMetadata {
                endpoint: Some("/api/users/123".into()),
                method: Some("PATCH".into()),
                ip_address: Some("192.168.1.1".into()),
            },
        };
        let json: serde_json::Value = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "errorId": "abc123",
                "service": "user-service",
                "type": "validation",
                "message": "Email inválido",
                "stack": "Error: Email inválido\n    at ...",
                "userId": "uuid",
                "correlationId": "corr-123",
                "timestamp": "2025-01-15T10:30:00Z",
                "metadata": {"endpoint": "/api/users/123", "method": "PATCH", "ipAddress": "192.168.1.1"}
            })
        );
    }

    #[test]
    fn ids_are_short_and_distinct() {
        let a = short_id();
        assert_eq!(a.len(), 12);
        assert_ne!(a, short_id());
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let s = truncate("é".repeat(3000));
        assert!(s.len() <= MAX_TEXT + 3);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn chains_list_every_cause() {
        let inner = std::io::Error::other("disk on fire");
        let outer = crate::store::StoreError::corrupt("k", "bad");
        let e = NewError::new(ErrorKind::Internal, "x").with_chain(&outer);
        assert_eq!(e.stack.as_deref(), Some("record k is malformed: bad"));
        let e = NewError::new(ErrorKind::Internal, "x").with_chain(&inner);
        assert_eq!(e.stack.as_deref(), Some("disk on fire"));
    }
}
