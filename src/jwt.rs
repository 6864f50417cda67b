//! JSON Web Tokens for API clients: HS256 only, with a key derived from
//! `APP_SECRET`. Access tokens live 20 minutes, refresh tokens 7 days; every
//! token has a `jti` (its id, for the blacklist) and a `fam` (the login it
//! descends from, so a stolen refresh token can revoke its whole family).

use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

pub const ACCESS_TTL: i64 = 1_200;
pub const REFRESH_TTL: i64 = 604_800;
const ISSUER: &str = "keyhold";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub jti: Uuid,
    pub fam: Uuid,
    pub typ: TokenType,
    /// The account's session epoch when issued: a password change ends
    /// token families too.
    pub sep: u64,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed, wrongly signed or of the wrong kind")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
}

/// Signing and checking keys, derived once from the app secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn from_secret(secret: &SecretString) -> Self {
        let key = match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
            Ok(mut mac) => {
                mac.update(b"keyhold-jwt-hs256-v1");
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => secret.expose_secret().as_bytes().to_vec(),
        };
        Self { encoding: EncodingKey::from_secret(&key), decoding: DecodingKey::from_secret(&key) }
    }

    /// Signs a new token of `typ` for the user, in `family`.
    pub fn issue(&self, user: Uuid, family: Uuid, sep: u64, typ: TokenType, now: i64) -> (String, Claims) {
        let ttl = match typ {
            TokenType::Access => ACCESS_TTL,
            TokenType::Refresh => REFRESH_TTL,
        };
        let claims = Claims {
            sub: user,
            jti: Uuid::new_v4(),
            fam: family,
            typ,
            sep,
            iss: ISSUER.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl,
        };
        // HS256 over our own claims cannot fail.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default();
        (token, claims)
    }

    /// Checks signature, algorithm (HS256 only: `none` and RS256 headers are
    /// refused), issuer, `exp`, `nbf` and the token type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "iss"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        if data.claims.typ != expected {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    fn keys() -> TokenKeys {
        TokenKeys::from_secret(&SecretString::from("k".repeat(32)))
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn issued_tokens_verify_with_their_type() {
        let (token, claims) = keys().issue(Uuid::now_v7(), Uuid::new_v4(), 3, TokenType::Access, now());
        assert_eq!(keys().verify(&token, TokenType::Access), Ok(claims.clone()));
        assert_eq!(claims.exp - claims.iat, ACCESS_TTL);
        assert_eq!(keys().verify(&token, TokenType::Refresh), Err(TokenError::Invalid), "no refresh as access");
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let (old, _) = keys().issue(Uuid::now_v7(), Uuid::new_v4(), 0, TokenType::Access, now() - ACCESS_TTL - 60);
        assert_eq!(keys().verify(&old, TokenType::Access), Err(TokenError::Expired));
        let (future, _) = keys().issue(Uuid::now_v7(), Uuid::new_v4(), 0, TokenType::Access, now() + 600);
        assert_eq!(keys().verify(&future, TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn other_keys_and_algorithms_are_refused() {
        let (token, claims) = keys().issue(Uuid::now_v7(), Uuid::new_v4(), 0, TokenType::Access, now());
        let other = TokenKeys::from_secret(&SecretString::from("z".repeat(32)));
        assert_eq!(other.verify(&token, TokenType::Access), Err(TokenError::Invalid));

        let payload = B64.encode(serde_json::to_vec(&claims).unwrap());
        for header in
            [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"RS256","typ":"JWT"}"#, r#"{"alg":"HS512","typ":"JWT"}"#]
        {
            let forged = format!("{}.{payload}.{}", B64.encode(header), token.rsplit('.').next().unwrap());
            assert_eq!(keys().verify(&forged, TokenType::Access), Err(TokenError::Invalid), "{header}");
            let unsigned = format!("{}.{payload}.", B64.encode(header));
            assert_eq!(keys().verify(&unsigned, TokenType::Access), Err(TokenError::Invalid), "{header}");
        }
        assert_eq!(keys().verify("not.a.jwt", TokenType::Access), Err(TokenError::Invalid));
    }
}
