//! Parse-don't-validate types shared by the server and the browser.
//!
//! Every type has a private field and a `parse` constructor, so a value of the
//! type is proof that the input was checked. The messages in [`ParseError`] are
//! written for the person who typed the value.

mod address;
mod banking;
mod choice;
mod code;
mod delivery;
mod email;
mod language;
mod money;
mod name;
mod password;
mod phone;
#[cfg(feature = "server")]
mod preferences;
mod purpose;
mod role;
mod text;
mod upload;
mod username;

pub use address::Address;
pub use banking::{AccountNumber, Agency};
pub use code::VerificationCode;
pub use delivery::DeliveryMethod;
pub use email::Email;
pub use language::Language;
pub use money::{Amount, Currency, format_money};
pub use name::PersonName;
pub use password::Password;
pub use phone::Phone;
#[cfg(feature = "server")]
pub use preferences::Preferences;
pub use purpose::Purpose;
pub use role::Role;
pub use upload::{ContentType, FileName, ObjectKey, PICTURE_TYPES, UploadKind, human_size};
pub use username::Username;

/// Why a value was refused. `Display` is the message shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("This field is required.")]
    Required,
    #[error("Use at most {max} characters.")]
    TooLong { max: usize },
    #[error("Use at least {min} characters.")]
    TooShort { min: usize },
    #[error("Enter a valid email address, like name@example.com.")]
    Email,
    #[error("Use 3–32 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit.")]
    Username,
    #[error("Enter a phone number of 7 to 15 digits, optionally starting with +.")]
    Phone,
    #[error("Enter the 6-digit code.")]
    Code,
    #[error("This password is too common. Choose one that is harder to guess.")]
    CommonPassword,
    #[error("Choose one of: {0}.")]
    Choice(&'static str),
    #[error("Remove control characters.")]
    ControlCharacters,
    #[error("Enter the branch as 3 to 5 digits, optionally with a check digit, like 0001 or 1234-5.")]
    Agency,
    #[error("Enter the account as up to 13 digits, optionally with a check digit, like 12345-6.")]
    AccountNumber,
    #[error("Enter both the branch and the account number, or neither.")]
    BankingPair,
    #[error("The passwords do not match.")]
    PasswordMismatch,
    #[error("Preferences must be a JSON object.")]
    JsonObject,
    #[error("This is not a file of yours.")]
    ObjectKey,
    #[error("Give the file type as type/subtype, like image/png.")]
    ContentType,
    #[error("Enter an amount like 12.50.")]
    Amount,
    #[error("Enter an amount greater than zero.")]
    AmountZero,
    #[error("Enter a positive amount.")]
    AmountNegative,
    #[error("That amount is too large.")]
    AmountTooLarge,
    #[error("Use at most {decimals} decimal place(s) for this currency.")]
    AmountDecimals { decimals: u8 },
    #[error("Choose a currency.")]
    Currency,
}

/// Rejects ASCII and Unicode control characters (newlines included) in one-line fields.
fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}
