//! The JWT revocation list, `token:blacklist:{tokenId}` (README: "Redis schema"): JSON
//! `tokenId userId revokedAt expiresAt`, kept for the token's remaining
//! lifetime. A revoked family is listed under its family id.

use super::StoreResult;
use crate::keys;
use redis::Script;
use redis::aio::ConnectionManager;
use serde::Serialize;
use std::sync::LazyLock;
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

static ROTATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rotate_refresh.lua")));

/// What spending a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// First use: the token is now listed.
    Rotated,
    /// The family was revoked before (logout, an earlier reuse).
    FamilyRevoked,
    /// The token was used before: someone holds a copy. The family is now revoked.
    Reused,
}

/// Spends a refresh token: checks its family, lists the token, and on reuse
/// revokes the family, in one atomic script.
pub async fn rotate(
    conn: &ConnectionManager,
    token: &Revocation,
    family: &Revocation,
    now: i64,
) -> StoreResult<Rotation> {
    let (Some((token_key, token_json, token_ttl)), Some((family_key, family_json, family_ttl))) =
        (entry(token, now), entry(family, now))
    else {
        return Ok(Rotation::FamilyRevoked); // already dead
    };
    let mut conn = conn.clone();
    let status: String = ROTATE
        .key(token_key)
        .key(family_key)
        .arg(token_json)
        .arg(token_ttl)
        .arg(family_json)
        .arg(family_ttl)
        .invoke_async(&mut conn)
        .await?;
    super::script_outcome("rotate_refresh", (status, 0), |status, _| match status {
        "rotated" => Some(Rotation::Rotated),
        "family_revoked" => Some(Rotation::FamilyRevoked),
        "reused" => Some(Rotation::Reused),
        _ => None,
    })
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

/// [`standing`] and the user's `user:{userId}` cache entry, in the same
/// round trip: what `GET /api/me` needs.
pub async fn standing_and_cache(
    conn: &ConnectionManager,
    ids: &[Uuid],
    user: Uuid,
) -> StoreResult<(bool, Option<u64>, Option<String>)> {
    let keys: Vec<String> = ids.iter().map(keys::token_blacklist).collect();
    let mut conn = conn.clone();
    let (listed, epoch, cached): (u64, Option<u64>, Option<String>) = redis::pipe()
        .cmd("EXISTS")
        .arg(keys)
        .hget(keys::account(user), "session_epoch")
        .get(keys::user_cache(user))
        .query_async(&mut conn)
        .await?;
    Ok((listed > 0, epoch, cached))
}
