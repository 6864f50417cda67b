use super::ParseError;
use super::text::{one_line, text_newtype};
use serde::{Deserialize, Serialize};

/// A person's display name: 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

text_newtype!(PersonName);

impl PersonName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        one_line(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_limits() {
        assert_eq!(PersonName::parse("  Ann Lee ").unwrap().as_str(), "Ann Lee");
        assert_eq!(PersonName::parse(" "), Err(ParseError::Required));
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert_eq!(PersonName::parse("a\u{0}b"), Err(ParseError::ControlCharacters));
    }
}
