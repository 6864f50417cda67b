//! `lock:job:{name}`: a lease, so that with several Keyhold instances on one
//! Redis only one runs a job at a time. The lease expires by itself if its
//! holder dies; a holder releases only its own lease.

use super::StoreResult;
use crate::keys;
use redis::Script;
use redis::aio::ConnectionManager;
use std::sync::LazyLock;

static UNLOCK: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/job_unlock.lua")));
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/job_renew.lua")));

/// Takes the lease for `lease_ms` unless someone holds it; whether taken.
pub async fn acquire(conn: &ConnectionManager, job: &str, holder: &str, lease_ms: u64) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let taken: Option<String> = redis::cmd("SET")
        .arg(keys::job_lock(job))
        .arg(holder)
        .arg("NX")
        .arg("PX")
        .arg(lease_ms)
        .query_async(&mut conn)
        .await?;
    Ok(taken.is_some())
}

/// Extends the lease by `lease_ms` if `holder` still has it; whether it did.
/// A long run renews as it goes, so its lease can stay short.
pub async fn renew(conn: &ConnectionManager, job: &str, holder: &str, lease_ms: u64) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let renewed: i64 = RENEW.key(keys::job_lock(job)).arg(holder).arg(lease_ms).invoke_async(&mut conn).await?;
    Ok(renewed == 1)
}

/// Gives the lease back if `holder` still has it.
pub async fn release(conn: &ConnectionManager, job: &str, holder: &str) -> StoreResult<()> {
    let mut conn = conn.clone();
    let _: i64 = UNLOCK.key(keys::job_lock(job)).arg(holder).invoke_async(&mut conn).await?;
    Ok(())
}
