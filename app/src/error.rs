//! The one error type of every server function, shared with the browser.
//! `code` (the serde tag) is stable; the `Display` text is what people read.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// A message for one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// `values` echoes the non-secret fields so a form posted without
    /// JavaScript can be shown again as it was typed.
    #[error("Please correct the highlighted fields.")]
    InvalidInput { fields: Vec<FieldError>, values: Vec<(String, String)> },
    /// Not a failure: the answer to the registration form's "check" button
    /// when JavaScript is off.
    #[error("{}", if *available { "This username is available." } else { "This username is taken." })]
    UsernameStatus { available: bool, values: Vec<(String, String)> },
    #[error("That code is not right. {attempts_left} attempt(s) left.")]
    InvalidCode { attempts_left: u32 },
    #[error("Too many wrong attempts: this code no longer works. Request a new code.")]
    CodeExhausted,
    #[error("This code has expired. Please start again.")]
    CodeExpired,
    #[error("An account with this email or username already exists.")]
    UserExists,
    #[error("Too many attempts. Please try again in {}.", wait_text(*retry_after))]
    TooManyRequests { retry_after: u64 },
    #[error("The email/username or password is not right.")]
    InvalidCredentials,
    #[error("We could not send your code. Please try again.")]
    DeliveryFailed,
    #[error("Keyhold is temporarily unavailable. Please try again in a moment.")]
    ServiceUnavailable,
    #[error("Something went wrong on our side. If it keeps happening, quote request {request_id}.")]
    #[serde(rename = "internal_error")]
    Internal { request_id: String },
    #[error("Please log in first.")]
    NotLoggedIn,
    #[error("A bearer token is required.")]
    TokenMissing,
    #[error("The token is malformed, wrongly signed or of the wrong kind.")]
    TokenInvalid,
    #[error("The token has expired.")]
    TokenExpired,
    #[error("The token has been revoked.")]
    TokenRevoked,
    #[error("Could not reach Keyhold. Check your connection and try again.")]
    #[serde(rename = "network_error")]
    Network,
    #[error("The request could not be understood.")]
    BadRequest,
}

fn wait_text(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_owned(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => AppError::Network,
            _ => AppError::BadRequest,
        }
    }
}

impl AppError {
    /// The stable code, as in the JSON (`invalid_input`, `user_exists`, …).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidInput { .. } => "invalid_input",
            AppError::UsernameStatus { .. } => "username_status",
            AppError::InvalidCode { .. } => "invalid_code",
            AppError::CodeExhausted => "code_exhausted",
            AppError::CodeExpired => "code_expired",
            AppError::UserExists => "user_exists",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::DeliveryFailed => "delivery_failed",
            AppError::ServiceUnavailable => "service_unavailable",
            AppError::Internal { .. } => "internal_error",
            AppError::NotLoggedIn => "not_logged_in",
            AppError::TokenMissing => "token_missing",
            AppError::TokenInvalid => "token_invalid",
            AppError::TokenExpired => "token_expired",
            AppError::TokenRevoked => "token_revoked",
            AppError::Network => "network_error",
            AppError::BadRequest => "bad_request",
        }
    }

    /// The message for one field, if any.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::InvalidInput { fields, .. } => fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            _ => None,
        }
    }

    /// A value typed before a form round trip without JavaScript.
    pub fn value(&self, name: &str) -> Option<String> {
        match self {
            AppError::InvalidInput { values, .. } | AppError::UsernameStatus { values, .. } => {
                values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            }
            _ => None,
        }
    }

    /// Whether the message belongs to the whole form rather than to fields.
    pub fn is_form_level(&self) -> bool {
        !matches!(self, AppError::InvalidInput { .. } | AppError::UsernameStatus { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_serde_tags() {
        let samples = [
            AppError::InvalidInput { fields: vec![], values: vec![] },
            AppError::InvalidCode { attempts_left: 2 },
            AppError::CodeExhausted,
            AppError::CodeExpired,
            AppError::UserExists,
            AppError::TooManyRequests { retry_after: 5 },
            AppError::InvalidCredentials,
            AppError::DeliveryFailed,
            AppError::ServiceUnavailable,
            AppError::Internal { request_id: "r".into() },
            AppError::BadRequest,
            AppError::NotLoggedIn,
            AppError::TokenMissing,
            AppError::TokenInvalid,
            AppError::TokenExpired,
            AppError::TokenRevoked,
        ];
        for e in samples {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["code"], e.code(), "{e:?}");
        }
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(
            AppError::TooManyRequests { retry_after: 42 }.to_string(),
            "Too many attempts. Please try again in 42 seconds."
        );
        assert_eq!(
            AppError::TooManyRequests { retry_after: 900 }.to_string(),
            "Too many attempts. Please try again in 15 minutes."
        );
    }
}
