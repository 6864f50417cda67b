use super::ParseError;
use std::fmt;

/// A six-digit one-time code. `Debug` is redacted: codes are secrets while
/// they live.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    pub const LEN: usize = 6;

    /// Accepts the code with surrounding space or a space/dash in the middle
    /// (`123 456`), as people copy it from messages.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err(ParseError::Required);
        }
        if digits.len() != Self::LEN || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::Code);
        }
        Ok(Self(digits))
    }

    /// A fresh code from a CSPRNG (rand's thread generator: ChaCha12,
    /// seeded and periodically reseeded from the operating system).
    #[cfg(feature = "server")]
    pub fn generate() -> Self {
        use rand::Rng;
        let n: u32 = rand::rng().random_range(0..1_000_000);
        Self(format!("{n:06}"))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_six_digits() {
        assert_eq!(VerificationCode::parse(" 123 456 ").unwrap().expose(), "123456");
        assert_eq!(VerificationCode::parse("000000").unwrap().expose(), "000000");
        assert_eq!(VerificationCode::parse("").unwrap_err(), ParseError::Required);
        for bad in ["12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(VerificationCode::parse(bad).unwrap_err(), ParseError::Code, "{bad}");
        }
    }

    #[cfg(feature = "server")]
    #[test]
    fn generated_codes_parse() {
        for _ in 0..1000 {
            let c = VerificationCode::generate();
            assert_eq!(VerificationCode::parse(c.expose()).unwrap(), c);
        }
    }
}
