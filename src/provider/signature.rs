//! Webhook signatures as Stripe makes them: the header
//! `Stripe-Signature: t={unix time},v1={hex HMAC-SHA256 of "{t}.{body}"}`
//! under the endpoint's secret. Checked in constant time, within a
//! tolerance of the current time so an old request cannot be replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Seconds a signature stays acceptable.
pub const TOLERANCE: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no or malformed signature header")]
    Malformed,
    #[error("signature timestamp outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The header value for `body` at `timestamp` (for tests and stand-ins).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let sig = mac(secret, &t, body).map(|m| hex(&m.finalize().into_bytes())).unwrap_or_default();
    format!("t={t},v1={sig}")
}

/// Checks `header` for `body` at time `now`.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    let when: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(when) > TOLERANCE.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    // Any listed signature may match (the secret may be rolling over).
    let matches = signatures
        .iter()
        .filter_map(|s| unhex(s))
        .any(|sig| mac(secret, t, body).is_some_and(|m| m.verify_slice(&sig).is_ok()));
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    #[test]
    fn a_signed_body_verifies_within_the_tolerance() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, 1_000_000, body);
        assert_eq!(verify(SECRET, Some(&header), body, 1_000_000), Ok(()));
        assert_eq!(verify(SECRET, Some(&header), body, 1_000_300), Ok(()));
        assert_eq!(verify(SECRET, Some(&header), body, 1_000_301), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, Some(&header), body, 999_699), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, Some(&header), b"{\"id\":\"evt_2\"}", 1_000_000), Err(SignatureError::Mismatch));
        assert_eq!(verify("other", Some(&header), body, 1_000_000), Err(SignatureError::Mismatch));
        let rolled = format!("{header},v1={}", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&rolled), body, 1_000_000), Ok(()));
        let extreme = format!("t={},v1=ab", i64::MIN);
        for bad in ["", "t=x,v1=ab", "v1=abcd", "t=1000000", "t=1000000,v1=zz", extreme.as_str()] {
            assert_ne!(verify(SECRET, Some(bad), body, 1_000_000), Ok(()), "{bad}");
        }
        assert_eq!(verify(SECRET, None, body, 1_000_000), Err(SignatureError::Malformed));
    }
}
