/// The conversions every text newtype shares: `TryFrom<String>` through
/// `parse` (so serde parses too), `From<T> for String`, and, for values that
/// may be shown, `AsRef<str>` and `Display`. Secret values (`secret T`) get
/// only the conversions.
macro_rules! text_newtype {
    (secret $name:ident) => {
        impl TryFrom<String> for $name {
            type Error = $crate::domain::ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
    ($name:ident) => {
        text_newtype!(secret $name);

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use text_newtype;

/// A one-line text field: trimmed, required, at most `max` characters, no
/// control characters.
pub(crate) fn one_line(input: &str, max: usize) -> Result<String, super::ParseError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(super::ParseError::Required);
    }
    if s.chars().count() > max {
        return Err(super::ParseError::TooLong { max });
    }
    if super::has_control_chars(s) {
        return Err(super::ParseError::ControlCharacters);
    }
    Ok(s.to_owned())
}

/// An optional field: blank means none, anything else must parse.
pub(crate) fn blank_is_none<T>(
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, super::ParseError>,
) -> Result<Option<T>, super::ParseError> {
    if input.trim().is_empty() { Ok(None) } else { parse(input).map(Some) }
}
