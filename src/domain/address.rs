use super::ParseError;
use super::text::{blank_is_none, one_line, text_newtype};
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
        one_line(input, Self::MAX_LEN).map(Self)
    }

    /// Blank means "no address".
    pub fn parse_optional(input: &str) -> Result<Option<Self>, ParseError> {
        blank_is_none(input, Self::parse)
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
