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
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
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
