//! `account:{user_id}` and its unique indexes `account:email:{email}` and
//! `account:username:{username}`. Accounts are created by the registration
//! script in [`super::pending`], which claims both indexes atomically.

use super::{StoreError, StoreResult};
use crate::domain::{AccountNumber, Address, Agency, Email, PersonName, Phone, Preferences, Role, Username};
use crate::keys;
use redis::AsyncCommands;
use redis::Script;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;
use uuid::Uuid;

/// How a person names their account at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginName {
    Email(Email),
    Username(Username),
}

impl LoginName {
    /// An `@` means an email address; anything else is a username.
    pub fn parse(input: &str) -> Option<Self> {
        if input.contains('@') {
            Email::parse(input).ok().map(Self::Email)
        } else {
            Username::parse(input).ok().map(Self::Username)
        }
    }

    fn index_key(&self) -> String {
        match self {
            LoginName::Email(e) => keys::account_by_email(e),
            LoginName::Username(u) => keys::account_by_username(u),
        }
    }

    /// The normalised text, used as the throttle key for unknown accounts.
    pub fn as_str(&self) -> &str {
        match self {
            LoginName::Email(e) => e.as_str(),
            LoginName::Username(u) => u.as_str(),
        }
    }
}

/// A bank branch and account, stored together or not at all.
#[derive(Clone, PartialEq, Eq)]
pub struct Banking {
    pub agency: Agency,
    /// Secret: shown and cached only masked.
    pub account: AccountNumber,
}

/// A stored account. `Debug` leaves out the password hash.
#[derive(Clone, PartialEq)]
pub struct Account {
    pub id: Uuid,
    pub email: Email,
    pub username: Username,
    pub name: PersonName,
    pub phone: Option<Phone>,
    pub role: Role,
    pub password_hash: String,
    /// Whether the address was proven (by a code or link sent to it). An
    /// SMS registration's address is not until its owner confirms it; until
    /// then it holds no `account:email:…` index.
    pub email_verified: bool,
    /// Bumped when every session must end (password change or reset).
    pub session_epoch: u64,
    pub preferences: Preferences,
    pub address: Option<Address>,
    pub banking: Option<Banking>,
    pub profile_picture_url: Option<String>,
    pub created_at: String,
    /// Changes on every write; guards the cache fill against races.
    pub updated_at: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("session_epoch", &self.session_epoch)
            .finish_non_exhaustive()
    }
}

/// The fields of `account:{user_id}` a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField {
    Name,
    Phone,
    Role,
    Preferences,
    Address,
    BankingAgency,
    BankingAccount,
    ProfilePictureUrl,
}

impl AccountField {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountField::Name => "name",
            AccountField::Phone => "phone",
            AccountField::Role => "role",
            AccountField::Preferences => "preferences",
            AccountField::Address => "address",
            AccountField::BankingAgency => "banking_agency",
            AccountField::BankingAccount => "banking_account",
            AccountField::ProfilePictureUrl => "profile_picture_url",
        }
    }
}

impl Account {
    fn from_hash(key: &str, mut h: HashMap<String, String>) -> StoreResult<Self> {
        let mut take = |field: &str| h.remove(field).filter(|v| !v.is_empty());
        let bad = |field: &str| StoreError::corrupt(key, format!("missing or invalid `{field}`"));
        // An optional field that is present must parse.
        fn optional<T, E>(value: Option<String>, parse: impl Fn(&str) -> Result<T, E>) -> Result<Option<T>, ()> {
            value.map(|v| parse(&v).map_err(|_| ())).transpose()
        }
        let banking = match (take("banking_agency"), take("banking_account")) {
            (Some(agency), Some(account)) => Some(Banking {
                agency: Agency::parse(&agency).map_err(|_| bad("banking_agency"))?,
                account: AccountNumber::parse(&account).map_err(|_| bad("banking_account"))?,
            }),
            _ => None,
        };
        Ok(Self {
            id: take("id").and_then(|s| Uuid::parse_str(&s).ok()).ok_or_else(|| bad("id"))?,
            email: take("email").and_then(|s| Email::parse(&s).ok()).ok_or_else(|| bad("email"))?,
            username: take("username").and_then(|s| Username::parse(&s).ok()).ok_or_else(|| bad("username"))?,
            name: take("name").and_then(|s| PersonName::parse(&s).ok()).ok_or_else(|| bad("name"))?,
            phone: optional(take("phone"), Phone::parse).map_err(|_| bad("phone"))?,
            role: take("role").and_then(|s| Role::parse(&s).ok()).ok_or_else(|| bad("role"))?,
            password_hash: take("password_hash").ok_or_else(|| bad("password_hash"))?,
            email_verified: take("email_verified").is_none_or(|v| v != "0"),
            session_epoch: take("session_epoch").and_then(|s| s.parse().ok()).unwrap_or(0),
            preferences: take("preferences").map(|p| Preferences::from_stored(&p)).unwrap_or_default(),
            address: optional(take("address"), Address::parse).map_err(|_| bad("address"))?,
            banking,
            profile_picture_url: take("profile_picture_url"),
            created_at: take("created_at").unwrap_or_default(),
            updated_at: take("updated_at").unwrap_or_default(),
        })
    }
}

