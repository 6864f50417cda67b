//! axum-login glue: the session user and the backend that loads it.

use keyhold::domain::Role;
use keyhold::flows::{Core, FlowError, login};
use keyhold::passwords::session_fingerprint;
use keyhold::store::accounts::{self, Account};
use std::net::IpAddr;
use uuid::Uuid;

/// The logged-in person as the session knows them.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub picture_url: Option<String>,
    /// The `user:{userId}` cache entry as read with the account (raw JSON),
    /// so a page showing the profile needs no second round trip.
    pub cached_profile: Option<String>,
    /// HMAC of the password hash and session epoch; see
    /// [`keyhold::passwords::session_fingerprint`].
    fingerprint: Vec<u8>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

impl User {
    pub fn from_account(core: &Core, account: Account) -> Self {
        let fingerprint = session_fingerprint(&core.settings.app_secret, &account.password_hash, account.session_epoch);
        Self {
            id: account.id,
            username: account.username.to_string(),
            name: account.name.to_string(),
            email: account.email.to_string(),
            role: account.role,
            picture_url: account.profile_picture_url,
            cached_profile: None,
            fingerprint,
        }
    }
}

impl axum_login::AuthUser for User {
    type Id = Uuid;

    fn id(&self) -> Uuid {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.fingerprint
    }
}

pub struct Credentials {
    pub identifier: String,
    pub password: String,
    pub ip: IpAddr,
}

#[derive(Clone)]
pub struct Backend {
    core: Core,
}

impl Backend {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

impl axum_login::AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = FlowError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, FlowError> {
        match login::check_password(&self.core, &creds.identifier, &creds.password, creds.ip).await {
            Ok(account) => Ok(Some(User::from_account(&self.core, account))),
            Err(FlowError::InvalidCredentials) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Always reads the account itself (never a cache), so a password
    /// change ends other sessions at their next request: the read that
    /// came with the session record's, or a read of its own.
    async fn get_user(&self, id: &Uuid) -> Result<Option<User>, FlowError> {
        let (account, cached) = match prefetch::take(*id) {
            Some(read) => read,
            None => accounts::get_with_cache(&self.core.redis, *id).await?,
        };
        Ok(account.map(|a| User { cached_profile: cached, ..User::from_account(&self.core, a) }))
    }
}

/// The account read in the same round trip as the session record, when the
/// session store knew whose session it was loading: [`Backend::get_user`]
/// takes it instead of asking Redis again. Kept for one request.
pub mod prefetch {
    use keyhold::store::accounts::Account;
    use std::cell::RefCell;
    use uuid::Uuid;

    struct Read {
        user_id: Uuid,
        account: Option<Account>,
        cached: Option<String>,
    }

    tokio::task_local! {
        static READ: RefCell<Option<Read>>;
    }

    /// Runs one request with room for a read made ahead.
    pub async fn scope<F: Future>(request: F) -> F::Output {
        READ.scope(RefCell::new(None), request).await
    }

    /// Whether a read put now would be kept (inside [`scope`]).
    pub fn has_room() -> bool {
        READ.try_with(|_| ()).is_ok()
    }

    /// Keeps the account of `user_id` (and its cache entry) as just read.
    pub fn put(user_id: Uuid, account: Option<Account>, cached: Option<String>) {
        let _outside_a_request = READ.try_with(|r| *r.borrow_mut() = Some(Read { user_id, account, cached }));
    }

    /// Drops what was kept, if anything (read on a wrong guess).
    pub fn clear() {
        let _outside_a_request = READ.try_with(|r| r.borrow_mut().take());
    }

    /// The read kept for `user_id`, once; `None` when none was kept or it
    /// was another account's.
    pub fn take(user_id: Uuid) -> Option<(Option<Account>, Option<String>)> {
        let read = READ.try_with(|r| r.borrow_mut().take()).ok().flatten()?;
        (read.user_id == user_id).then_some((read.account, read.cached))
    }
}

pub type AuthSession = axum_login::AuthSession<Backend>;
