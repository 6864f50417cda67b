//! The monitoring panel (seed 003 §5, README: "Error log"): cache hit and
//! miss rates, Redis memory and load, key counts Keyhold can read without
//! scanning, and today's errors; plus the cache actions, done safely.

use super::{Core, FieldErrors, FlowError};
use crate::keys;
use crate::store::StoreError;
use crate::store::accounts::{self, LoginName};
use chrono::{Duration, Utc};
use redis::AsyncCommands;
use std::collections::HashMap;
use uuid::Uuid;

/// Hits and misses, and the hit rate in percent (none without reads).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rate {
    pub hits: u64,
    pub misses: u64,
    pub hit_rate: Option<f64>,
}

impl Rate {
    fn from(h: &HashMap<String, u64>) -> Self {
        let (hits, misses) = (h.get("hits").copied().unwrap_or(0), h.get("misses").copied().unwrap_or(0));
        let total = hits + misses;
        Self { hits, misses, hit_rate: (total > 0).then(|| hits as f64 * 100.0 / total as f64) }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    pub cache_since_start: Rate,
    pub cache_last_hour: Rate,
    /// From `INFO`: name → value, for the fields the panel shows.
    pub redis: Vec<(String, String)>,
    /// Counts read from indexes and the last key census (no KEYS or SCAN
    /// on the request path).
    pub keys: Vec<(String, u64)>,
    /// When the key census behind `keys` was taken (ms), none before the first.
    pub keys_counted_at: Option<i64>,
    /// Today's errors of this service, per type.
    pub errors_today: Vec<(String, u64)>,
}

const INFO_FIELDS: &[&str] = &[
    "used_memory_human",
    "used_memory_peak_human",
    "maxmemory_human",
    "maxmemory_policy",
    "instantaneous_ops_per_sec",
    "connected_clients",
    "aof_enabled",
    "aof_last_write_status",
    "redis_version",
    "uptime_in_days",
];

/// The pipeline's answer: cache counters (since start, this hour, the hour
/// before), `INFO`, four counts, and the key census.
type Reply = (Counters, Counters, Counters, String, u64, u64, u64, u64, HashMap<String, i64>);
type Counters = HashMap<String, u64>;

/// Everything the panel shows, in two round trips.
pub async fn snapshot(core: &Core) -> Result<Snapshot, FlowError> {
    let now = Utc::now();
    let today = now.date_naive();
    let mut conn = core.redis.clone();
    let (total, this_hour, last_hour, info, dbsize, uploads, services, errors_today, census): Reply = redis::pipe()
        .hgetall(keys::STATS_CACHE)
        .hgetall(keys::stats_cache_hour(now))
        .hgetall(keys::stats_cache_hour(now - Duration::hours(1)))
        .cmd("INFO")
        .arg("all")
        .cmd("DBSIZE")
        .zcard(keys::UPLOAD_REQUESTS)
        .scard(keys::ERROR_SERVICES)
        .scard(keys::error_index(core.errors.service(), today))
        .hgetall(keys::STATS_KEYS)
        .query_async(&mut conn)
        .await
        .map_err(StoreError::from)?;
    // The current hour and the one before: the last hour, give or take.
    let mut hour = this_hour;
    for (k, v) in last_hour {
        *hour.entry(k).or_default() += v;
    }
    let info: HashMap<&str, &str> = info.lines().filter_map(|l| l.trim().split_once(':')).collect();
    let redis = INFO_FIELDS.iter().map(|f| ((*f).to_owned(), info.get(f).copied().unwrap_or("—").to_owned())).collect();
    let counts = core.errors.counts(today).await?;
    let census = crate::store::key_census::parse(&census);
    Ok(Snapshot {
        cache_since_start: Rate::from(&total),
        cache_last_hour: Rate::from(&hour),
        redis,
        keys: [
            ("All keys (DBSIZE)".to_owned(), dbsize),
            ("Open upload requests".to_owned(), uploads),
            ("Services reporting errors".to_owned(), services),
            ("Error records kept today".to_owned(), errors_today),
        ]
        .into_iter()
        .chain(census.counts.iter().map(|(kind, n)| (kind.label().to_owned(), *n)))
        .collect(),
        keys_counted_at: census.counted_at,
        errors_today: counts.into_iter().map(|(k, n)| (k.as_str().to_owned(), n)).collect(),
    })
}

/// Drops one user's `user:{userId}` entry; the next read refills it.
pub async fn drop_user_cache(core: &Core, admin: Uuid, who: &str) -> Result<(), FlowError> {
    let name = LoginName::parse(who)
        .ok_or_else(|| FlowError::Invalid(FieldErrors::single("user", "Enter an email or a username.")))?;
    let Some(id) = accounts::find_id(&core.redis, &name).await? else {
        return Err(FlowError::Invalid(FieldErrors::single("user", "No account has this email or username.")));
    };
    let mut conn = core.redis.clone();
    let _: i64 = conn.del(keys::user_cache(id)).await.map_err(StoreError::from)?;
    tracing::info!(target: "audit", %admin, user_id = %id, "user cache entry dropped");
    Ok(())
}

/// Drops every `user:{userId}` entry, in batches of 500 (SCAN + UNLINK):
/// never FLUSHDB, never one long blocking command. Returns how many went.
pub async fn drop_all_user_caches(core: &Core, admin: Uuid) -> Result<u64, FlowError> {
    let mut conn = core.redis.clone();
    let mut cursor: u64 = 0;
    let mut dropped = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(keys::user_cache("*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .map_err(StoreError::from)?;
        if !batch.is_empty() {
            let n: u64 = redis::cmd("UNLINK").arg(&batch).query_async(&mut conn).await.map_err(StoreError::from)?;
            dropped += n;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    tracing::info!(target: "audit", %admin, dropped, "all user cache entries dropped");
    Ok(dropped)
}
