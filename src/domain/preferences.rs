use super::{Language, ParseError};
use serde_json::{Map, Value};

/// A person's preferences: a JSON object. The profile edits `language` and
/// `newsletter`; anything else an API client sent at registration is kept
/// as it was. Missing or unreadable entries read as their defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences(Map<String, Value>);

impl Preferences {
    /// Longest stored form, so one account cannot fill Redis.
    pub const MAX_JSON_LEN: usize = 2_000;

    /// What an API client sent: a JSON object of bounded size.
    pub fn parse(value: &Value) -> Result<Self, ParseError> {
        match value {
            Value::Object(map) if value.to_string().len() <= Self::MAX_JSON_LEN => Ok(Self(map.clone())),
            Value::Object(_) => Err(ParseError::TooLong { max: Self::MAX_JSON_LEN }),
            _ => Err(ParseError::JsonObject),
        }
    }

    /// The stored text; anything but a JSON object reads as no preferences.
    pub fn from_stored(text: &str) -> Self {
        serde_json::from_str(text).map(Self).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    pub fn as_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// English unless a known language is set.
    pub fn language(&self) -> Language {
        self.0.get("language").and_then(Value::as_str).and_then(|l| Language::parse(l).ok()).unwrap_or_default()
    }

    /// Off unless set to `true`.
    pub fn newsletter(&self) -> bool {
        self.0.get("newsletter").and_then(Value::as_bool).unwrap_or(false)
    }

    /// The profile form's two choices, merged into the rest.
    pub fn with_profile(mut self, language: Language, newsletter: bool) -> Self {
        self.0.insert("language".to_owned(), language.as_str().into());
        self.0.insert("newsletter".to_owned(), newsletter.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_live_here() {
        let none = Preferences::default();
        assert_eq!(none.language(), Language::English);
        assert!(!none.newsletter());
        let odd = Preferences::from_stored(r#"{"language":"xx","newsletter":"yes"}"#);
        assert_eq!((odd.language(), odd.newsletter()), (Language::English, false));
        assert_eq!(Preferences::from_stored("not json"), Preferences::default());
    }

    #[test]
    fn the_profile_keeps_what_api_clients_stored() {
        let p = Preferences::parse(&json!({"theme": "dark"})).unwrap().with_profile(Language::Spanish, true);
        assert_eq!(p.as_value(), json!({"theme": "dark", "language": "es", "newsletter": true}));
        assert_eq!(Preferences::from_stored(&p.to_json()), p);
    }

    #[test]
    fn only_small_objects() {
        assert_eq!(Preferences::parse(&json!([1])), Err(ParseError::JsonObject));
        let big = json!({"x": "y".repeat(2_000)});
        assert_eq!(Preferences::parse(&big), Err(ParseError::TooLong { max: 2_000 }));
    }
}