/// The account's id for a login name, if it exists.
/// The ids of some usernames, in one MGET (`None` where no account has it).
pub async fn find_ids(conn: &ConnectionManager, usernames: &[Username]) -> StoreResult<Vec<Option<Uuid>>> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = usernames.iter().map(keys::account_by_username).collect();
    let mut conn = conn.clone();
    let ids: Vec<Option<String>> = conn.mget(&keys).await?;
    Ok(ids.into_iter().map(|id| id.and_then(|s| Uuid::parse_str(&s).ok())).collect())
}

pub async fn find_id(conn: &ConnectionManager, name: &LoginName) -> StoreResult<Option<Uuid>> {
    let mut conn = conn.clone();
    let id: Option<String> = conn.get(name.index_key()).await?;
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}

pub async fn get(conn: &ConnectionManager, id: Uuid) -> StoreResult<Option<Account>> {
    let key = keys::account(id);
    let mut conn = conn.clone();
    let h: HashMap<String, String> = conn.hgetall(&key).await?;
    from_fields(&key, h)
}

/// The account in `HGETALL account:{userId}`'s answer; `None` when empty
/// (no such account).
fn from_fields(key: &str, h: HashMap<String, String>) -> StoreResult<Option<Account>> {
    if h.is_empty() { Ok(None) } else { Account::from_hash(key, h).map(Some) }
}

/// The account and its `user:{userId}` cache entry, in one round trip: a
/// signed-in page checks the one and shows the other.
pub async fn get_with_cache(conn: &ConnectionManager, id: Uuid) -> StoreResult<(Option<Account>, Option<String>)> {
    let key = keys::account(id);
    let mut conn = conn.clone();
    let (h, cached): (HashMap<String, String>, Option<String>) =
        redis::pipe().hgetall(&key).get(keys::user_cache(id)).query_async(&mut conn).await?;
    let account = from_fields(&key, h)?;
    let cached = if account.is_some() { cached } else { None };
    Ok((account, cached))
}

/// A session record as the session store wrote it (undecoded), read with
/// the account of `user_id` and its cache entry in one round trip. The
/// caller knows whose session it is only after decoding the record, so
/// `user_id` is a guess it checks then. A fault in what was read under the
/// guess (a key of another type, an unreadable account) is in `account` or
/// drops `cached`, never fails the read: the record may name someone else.
pub async fn get_with_session(
    conn: &ConnectionManager,
    session_id: impl fmt::Display,
    user_id: Uuid,
) -> StoreResult<SessionRead> {
    let key = keys::account(user_id);
    let mut conn = conn.clone();
    let (record, h, cached): (redis::RedisResult<Option<Vec<u8>>>, redis::Value, redis::Value) = redis::pipe()
        .ignore_errors()
        .get(keys::session(session_id))
        .hgetall(&key)
        .get(keys::user_cache(user_id))
        .query_async(&mut conn)
        .await?;
    // The parser's message would quote the value: the account's fields.
    let account = redis::from_redis_value::<HashMap<String, String>>(h)
        .map_err(|_| StoreError::corrupt(&key, "not a hash of strings"))
        .and_then(|h| from_fields(&key, h));
    let cached = redis::from_redis_value::<Option<String>>(cached).ok().flatten();
    Ok(SessionRead { record: record?, account, cached })
}

/// What [`get_with_session`] read.
pub struct SessionRead {
    pub record: Option<Vec<u8>>,
    pub account: StoreResult<Option<Account>>,
    pub cached: Option<String>,
}

/// The usernames of some accounts, in one round trip (`None` for an
/// account that no longer exists).
pub async fn usernames(conn: &ConnectionManager, ids: &[Uuid]) -> StoreResult<Vec<Option<String>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.hget(keys::account(id), "username");
    }
    let mut conn = conn.clone();
    Ok(pipe.query_async(&mut conn).await?)
}

