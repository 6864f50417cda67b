//! The wire type of every failed server function, shared with the browser.
//!
//! It carries no logic of its own: the server decides the code, the message
//! and the details in one place (`ssr::failure::classify`), and the browser
//! only reads them. `code` is stable; `message` is what people read.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// A message for one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The codes the pages act on (every code is listed in the README's API section).
pub mod code {
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const USERNAME_STATUS: &str = "username_status";
    pub const CODE_EXPIRED: &str = "code_expired";
    pub const LINK_EXPIRED: &str = "link_expired";
    pub const NOT_LOGGED_IN: &str = "not_logged_in";
    pub const NETWORK_ERROR: &str = "network_error";
    pub const BAD_REQUEST: &str = "bad_request";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
    /// Messages for single fields, in form order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Set for failures on our side: people quote it, operators find the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The answer of the registration form's "check" button without JavaScript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            attempts_left: None,
            request_id: None,
            available: None,
        }
    }

    /// Not a failure: whether a username is free, for the "check" button
    /// when JavaScript is off.
    pub fn username_status(available: bool) -> Self {
        let message = if available { "This username is available." } else { "This username is taken." };
        Self { available: Some(available), ..Self::new(code::USERNAME_STATUS, message) }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// The message for one field, if any.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.iter().find(|f| f.field == name).map(|f| f.message.clone())
    }

    /// Whether the message belongs to the whole form rather than to fields.
    pub fn is_form_level(&self) -> bool {
        !self.is(code::INVALID_INPUT) && !self.is(code::USERNAME_STATUS)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => {
                AppError::new(code::NETWORK_ERROR, "Could not reach Keyhold. Check your connection and try again.")
            }
            _ => AppError::new(code::BAD_REQUEST, "The request could not be understood."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_details_that_are_set_go_on_the_wire() {
        let e = AppError { retry_after: Some(5), ..AppError::new("too_many_requests", "Wait.") };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "too_many_requests", "message": "Wait.", "retry_after": 5})
        );
        let back: AppError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
