use super::ParseError;
use super::text::text_newtype;
use serde::{Deserialize, Serialize};

/// A phone number reduced to an optional leading `+` and 7–15 digits
/// (E.164 allows 15). Spaces, dots, dashes and brackets are dropped, so
/// `123-456-7890` and `(123) 456 7890` are the same number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

text_newtype!(Phone);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseError::Required);
        }
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", s),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ParseError::Phone),
            }
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(ParseError::Phone);
        }
        Ok(Self(format!("{plus}{digits}")))
    }

    /// Parses an optional field: blank means "no phone".
    pub fn parse_optional(input: &str) -> Result<Option<Self>, ParseError> {
        super::text::blank_is_none(input, Self::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_formatting() {
        assert_eq!(Phone::parse("123-456-7890").unwrap().as_str(), "1234567890");
        assert_eq!(Phone::parse("+55 (11) 98765-4321").unwrap().as_str(), "+5511987654321");
    }

    #[test]
    fn refuses_junk() {
        for bad in ["", "12345", "+1234567890123456", "12a4567890", "++1234567"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_optional_is_none() {
        assert_eq!(Phone::parse_optional("  ").unwrap(), None);
    }
}
