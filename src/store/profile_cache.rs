//! The cache-aside view of an account, `user:{userId}` (README: "Redis schema"): reads
//! try the cache, a miss builds the view from `account:{user_id}` and stores
//! it for `REDIS_CACHE_TTL` seconds. Every account write deletes the entry in
//! the same atomic step (see [`super::accounts::write`]). The view never holds
//! a password hash, code, token or session data; the bank account number is
//! masked.

use super::accounts::{self, Account};
use super::{StoreError, StoreResult};
use crate::domain::Preferences;
use crate::keys;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

static FILL: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/fill_cache.lua")));

/// The documented JSON shape (README: "Redis schema") plus `username`, `phone`, `role` and `preferences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub address: Option<String>,
    pub banking_details: Option<BankingDetails>,
    pub profile_picture_url: Option<String>,
    pub cached_at: String,
    pub username: String,
    pub phone: Option<String>,
    pub role: String,
    pub preferences: Option<serde_json::Value>,
    /// False while an SMS registration's address awaits confirmation.
    #[serde(default = "yes")]
    pub email_verified: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankingDetails {
    pub agency: String,
    /// Masked: only the last characters (`•••45-6`).
    pub account_number: String,
}

impl CachedUser {
    pub fn from_account(account: &Account) -> Self {
        let banking_details = account
            .banking
            .as_ref()
            .map(|b| BankingDetails { agency: b.agency.to_string(), account_number: b.account.masked() });
        Self {
            id: account.id.to_string(),
            name: account.name.to_string(),
            email: account.email.to_string(),
            address: account.address.as_ref().map(ToString::to_string),
            banking_details,
            profile_picture_url: account.profile_picture_url.clone(),
            cached_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            username: account.username.to_string(),
            phone: account.phone.as_ref().map(ToString::to_string),
            role: account.role.to_string(),
            preferences: Some(account.preferences.as_value()).filter(|_| !account.preferences.is_empty()),
            email_verified: account.email_verified,
        }
    }

    /// The preferences with their defaults filled in.
    pub fn preferences(&self) -> Preferences {
        self.preferences.as_ref().map(|p| Preferences::from_stored(&p.to_string())).unwrap_or_default()
    }
}

/// Hit and miss counts, kept in memory and added to `stats:cache` by a
/// background task, so that counting adds no round trip to a page.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the counts so far to `stats:cache` (one round trip) and starts
    /// counting from zero; on failure the counts are kept for the next try.
    pub async fn flush(&self, conn: &ConnectionManager) -> StoreResult<()> {
        let hits = self.hits.swap(0, Ordering::Relaxed);
        let misses = self.misses.swap(0, Ordering::Relaxed);
        if hits == 0 && misses == 0 {
            return Ok(());
        }
        let mut conn = conn.clone();
        // Since start, and per UTC hour (kept two hours) for "the last hour".
        let hour = keys::stats_cache_hour(chrono::Utc::now());
        let result = redis::pipe()
            .atomic()
            .hincr(keys::STATS_CACHE, "hits", hits)
            .ignore()
            .hincr(keys::STATS_CACHE, "misses", misses)
            .ignore()
            .hincr(&hour, "hits", hits)
            .ignore()
            .hincr(&hour, "misses", misses)
            .ignore()
            .expire(&hour, 2 * 3_600)
            .ignore()
            .exec_async(&mut conn)
            .await;
        if let Err(e) = result {
            self.hits.fetch_add(hits, Ordering::Relaxed);
            self.misses.fetch_add(misses, Ordering::Relaxed);
            return Err(e.into());
        }
        Ok(())
    }

    pub fn spawn_flusher(stats: std::sync::Arc<Self>, conn: ConnectionManager, every: Duration) {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = stats.flush(&conn).await {
                    tracing::debug!(error = %e, "cache statistics not flushed yet");
                }
            }
        });
    }
}

/// The view of an account, from the cache when it is there.
pub async fn get(conn: &ConnectionManager, stats: &CacheStats, id: Uuid, ttl: u64) -> StoreResult<Option<CachedUser>> {
    let mut c = conn.clone();
    let cached: Option<String> = c.get(keys::user_cache(id)).await?;
    from_read(conn, stats, id, ttl, cached).await
}

/// The same, given what `GET user:{userId}` answered earlier in a pipeline
/// with other reads (`/api/me`, pages): no round trip on a hit.
pub async fn from_read(
    conn: &ConnectionManager,
    stats: &CacheStats,
    id: Uuid,
    ttl: u64,
    cached: Option<String>,
) -> StoreResult<Option<CachedUser>> {
    let key = keys::user_cache(id);
    let mut c = conn.clone();
    if let Some(json) = cached {
        match serde_json::from_str(&json) {
            Ok(user) => {
                stats.hit();
                return Ok(Some(user));
            }
            Err(e) => tracing::warn!(key, error = %e, "unreadable cache entry replaced"),
        }
    }
    stats.miss();
    let Some(account) = accounts::get(conn, id).await? else {
        return Ok(None);
    };
    let view = CachedUser::from_account(&account);
    let json = serde_json::to_string(&view).map_err(|e| StoreError::corrupt(&key, e.to_string()))?;
    let _filled: i64 =
        FILL.key(&key).key(keys::account(id)).arg(json).arg(ttl).arg(&account.updated_at).invoke_async(&mut c).await?;
    Ok(Some(view))
}