/// Whether nobody holds this username.
pub async fn username_available(conn: &ConnectionManager, username: &Username) -> StoreResult<bool> {
    let mut conn = conn.clone();
    let taken: bool = conn.exists(keys::account_by_username(username)).await?;
    Ok(!taken)
}

/// Which of the candidates are free, in one round trip.
pub async fn usernames_available(conn: &ConnectionManager, candidates: &[Username]) -> StoreResult<Vec<bool>> {
    let mut conn = conn.clone();
    let mut pipe = redis::pipe();
    for u in candidates {
        pipe.exists(keys::account_by_username(u));
    }
    let taken: Vec<bool> = pipe.query_async(&mut conn).await?;
    Ok(taken.into_iter().map(|t| !t).collect())
}

/// Whether an account uses this email, and whether the username is free: one
/// round trip for the registration form.
pub async fn registration_check(
    conn: &ConnectionManager,
    email: &Email,
    username: &Username,
) -> StoreResult<(bool, bool)> {
    let mut conn = conn.clone();
    let (email_taken, username_taken): (bool, bool) = redis::pipe()
        .exists(keys::account_by_email(email))
        .exists(keys::account_by_username(username))
        .query_async(&mut conn)
        .await?;
    Ok((email_taken, !username_taken))
}

static WRITE_ACCOUNT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/write_account.lua")));

/// A change to an existing account: fields to set, fields to remove, and
/// whether every session must end.
#[derive(Default)]
pub struct AccountWrite {
    set: Vec<(AccountField, String)>,
    remove: Vec<AccountField>,
    end_sessions: bool,
    /// Write only if the account is still as read (its `updated_at`).
    expected: Option<String>,
}

impl AccountWrite {
    pub fn set(mut self, field: AccountField, value: impl Into<String>) -> Self {
        self.set.push((field, value.into()));
        self
    }

    /// Sets the field, or removes it when there is no value.
    pub fn set_or_remove(mut self, field: AccountField, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.set.push((field, v.into())),
            None => self.remove.push(field),
        }
        self
    }

    pub fn end_sessions(mut self) -> Self {
        self.end_sessions = true;
        self
    }

    /// Writes only if the account has not changed since `account` was read,
    /// for changes computed from what was read (merged preferences, a kept
    /// account number).
    pub fn if_unchanged_since(mut self, account: &Account) -> Self {
        self.expected = Some(account.updated_at.clone());
        self
    }
}

/// What a write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// No such account.
    Gone,
    /// The account changed since it was read: read it again.
    Stale,
}

/// Applies a write to `account:{id}` and drops the `user:{id}` cache entry in
/// the same atomic step; writes nothing when the account does not exist or
/// changed since the version the write expects.
pub async fn write(conn: &ConnectionManager, id: Uuid, change: AccountWrite) -> StoreResult<Written> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut invocation = WRITE_ACCOUNT.prepare_invoke();
    invocation
        .key(keys::account(id))
        .key(keys::user_cache(id))
        .arg(now)
        .arg(if change.end_sessions { "1" } else { "0" })
        .arg(change.expected.as_deref().unwrap_or_default())
        .arg(change.set.len());
    for (field, value) in &change.set {
        invocation.arg(field.as_str()).arg(value);
    }
    for field in &change.remove {
        invocation.arg(field.as_str());
    }
    let mut conn = conn.clone();
    let written: i64 = invocation.invoke_async(&mut conn).await?;
    Ok(match written {
        1 => Written::Yes,
        0 => Written::Gone,
        _ => Written::Stale,
    })
}

/// Sets an account's role (an operator's act; never a form's).
pub async fn set_role(conn: &ConnectionManager, id: Uuid, role: Role) -> StoreResult<bool> {
    Ok(write(conn, id, AccountWrite::default().set(AccountField::Role, role.as_str())).await? == Written::Yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_choose_the_index_by_shape() {
        assert_eq!(LoginName::parse("Ann@Example.com").unwrap().index_key(), "account:email:ann@example.com");
        assert_eq!(LoginName::parse("Ann_Lee").unwrap().index_key(), "account:username:ann_lee");
        assert_eq!(LoginName::parse("a b"), None);
    }

    #[test]
    fn debug_leaves_out_the_hash() {
        let h: HashMap<String, String> = [
            ("id", "0190f3a0-0000-7000-8000-000000000000"),
            ("email", "a@b.io"),
            ("username", "ann"),
            ("role", "consumer"),
            ("name", "Ann"),
            ("password_hash", "$argon2id$secret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let account = Account::from_hash("account:x", h).unwrap();
        assert!(!format!("{account:?}").contains("argon2"));
    }
}
