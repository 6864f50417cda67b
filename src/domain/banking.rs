use super::ParseError;
use super::text::text_newtype;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A bank branch ("agência"): 3–5 digits with an optional check character,
/// e.g. `0001` or `1234-5`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Agency(String);

text_newtype!(Agency);

/// A bank account number: 1–13 digits with an optional check character,
/// e.g. `12345-6`. Treated as a secret: only [`AccountNumber::masked`]
/// leaves the account record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountNumber(String);

text_newtype!(secret AccountNumber);

/// `digits` or `digits-check`, normalised to upper case; spaces and dots
/// dropped. Only ASCII can pass, so ASCII upper-casing is enough (and keeps
/// Unicode's case tables out of the browser's wasm).
fn parse_with_check(
    input: &str,
    digits: std::ops::RangeInclusive<usize>,
    error: ParseError,
) -> Result<String, ParseError> {
    let s: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '.')).collect::<String>().to_ascii_uppercase();
    if s.is_empty() {
        return Err(ParseError::Required);
    }
    let (number, check) = match s.split_once('-') {
        Some((n, c)) => (n, Some(c)),
        None => (s.as_str(), None),
    };
    let number_ok = digits.contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit());
    let check_ok = check.is_none_or(|c| c.len() == 1 && c.chars().all(|c| c.is_ascii_digit() || c == 'X'));
    if number_ok && check_ok { Ok(s) } else { Err(error) }
}

impl Agency {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        parse_with_check(input, 3..=5, ParseError::Agency).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AccountNumber {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        parse_with_check(input, 1..=13, ParseError::AccountNumber).map(Self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Only the last three characters, e.g. `•••45-6`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks an account number for display and caches: at most the last
/// four characters, and never fewer than three hidden.
fn mask(number: &str) -> String {
    let len = number.chars().count();
    let shown = len.saturating_sub(3).min(4);
    let visible: String = number.chars().skip(len - shown).collect();
    format!("•••{}", visible.trim_start_matches('-'))
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agencies() {
        assert_eq!(Agency::parse("0001").unwrap().as_str(), "0001");
        assert_eq!(Agency::parse(" 1234-x ").unwrap().as_str(), "1234-X");
        for bad in ["01", "123456", "12a4", "1234-56", "-1"] {
            assert_eq!(Agency::parse(bad), Err(ParseError::Agency), "{bad}");
        }
    }

    #[test]
    fn account_numbers() {
        assert_eq!(AccountNumber::parse("12345-6").unwrap().expose(), "12345-6");
        assert_eq!(AccountNumber::parse("12.345-6").unwrap().expose(), "12345-6");
        for bad in ["", "12345678901234", "12a45", "123-45"] {
            assert!(AccountNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masking_keeps_only_the_tail() {
        assert_eq!(AccountNumber::parse("12345-6").unwrap().masked(), "•••45-6");
        assert_eq!(mask("987654321"), "•••4321");
        assert_eq!(mask("1234"), "•••4");
        assert_eq!(mask("12"), "•••");
        assert!(!format!("{:?}", AccountNumber::parse("12345-6").unwrap()).contains("123"));
    }
}
