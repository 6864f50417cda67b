use super::text::text_newtype;
use super::{ParseError, has_control_chars};
use serde::{Deserialize, Serialize};

/// A postal address on one line: 1–300 characters, no control characters.
/// The same rule holds at registration, in the profile and in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

text_newtype!(Address);

impl Address {
    pub const MAX_LEN: usize = 300;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::Required);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(ParseError::TooLong { max: Self::MAX_LEN });
        }
        if has_control_chars(s) {
            return Err(ParseError::ControlCharacters);
        }
        Ok(Self(s.to_owned()))
    }

    /// Blank means "no address".
    pub fn parse_optional(input: &str) -> Result<Option<Self>, ParseError> {
        if input.trim().is_empty() { Ok(None) } else { Self::parse(input).map(Some) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_form() {
        assert_eq!(Address::parse("  1 Main St ").unwrap().as_str(), "1 Main St");
        assert_eq!(Address::parse_optional("  "), Ok(None));
        assert_eq!(Address::parse(&"x".repeat(301)), Err(ParseError::TooLong { max: 300 }));
        assert!(Address::parse(&"é".repeat(300)).is_ok(), "characters, not bytes");
        assert_eq!(Address::parse("1 Main St\nApt 2"), Err(ParseError::ControlCharacters));
    }
}
