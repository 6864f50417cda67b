//! Fixed-window counters (`username_status_req:{ip_addr}`, `login_fail:…`, …).

use super::StoreResult;
use redis::Script;
use redis::aio::ConnectionManager;
use std::sync::LazyLock;

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

static THROTTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/throttle.lua")));
static FORGIVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/forgive.lua")));

/// Counts one attempt on every `(key, limit, window)` at once, before the
/// work it guards (so parallel attempts cannot all slip through on a stale
/// count), unless a key is already at its limit: then nothing is counted
/// and the answer is the longest wait. One atomic script.
pub async fn attempt(conn: &ConnectionManager, limits: &[(&str, u64, u64)]) -> StoreResult<Decision> {
    let mut invocation = THROTTLE.prepare_invoke();
    for (key, max, window) in limits {
        invocation.key(*key).arg(*max).arg(*window);
    }
    let mut conn = conn.clone();
    let wait: u64 = invocation.invoke_async(&mut conn).await?;
    Ok(if wait == 0 { Decision::Allowed } else { Decision::Limited { retry_after: wait } })
}

/// Takes back counted attempts after a success: `clear` keys are deleted,
/// `undo` keys lose one attempt if they still count any (a DECR on an
/// expired counter would recreate it without a TTL). One atomic script.
pub async fn forgive(conn: &ConnectionManager, clear: &[&str], undo: &[&str]) -> StoreResult<()> {
    let mut invocation = FORGIVE.prepare_invoke();
    invocation.arg(clear.len());
    for key in clear.iter().chain(undo) {
        invocation.key(*key);
    }
    let mut conn = conn.clone();
    let _: i64 = invocation.invoke_async(&mut conn).await?;
    Ok(())
}
