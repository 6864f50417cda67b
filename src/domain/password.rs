use super::ParseError;
use std::fmt;

/// A password as typed. It never prints: `Debug` is redacted and there is no
/// `Display`, so it cannot end up in a log line or an error record by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    /// Checks the length rules (8–128 characters). Used for new passwords on
    /// both sides; the server also refuses common ones with [`Password::parse_new`].
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let len = input.chars().count();
        if len == 0 {
            return Err(ParseError::Required);
        }
        if len < Self::MIN_LEN {
            return Err(ParseError::TooShort { min: Self::MIN_LEN });
        }
        if len > Self::MAX_LEN {
            return Err(ParseError::TooLong { max: Self::MAX_LEN });
        }
        Ok(Self(input.to_owned()))
    }

    /// A password offered at login: anything non-empty up to the maximum, so
    /// that accounts made under older rules can still sign in.
    pub fn parse_attempt(input: &str) -> Result<Self, ParseError> {
        match input.chars().count() {
            0 => Err(ParseError::Required),
            n if n > Self::MAX_LEN => Err(ParseError::TooLong { max: Self::MAX_LEN }),
            _ => Ok(Self(input.to_owned())),
        }
    }

    /// A new password: the length rules plus "not one of the 10 000 most
    /// common passwords" (compared case-insensitively).
    #[cfg(feature = "server")]
    pub fn parse_new(input: &str) -> Result<Self, ParseError> {
        let password = Self::parse(input)?;
        if common::is_common(input) {
            return Err(ParseError::CommonPassword);
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(feature = "server")]
mod common {
    use std::collections::HashSet;
    use std::sync::LazyLock;

    /// The 10 000 most common passwords from public breach corpora, one per line.
    static LIST: &str = include_str!("common_passwords.txt");
    static SET: LazyLock<HashSet<&'static str>> =
        LazyLock::new(|| LIST.lines().map(str::trim).filter(|l| !l.is_empty()).collect());

    pub fn is_common(candidate: &str) -> bool {
        SET.contains(candidate) || SET.contains(candidate.to_lowercase().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(Password::parse("").unwrap_err(), ParseError::Required);
        assert_eq!(Password::parse("1234567").unwrap_err(), ParseError::TooShort { min: 8 });
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert_eq!(Password::parse(&"x".repeat(129)).unwrap_err(), ParseError::TooLong { max: 128 });
    }

    #[test]
    fn login_attempts_accept_short_passwords() {
        assert!(Password::parse_attempt("abc").is_ok());
        assert!(Password::parse_attempt("").is_err());
    }

    #[cfg(feature = "server")]
    #[test]
    fn common_passwords_are_refused() {
        for common in ["password", "12345678", "PASSWORD", "qwertyuiop", "iloveyou"] {
            assert_eq!(Password::parse_new(common).unwrap_err(), ParseError::CommonPassword, "{common}");
        }
        assert!(Password::parse_new("correct horse battery staple").is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
