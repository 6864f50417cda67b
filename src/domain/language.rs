use super::choice::choice;

choice! {
    /// The language a person prefers for messages (a profile preference).
    Language {
        English => "en",
        Portuguese => "pt-BR",
        Spanish => "es",
    }
}

impl Language {
    pub fn label(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Portuguese => "Português (Brasil)",
            Language::Spanish => "Español",
        }
    }
}

// The variants come from `choice!`, which has no way to mark a default.
#[allow(clippy::derivable_impls)]
impl Default for Language {
    fn default() -> Self {
        Language::English
    }
}
