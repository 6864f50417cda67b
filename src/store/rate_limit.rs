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

/// Counts one attempt on every key at once (INCR, EXPIRE NX, TTL in one
/// atomic round trip) and answers the longest wait if any key is now over
/// its maximum. Counting before the work means parallel requests cannot all
/// slip through on a stale count.
pub async fn count_all(conn: &ConnectionManager, keys: &[(&str, u64)], window: u64) -> StoreResult<Option<u64>> {
    let mut conn = conn.clone();
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (key, _) in keys {
        pipe.incr(*key, 1).cmd("EXPIRE").arg(*key).arg(window).arg("NX").ignore().ttl(*key);
    }
    let values: Vec<(u64, i64)> = pipe.query_async(&mut conn).await?;
    Ok(keys.iter().zip(values).filter_map(|((_, max), (count, ttl))| (count > *max).then_some(ttl.max(1) as u64)).max())
}

/// Takes back counted attempts after a success: `clear` keys are deleted,
/// `undo` keys lose the one attempt.
pub async fn forgive(conn: &ConnectionManager, clear: &[&str], undo: &[&str]) -> StoreResult<()> {
    let mut conn = conn.clone();
    let mut pipe = redis::pipe();
    pipe.atomic();
    for key in clear {
        pipe.del(*key).ignore();
    }
    for key in undo {
        pipe.decr(*key, 1).ignore();
    }
    pipe.exec_async(&mut conn).await?;
    Ok(())
}
