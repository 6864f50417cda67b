use super::ParseError;
use super::text::text_newtype;
use serde::{Deserialize, Serialize};

/// A public handle: 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit,
/// stored lower-case so that the index `account:username:{username}` is
/// case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

text_newtype!(Username);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(ParseError::Required);
        }
        let len = s.chars().count();
        if len > Self::MAX_LEN {
            return Err(ParseError::TooLong { max: Self::MAX_LEN });
        }
        if len < Self::MIN_LEN {
            return Err(ParseError::TooShort { min: Self::MIN_LEN });
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        let starts_well = s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !starts_well || !s.chars().all(allowed) {
            return Err(ParseError::Username);
        }
        Ok(Self(s))
    }

    /// Derives a username from an email's local part for API clients that send
    /// none: invalid characters become `_`, the result is padded or cut to fit.
    pub fn suggest_from(local_part: &str) -> Self {
        let mut s: String = local_part
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) { c } else { '_' })
            .skip_while(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .take(Self::MAX_LEN - 5)
            .collect();
        while s.chars().count() < Self::MIN_LEN {
            s.push('0');
        }
        Self(s)
    }

    /// The same name with a numeric suffix, kept within the length limit.
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = n.to_string();
        let keep = Self::MAX_LEN - suffix.len();
        let base: String = self.0.chars().take(keep).collect();
        Self(format!("{base}{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(Username::parse(" Ann_Lee ").unwrap().as_str(), "ann_lee");
        assert_eq!(Username::parse("a.b-c9").unwrap().as_str(), "a.b-c9");
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Username::parse(""), Err(ParseError::Required));
        assert_eq!(Username::parse("ab"), Err(ParseError::TooShort { min: 3 }));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(ParseError::TooLong { max: 32 }));
        for bad in ["_ann", "ann lee", "ann:lee", "änn", "ann{x}"] {
            assert_eq!(Username::parse(bad), Err(ParseError::Username), "{bad}");
        }
    }

    #[test]
    fn suggestions_are_always_valid() {
        for local in ["ann", "a", "+++", "Ann.Lee+tag", &"x".repeat(64), "ñandú"] {
            let s = Username::suggest_from(local);
            assert!(Username::parse(s.as_str()).is_ok(), "{local} -> {s}");
            let s9 = s.with_suffix(12345);
            assert!(Username::parse(s9.as_str()).is_ok(), "{s9}");
        }
    }
}
