//! Password hashing with argon2id (m=19456 KiB, t=2, p=1) on blocking threads,
//! and the session fingerprint derived from a password hash.

use crate::domain::Password;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(String),
    #[error("the hashing task did not finish")]
    Join(#[from] tokio::task::JoinError),
}

fn argon2() -> Argon2<'static> {
    // OWASP's first recommended argon2id configuration.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashed once per process; unknown users are checked against it so that a
/// login for a missing account costs the same as one with a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2().hash_password(b"keyhold-dummy-password-for-timing").map(|h| h.to_string()).unwrap_or_default()
});

/// At most this many hashes at once (19 MiB each): a burst of requests waits
/// its turn instead of exhausting memory and the blocking thread pool.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: Password) -> Result<String, HashError> {
    let _turn = HASHING.acquire().await.map_err(|e| HashError::Argon2(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError::Argon2(e.to_string()))
    })
    .await?
}

/// Checks a password against a stored hash, or against the dummy hash when
/// there is no account (and then always answers false).
pub async fn verify(password: Password, stored: Option<String>) -> Result<bool, HashError> {
    let _turn = HASHING.acquire().await.map_err(|e| HashError::Argon2(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = argon2().verify_password(password.expose().as_bytes(), hash.as_str()).is_ok();
        Ok(ok && known)
    })
    .await?
}

/// What a session remembers about the password: an HMAC of the hash and the
/// account's session epoch under the app secret, never the hash itself. A new
/// password or a bumped epoch changes it, which ends every other session.
pub fn session_fingerprint(secret: &SecretString, password_hash: &str, session_epoch: u64) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return Vec::new();
    };
    mac.update(b"keyhold-session-v1\0");
    mac.update(password_hash.as_bytes());
    mac.update(b"\0");
    mac.update(&session_epoch.to_be_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Random alphanumerics from a CSPRNG (magic-link tokens).
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_agreed_parameters() {
        let pw = Password::parse("correct horse battery").unwrap();
        let h = hash(pw.clone()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(pw, Some(h.clone())).await.unwrap());
        assert!(!verify(Password::parse("wrong password").unwrap(), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let pw = Password::parse("keyhold-dummy-password-for-timing").unwrap();
        assert!(!verify(pw, None).await.unwrap());
    }

    #[test]
    fn fingerprints_change_with_hash_and_epoch() {
        let s = SecretString::from("k".repeat(32));
        let a = session_fingerprint(&s, "$argon2id$a", 0);
        assert_eq!(a.len(), 32);
        assert_ne!(a, session_fingerprint(&s, "$argon2id$b", 0));
        assert_ne!(a, session_fingerprint(&s, "$argon2id$a", 1));
        assert_eq!(a, session_fingerprint(&s, "$argon2id$a", 0));
    }

    #[test]
    fn tokens_are_alphanumeric() {
        let t = random_token(25);
        assert_eq!(t.len(), 25);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
