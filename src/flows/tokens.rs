//! The JWT API's flows: log in for a token pair, rotate it, log out, and
//! authenticate a request. Refresh tokens are single-use: presenting a
//! rotated one again revokes its whole family (someone copied it).

use super::{Core, FlowError, login, unix_now};
use crate::jwt::{ACCESS_TTL, Claims, REFRESH_TTL, TokenError, TokenType};
use crate::store::accounts::{self, Account};
use crate::store::blacklist::{self, Revocation, Rotation};
use std::net::IpAddr;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
}

fn pair(core: &Core, account: &Account, family: Uuid) -> TokenPair {
    let now = unix_now();
    let keys = &core.tokens;
    let (access_token, _) = keys.issue(account.id, family, account.session_epoch, TokenType::Access, now);
    let (refresh_token, _) = keys.issue(account.id, family, account.session_epoch, TokenType::Refresh, now);
    TokenPair { access_token, refresh_token, expires_in: ACCESS_TTL, refresh_expires_in: REFRESH_TTL }
}

/// Email or username and password, with the login form's throttles.
pub async fn issue(core: &Core, identifier: &str, password: &str, ip: IpAddr) -> Result<TokenPair, FlowError> {
    let account = login::check_password(core, identifier, password, ip).await?;
    Ok(pair(core, &account, Uuid::new_v4()))
}

fn revocation(claims: &Claims) -> Revocation {
    Revocation { id: claims.jti, user_id: claims.sub, expires_at: claims.exp }
}

/// A new pair for a refresh token, which is revoked on the way.
pub async fn refresh(core: &Core, refresh_token: &str) -> Result<TokenPair, FlowError> {
    let claims = core.tokens.verify(refresh_token, TokenType::Refresh)?;
    let now = unix_now();
    // No token of the family outlives a refresh token issued just now.
    let family = Revocation { id: claims.fam, user_id: claims.sub, expires_at: now + REFRESH_TTL };
    match blacklist::rotate(&core.redis, &revocation(&claims), &family, now).await? {
        Rotation::Rotated => {}
        Rotation::FamilyRevoked => return Err(TokenError::Revoked.into()),
        Rotation::Reused => {
            // Whoever holds the newer tokens may be a thief: all of them ended.
            tracing::warn!(user = %claims.sub, "refresh token reused; its family is revoked");
            return Err(FlowError::TokenReused);
        }
    }
    match accounts::get(&core.redis, claims.sub).await? {
        Some(account) if account.session_epoch == claims.sep => Ok(pair(core, &account, claims.fam)),
        _ => Err(TokenError::Revoked.into()),
    }
}

/// Ends the login the presented tokens belong to: their ids and their whole
/// family are revoked. Either token may be absent or already expired (a
/// client often logs out with a stale access token); at least one must be
/// genuine.
pub async fn logout(core: &Core, access: Option<&str>, refresh: Option<&str>) -> Result<(), FlowError> {
    let checked = [(access, TokenType::Access), (refresh, TokenType::Refresh)]
        .into_iter()
        .filter_map(|(token, typ)| token.map(|t| core.tokens.verify(t, typ)))
        .collect::<Vec<_>>();
    let mut revoked = Vec::new();
    for claims in checked.iter().flatten() {
        revoked.push(revocation(claims));
        // No token of the family outlives a refresh token issued just now.
        let family = Revocation { id: claims.fam, user_id: claims.sub, expires_at: unix_now() + REFRESH_TTL };
        if !revoked.iter().any(|r: &Revocation| r.id == family.id) {
            revoked.push(family);
        }
    }
    if revoked.is_empty() {
        let first_error = checked.into_iter().find_map(Result::err);
        return Err(first_error.unwrap_or(TokenError::Missing).into());
    }
    blacklist::revoke(&core.redis, &revoked, unix_now()).await?;
    Ok(())
}

/// The profile of the user an access token speaks for (`GET /api/me`),
/// under the same rules as [`verify_access`]: the revocation list, the
/// session epoch and the cache entry are read in one round trip.
pub async fn me(core: &Core, access: Option<&str>) -> Result<crate::store::profile_cache::CachedUser, FlowError> {
    let token = access.ok_or(TokenError::Missing)?;
    let claims = core.tokens.verify(token, TokenType::Access)?;
    match blacklist::standing_and_cache(&core.redis, &[claims.jti, claims.fam], claims.sub).await? {
        (false, Some(epoch), cached) if epoch == claims.sep => {
            super::profile::view_from_read(core, claims.sub, cached).await
        }
        _ => Err(TokenError::Revoked.into()),
    }
}

/// The user an access token speaks for, unless it or its family is
/// revoked or the password changed since it was issued.
pub async fn verify_access(core: &Core, access: Option<&str>) -> Result<Uuid, FlowError> {
    let token = access.ok_or(TokenError::Missing)?;
    let claims = core.tokens.verify(token, TokenType::Access)?;
    match blacklist::standing(&core.redis, &[claims.jti, claims.fam], claims.sub).await? {
        (false, Some(epoch)) if epoch == claims.sep => Ok(claims.sub),
        _ => Err(TokenError::Revoked.into()),
    }
}
