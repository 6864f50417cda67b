//! Reading and editing one's profile, through the `user:{userId}` cache.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{AccountNumber, Agency, Language, ParseError, PersonName, Phone};
use crate::store::accounts::{self, AccountWrite};
use crate::store::profile_cache::{self, CachedUser};
use uuid::Uuid;

/// The profile form, unparsed.
#[derive(Clone, Default)]
pub struct ProfileInput {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub agency: String,
    /// Blank keeps the stored number (the form never shows it).
    pub account_number: String,
    pub language: String,
    pub newsletter: bool,
}

impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput").field("name", &self.name).finish_non_exhaustive()
    }
}

const MAX_ADDRESS_LEN: usize = 300;

/// The profile as the cache holds it.
pub async fn view(core: &Core, id: Uuid) -> Result<CachedUser, FlowError> {
    profile_cache::get(&core.redis, &core.cache_stats, id, core.settings.ttl.user_cache)
        .await?
        .ok_or(FlowError::Expired)
}

/// Checks and saves the profile; returns the fresh view.
pub async fn update(core: &Core, id: Uuid, input: ProfileInput) -> Result<CachedUser, FlowError> {
    let Some(account) = accounts::get(&core.redis, id).await? else {
        return Err(FlowError::Expired);
    };
    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&input.name));
    let phone = errors.check("phone", Phone::parse_optional(&input.phone));
    let address = input.address.trim();
    if address.chars().count() > MAX_ADDRESS_LEN {
        errors.add("address", ParseError::TooLong { max: MAX_ADDRESS_LEN });
    } else if address.chars().any(char::is_control) {
        errors.add("address", ParseError::ControlCharacters);
    }
    let language = errors.check("language", Language::parse(&input.language));
    let banking = match (input.agency.trim(), input.account_number.trim()) {
        ("", "") => Some(None),
        (agency, "") => match (errors.check("agency", Agency::parse(agency)), &account.banking_account) {
            (Some(agency), Some(existing)) => Some(Some((agency, existing.clone()))),
            (Some(_), None) => {
                errors.add("account_number", ParseError::BankingPair);
                None
            }
            (None, _) => None,
        },
        ("", _) => {
            errors.add("agency", ParseError::BankingPair);
            None
        }
        (agency, number) => {
            let agency = errors.check("agency", Agency::parse(agency));
            let number = errors.check("account_number", AccountNumber::parse(number));
            agency.zip(number).map(|(a, n)| Some((a, n.expose().to_owned())))
        }
    };
    errors.into_result()?;
    let (Some(name), Some(phone), Some(language), Some(banking)) = (name, phone, language, banking) else {
        return Err(FlowError::Invalid(FieldErrors::default()));
    };

    // Known preferences are merged into whatever else API clients stored.
    let mut preferences = account
        .preferences
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p).ok())
        .unwrap_or_default();
    preferences.insert("language".to_owned(), language.as_str().into());
    preferences.insert("newsletter".to_owned(), input.newsletter.into());

    let mut change = AccountWrite::default();
    change.set.push(("name", name.to_string()));
    change.set.push(("preferences", serde_json::Value::Object(preferences).to_string()));
    let mut optional = |field: &'static str, value: Option<String>| match value {
        Some(v) => change.set.push((field, v)),
        None => change.remove.push(field),
    };
    optional("phone", phone.map(|p| p.to_string()));
    optional("address", Some(address.to_owned()).filter(|a| !a.is_empty()));
    let (agency, number) = banking.map(|(a, n)| (a.to_string(), n)).unzip();
    optional("banking_agency", agency);
    optional("banking_account", number);
    if !accounts::write(&core.redis, id, change).await? {
        return Err(FlowError::Expired);
    }
    view(core, id).await
}
