//! Reading and editing one's profile, through the `user:{userId}` cache.

use super::{Core, FieldErrors, FlowError};
use crate::domain::{AccountNumber, Address, Agency, Language, ParseError, PersonName, Phone};
use crate::store::accounts::{self, Account, AccountField, AccountWrite, Banking, Written};
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

/// The profile as the cache holds it.
pub async fn view(core: &Core, id: Uuid) -> Result<CachedUser, FlowError> {
    profile_cache::get(&core.redis, &core.cache_stats, id, core.settings.ttl.user_cache)
        .await?
        .ok_or(FlowError::AccountGone)
}

/// [`view`], given the cache entry as read earlier (with other reads, in
/// one round trip): Redis is asked again only on a miss.
pub async fn view_from_read(core: &Core, id: Uuid, cached: Option<String>) -> Result<CachedUser, FlowError> {
    profile_cache::from_read(&core.redis, &core.cache_stats, id, core.settings.ttl.user_cache, cached)
        .await?
        .ok_or(FlowError::AccountGone)
}

/// How often a profile save is recomputed when another write came between
/// its read and its write.
const WRITE_RETRIES: usize = 5;

/// Checks and saves the profile; returns the fresh view. The change is
/// computed from the account as read (preferences are merged, a blank
/// account number keeps the stored one), so it is written only if the
/// account is still as read, and recomputed otherwise: no update is lost.
pub async fn update(core: &Core, id: Uuid, input: ProfileInput) -> Result<CachedUser, FlowError> {
    for _ in 0..WRITE_RETRIES {
        let Some(account) = accounts::get(&core.redis, id).await? else {
            return Err(FlowError::AccountGone);
        };
        let change = profile_change(&account, &input)?.if_unchanged_since(&account);
        match accounts::write(&core.redis, id, change).await? {
            Written::Yes => return view(core, id).await,
            Written::Gone => return Err(FlowError::AccountGone),
            Written::Stale => continue,
        }
    }
    Err(FlowError::unexpected("saving a profile", "the account kept changing"))
}

/// The write a profile form asks for, or the fields it got wrong.
fn profile_change(account: &Account, input: &ProfileInput) -> Result<AccountWrite, FlowError> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", PersonName::parse(&input.name));
    let phone = errors.check("phone", Phone::parse_optional(&input.phone));
    let address = errors.check("address", Address::parse_optional(&input.address));
    let language = errors.check("language", Language::parse(&input.language));
    let banking = match (input.agency.trim(), input.account_number.trim()) {
        ("", "") => Some(None),
        // A blank number keeps the stored one (the form never shows it).
        (agency, "") => match (errors.check("agency", Agency::parse(agency)), &account.banking) {
            (Some(agency), Some(existing)) => Some(Some(Banking { agency, account: existing.account.clone() })),
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
            agency.zip(number).map(|(agency, account)| Some(Banking { agency, account }))
        }
    };
    errors.into_result()?;
    let (Some(name), Some(phone), Some(address), Some(language), Some(banking)) =
        (name, phone, address, language, banking)
    else {
        return Err(FlowError::Invalid(FieldErrors::default()));
    };

    let preferences = account.preferences.clone().with_profile(language, input.newsletter);
    let (agency, number) = banking.map(|b| (b.agency.to_string(), b.account.expose().to_owned())).unzip();
    Ok(AccountWrite::default()
        .set(AccountField::Name, name.as_str())
        .set(AccountField::Preferences, preferences.to_json())
        .set_or_remove(AccountField::Phone, phone.map(String::from))
        .set_or_remove(AccountField::Address, address.map(String::from))
        .set_or_remove(AccountField::BankingAgency, agency)
        .set_or_remove(AccountField::BankingAccount, number))
}
