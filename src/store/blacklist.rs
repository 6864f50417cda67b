//! The JWT revocation list, `token:blacklist:{tokenId}` (README: "Redis schema"): JSON
//! `tokenId userId revokedAt expiresAt`, kept for the token's remaining
//! lifetime. A revoked family is listed under its family id.

use super::StoreResult;
use crate::keys;
use redis::aio::ConnectionManager;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    token_id: String,
    user_id: String,
    revoked_at: String,
    expires_at: String,
}

/// What to revoke: an id (a token's `jti` or a family) until `expires_at`.
pub struct Revocation {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Unix seconds.
    pub expires_at: i64,
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn entry(r: &Revocation, now: i64) -> Option<(String, String, u64)> {
    let ttl = r.expires_at - now;
    if ttl <= 0 {
        return None; // already dead: nothing to remember
    }
    let json = serde_json::to_string(&Entry {
        token_id: r.id.to_string(),
        user_id: r.user_id.to_string(),
        revoked_at: rfc3339(now),
        expires_at: rfc3339(r.expires_at),
    })
    .ok()?;
    Some((keys::token_blacklist(r.id), json, ttl as u64))
}

/// Lists the ids, each for its remaining lifetime, in one atomic step.
pub async fn revoke(conn: &ConnectionManager, revocations: &[Revocation], now: i64) -> StoreResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (key, json, ttl) in revocations.iter().filter_map(|r| entry(r, now)) {
        pipe.set_ex(key, json, ttl).ignore();
    }
    let mut conn = conn.clone();
    pipe.exec_async(&mut conn).await?;
    Ok(())
}

/// Lists the id only if it was not listed yet (SET NX); false means it
/// already was: a refresh token presented twice.
pub async fn revoke_once(conn: &ConnectionManager, r: &Revocation, now: i64) -> StoreResult<bool> {
    let Some((key, json, ttl)) = entry(r, now) else { return Ok(false) };
    let mut conn = conn.clone();
    let set: Option<String> =
        redis::cmd("SET").arg(key).arg(json).arg("EX").arg(ttl).arg("NX").query_async(&mut conn).await?;
    Ok(set.is_some())
}

/// Whether any of the ids is listed (one EXISTS).
pub async fn any_revoked(conn: &ConnectionManager, ids: &[Uuid]) -> StoreResult<bool> {
    let keys: Vec<String> = ids.iter().map(keys::token_blacklist).collect();
    let mut conn = conn.clone();
    let n: u64 = redis::cmd("EXISTS").arg(keys).query_async(&mut conn).await?;
    Ok(n > 0)
}

/// Whether any of the ids is listed, and the account's session epoch (None
/// when the account is gone), in one round trip.
pub async fn standing(conn: &ConnectionManager, ids: &[Uuid], user: Uuid) -> StoreResult<(bool, Option<u64>)> {
    let keys: Vec<String> = ids.iter().map(keys::token_blacklist).collect();
    let mut conn = conn.clone();
    let (listed, epoch): (u64, Option<u64>) =
        redis::pipe().cmd("EXISTS").arg(keys).hget(keys::account(user), "session_epoch").query_async(&mut conn).await?;
    Ok((listed > 0, epoch))
}
