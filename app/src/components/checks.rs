//! Browser-side checks for `TextField`'s `check`: the same parsing rules as
//! the server, so a person hears about a mistake when leaving the field.

use keyhold::domain::{AccountNumber, Agency, Email, ParseError, Password, PersonName, Phone, VerificationCode};

fn message<T>(parsed: Result<T, ParseError>) -> Option<String> {
    parsed.err().map(|e| e.to_string())
}

pub fn name(s: &str) -> Option<String> {
    message(PersonName::parse(s))
}

pub fn email(s: &str) -> Option<String> {
    message(Email::parse(s))
}

pub fn phone(s: &str) -> Option<String> {
    message(Phone::parse_optional(s))
}

/// Length rules only: the common-password list stays on the server.
pub fn new_password(s: &str) -> Option<String> {
    message(Password::parse(s))
}

pub fn code(s: &str) -> Option<String> {
    message(VerificationCode::parse(s))
}

pub fn agency(s: &str) -> Option<String> {
    message(Agency::parse(s))
}

pub fn account_number(s: &str) -> Option<String> {
    message(AccountNumber::parse(s))
}
