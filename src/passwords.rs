//! Password hashing with argon2id (m=19456 KiB, t=2, p=1) on the hashing
//! pool's threads, and the session fingerprint derived from a password hash.

use crate::domain::Password;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::LazyLock;

mod pool;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(String),
    #[error(transparent)]
    Pool(#[from] pool::PoolGone),
}

fn params() -> Params {
    // OWASP's first recommended argon2id configuration.
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashed once per process; unknown users are checked against it so that a
/// login for a missing account costs the same as one with a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut memory = pool::Memory::default();
    hash_with(&mut memory, b"keyhold-dummy-password-for-timing").unwrap_or_default()
});

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh salt, in
/// `memory`.
fn hash_with(memory: &mut pool::Memory, password: &[u8]) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt[..]);
    let salt = Salt::new(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
    let params = params();
    let output = compute(memory, password, &salt, &params, Params::DEFAULT_OUTPUT_LEN)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| HashError::Argon2(e.to_string()))?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// argon2id of `password` under `params`, in `memory`.
fn compute(
    memory: &mut pool::Memory,
    password: &[u8],
    salt: &[u8],
    params: &Params,
    len: usize,
) -> Result<Output, HashError> {
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out.get_mut(..len).ok_or_else(|| HashError::Argon2("output length".into()))?;
    argon2(params.clone())
        .hash_password_into_with_memory(password, salt, out, memory.blocks(params.block_count()))
        .map_err(|e| HashError::Argon2(e.to_string()))?;
    Output::new(out).map_err(|e| HashError::Argon2(e.to_string()))
}

/// Whether `password` matches a stored PHC string (argon2id or its kin,
/// with the parameters it was made with); `Output` compares in constant time.
fn verify_with(memory: &mut pool::Memory, password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
    let Ok(params) = Params::try_from(&phc) else { return false };
    if Algorithm::try_from(phc.algorithm.as_str()).is_err() {
        return false;
    }
    compute(memory, password, salt, &params, expected.len()).is_ok_and(|computed| computed == *expected)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), hashed on the pool.
pub async fn hash(password: Password) -> Result<String, HashError> {
    pool::POOL.run(move |memory| hash_with(memory, password.expose().as_bytes())).await?
}

/// Checks a password against a stored hash, or against the dummy hash when
/// there is no account (and then always answers false). On the pool.
pub async fn verify(password: Password, stored: Option<String>) -> Result<bool, HashError> {
    pool::POOL
        .run(move |memory| {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            Ok(verify_with(memory, password.expose().as_bytes(), &hash) && known)
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
    async fn hashes_from_argon2s_own_api_and_other_parameters_still_verify() {
        use argon2::password_hash::PasswordHasher;
        // Made the way earlier versions stored them, and with cheaper parameters.
        let stored = argon2(params()).hash_password(b"an older password").unwrap().to_string();
        let pw = |s: &str| Password::parse(s).unwrap();
        assert!(verify(pw("an older password"), Some(stored.clone())).await.unwrap());
        let cheap = argon2(Params::new(1024, 1, 1, None).unwrap()).hash_password(b"cheap password").unwrap();
        assert!(verify(pw("cheap password"), Some(cheap.to_string())).await.unwrap());
        assert!(!verify(pw("cheap passwore"), Some(cheap.to_string())).await.unwrap());
        assert!(!verify(pw("an older password"), Some("$argon2id$garbage".into())).await.unwrap());
    }

    #[tokio::test]
    async fn many_at_once_all_answer() {
        let pw = Password::parse("correct horse battery").unwrap();
        let stored = hash(pw.clone()).await.unwrap();
        let checks = (0..12).map(|_| verify(pw.clone(), Some(stored.clone())));
        assert!(futures::future::join_all(checks).await.into_iter().all(|r| r.unwrap()));
    }

    #[tokio::test]
    async fn callers_that_give_up_leave_the_pool_working() {
        let pw = Password::parse("correct horse battery").unwrap();
        let stored = hash(pw.clone()).await.unwrap();
        // Callers cancelled while their hash runs: the turns stay taken until
        // the threads finish, and the pool keeps answering afterwards.
        for _ in 0..8 {
            let check = verify(pw.clone(), Some(stored.clone()));
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), check).await;
        }
        assert!(verify(pw, Some(stored)).await.unwrap());
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
