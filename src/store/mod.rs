//! Data access, one module per aggregate. Every multi-key write is one atomic
//! pipeline or Lua script; reads that need several keys are one round trip.

pub mod accounts;
pub mod blacklist;
pub mod error_log;
pub mod job_lock;
pub mod key_census;
pub mod payments;
pub mod pending;
pub mod profile_cache;
pub mod rate_limit;
pub mod uploads;

use redis::{ErrorKind, RedisError};

/// The store layer's error. `Unavailable` means Redis could not be reached
/// (the caller answers 503 and the health monitor takes over).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis is unavailable")]
    Unavailable(#[source] RedisError),
    /// The health monitor's last PING went unanswered.
    #[error("redis did not answer the health check")]
    Unhealthy,
    #[error("redis command failed")]
    Redis(#[source] RedisError),
    #[error("record {key} is malformed: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("script {script} answered an unknown status `{status}`")]
    UnknownStatus { script: &'static str, status: String },
}

impl From<RedisError> for StoreError {
    fn from(err: RedisError) -> Self {
        let unreachable = err.is_io_error()
            || err.is_connection_refusal()
            || err.is_timeout()
            || err.is_connection_dropped()
            || matches!(err.kind(), ErrorKind::AuthenticationFailed)
            || matches!(err.code(), Some("LOADING" | "MASTERDOWN" | "BUSY"));
        if unreachable { Self::Unavailable(err) } else { Self::Redis(err) }
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Unhealthy)
    }

    pub(crate) fn corrupt(key: &str, reason: impl Into<String>) -> Self {
        Self::Corrupt { key: key.to_owned(), reason: reason.into() }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Parses a Lua script's `{status, n}` answer into a typed outcome. A status
/// the caller does not know is an error, never a silent default.
pub(crate) fn script_outcome<T>(
    script: &'static str,
    (status, n): (String, i64),
    parse: impl FnOnce(&str, i64) -> Option<T>,
) -> StoreResult<T> {
    parse(&status, n).ok_or(StoreError::UnknownStatus { script, status })
}
