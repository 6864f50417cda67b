//! The key census (`stats:keys`): how many keys of each kind Redis holds,
//! counted by a background job with SCAN so that the monitoring panel reads
//! one HASH instead of scanning on the request path.

use super::StoreResult;
use crate::keys::{self, KeyKind};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use std::collections::BTreeMap;

/// Keys SCAN returns per round trip, about.
const SCAN_COUNT: usize = 1_000;

/// One census: the counts per kind and when they were taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    pub counts: BTreeMap<KeyKind, u64>,
    pub total: u64,
    /// When the count finished (ms since the epoch); none before the first.
    pub counted_at: Option<i64>,
}

/// Walks the whole keyspace with SCAN (never KEYS: Redis keeps serving
/// between batches) and counts each key by kind.
pub async fn count(conn: &ConnectionManager) -> StoreResult<Census> {
    let mut conn = conn.clone();
    let mut census = Census::default();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(SCAN_COUNT).query_async(&mut conn).await?;
        for key in &batch {
            *census.counts.entry(KeyKind::of(key)).or_default() += 1;
        }
        // SCAN may return a key twice while the keyspace rehashes: a census is
        // an estimate of that order, which is all the panel claims.
        census.total += batch.len() as u64;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    census.counted_at = Some(chrono::Utc::now().timestamp_millis());
    Ok(census)
}

/// Replaces `stats:keys` with `census`: one HSET of every field (the set of
/// fields never changes), so readers never see half a census.
pub async fn save(conn: &ConnectionManager, census: &Census) -> StoreResult<()> {
    let mut conn = conn.clone();
    let mut fields: Vec<(&str, i64)> =
        KeyKind::ALL.iter().map(|k| (k.field(), census.counts.get(k).copied().unwrap_or(0) as i64)).collect();
    fields.push(("total", census.total as i64));
    fields.push(("counted_at", census.counted_at.unwrap_or(0)));
    let _: () = conn.hset_multiple(keys::STATS_KEYS, &fields).await?;
    Ok(())
}

/// The census as `stats:keys` holds it (as HGETALL answered it).
pub fn parse(fields: &std::collections::HashMap<String, i64>) -> Census {
    let get = |f: &str| fields.get(f).copied().unwrap_or(0).max(0) as u64;
    Census {
        counts: KeyKind::ALL.iter().map(|k| (*k, get(k.field()))).collect(),
        total: get("total"),
        counted_at: fields.get("counted_at").copied().filter(|t| *t > 0),
    }
}

/// The last census, in one HGETALL.
pub async fn load(conn: &ConnectionManager) -> StoreResult<Census> {
    let mut conn = conn.clone();
    let fields: std::collections::HashMap<String, i64> = conn.hgetall(keys::STATS_KEYS).await?;
    Ok(parse(&fields))
}
