//! Fixed-window counters (`username_status_req:{ip_addr}`, `login_fail:…`).

use super::StoreResult;
use redis::aio::ConnectionManager;

/// The outcome of counting one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after: u64,
    },
}

/// Counts one hit on `key` and decides against `max` per `window` seconds.
/// INCR, EXPIRE NX and TTL go in one atomic round trip, so the window starts
/// with the first hit and a crash can never leave a counter without a TTL.
pub async fn hit(conn: &ConnectionManager, key: &str, max: u64, window: u64) -> StoreResult<Decision> {
    let mut conn = conn.clone();
    let (count, ttl): (u64, i64) = redis::pipe()
        .atomic()
        .incr(key, 1)
        .cmd("EXPIRE")
        .arg(key)
        .arg(window)
        .arg("NX")
        .ignore()
        .ttl(key)
        .query_async(&mut conn)
        .await?;
    Ok(if count > max { Decision::Limited { retry_after: ttl.max(1) as u64 } } else { Decision::Allowed })
}

/// Reads counters without counting: for each key, `Some(retry_after)` when
/// it is at or over `max`. One round trip.
pub async fn over_limit(conn: &ConnectionManager, keys: &[(&str, u64)]) -> StoreResult<Option<u64>> {
    let mut conn = conn.clone();
    let mut pipe = redis::pipe();
    for (key, _) in keys {
        pipe.get(*key).ttl(*key);
    }
    let values: Vec<(Option<u64>, i64)> = pipe.query_async(&mut conn).await?;
    Ok(keys
        .iter()
        .zip(values)
        .filter_map(|((_, max), (count, ttl))| (count.unwrap_or(0) >= *max).then_some(ttl.max(1) as u64))
        .max())
}

/// Counts a failure on every key, each with its own window start.
pub async fn record(conn: &ConnectionManager, keys: &[&str], window: u64) -> StoreResult<()> {
    let mut conn = conn.clone();
    let mut pipe = redis::pipe();
    pipe.atomic();
    for key in keys {
        pipe.incr(*key, 1).ignore().cmd("EXPIRE").arg(*key).arg(window).arg("NX").ignore();
    }
    pipe.exec_async(&mut conn).await?;
    Ok(())
}

/// Forgets the counters (after a successful login).
pub async fn clear(conn: &ConnectionManager, keys: &[&str]) -> StoreResult<()> {
    let mut conn = conn.clone();
    redis::cmd("DEL").arg(keys).exec_async(&mut conn).await?;
    Ok(())
}
