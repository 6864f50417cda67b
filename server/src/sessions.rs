//! The session store: tower-sessions-redis-store's records, read through
//! the app's own Redis connection, with the account in the same round trip.
//!
//! Writes go through the crate's store (fred). Reads, one per signed-in
//! request, take the connection the page's other reads use. Whose session a
//! record is shows only once it is decoded, so the store remembers the
//! owner of each session it has seen; the next load of that session reads
//! the owner's account and cache entry in the same pipeline as the record,
//! and leaves them for axum-login's `get_user` (see
//! [`keyhold_app::auth::prefetch`]). A wrong guess costs the second round
//! trip a session without a guess makes anyway, never a wrong user.

use async_trait::async_trait;
use keyhold::bounded::BoundedMap;
use keyhold::keys;
use keyhold::store::accounts;
use keyhold_app::auth::prefetch;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;
use uuid::Uuid;

/// Where axum-login keeps its data in a session (its default, named here so
/// the store can read the user id from it).
pub const AUTH_DATA_KEY: &str = "axum-login.data";

/// How many sessions' owners are remembered (about 50 bytes each); past it,
/// one is forgotten for each new one (it then costs one extra round trip,
/// once).
const REMEMBERED_OWNERS: usize = 20_000;

#[derive(Clone)]
pub struct Sessions {
    writes: RedisStore<fred::clients::Pool>,
    reads: ConnectionManager,
    owners: Arc<Owners>,
}

impl Sessions {
    pub fn new(pool: fred::clients::Pool, reads: ConnectionManager) -> Self {
        Self { writes: RedisStore::new(pool), reads, owners: Arc::default() }
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// Runs a request with room for the account a session load reads ahead;
/// layered outside the session and auth layers.
pub async fn with_prefetch(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    prefetch::scope(next.run(request)).await
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.writes.create(record).await?;
        self.owners.note(record.id, owner(record));
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.writes.save(record).await?;
        self.owners.note(record.id, owner(record));
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let guess = self.owners.get(id).filter(|_| prefetch::has_room());
        let data = match guess {
            Some(user_id) => {
                let read = accounts::get_with_session(&self.reads, id, user_id).await.map_err(backend)?;
                if let Ok(account) = read.account {
                    prefetch::put(user_id, account, read.cached);
                }
                read.record
            }
            None => {
                let mut conn = self.reads.clone();
                conn.get(keys::session(id)).await.map_err(backend)?
            }
        };
        let Some(data) = data else {
            self.owners.note(*id, None);
            prefetch::clear();
            return Ok(None);
        };
        let record: Record = rmp_serde::from_slice(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let found = owner(&record);
        if found != guess {
            self.owners.note(*id, found);
            // A wrong guess: drop what it read now, not at the end of the request.
            prefetch::clear();
        }
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.writes.delete(id).await?;
        self.owners.note(*id, None);
        Ok(())
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The signed-in user a record names, if any.
fn owner(record: &Record) -> Option<Uuid> {
    record.data.get(AUTH_DATA_KEY)?.get("user_id")?.as_str()?.parse().ok()
}

/// The owner of each session seen lately: a guess, checked on every load.
struct Owners(BoundedMap<Id, Uuid>);

impl Default for Owners {
    fn default() -> Self {
        Self(BoundedMap::new(REMEMBERED_OWNERS))
    }
}

impl Owners {
    fn get(&self, id: &Id) -> Option<Uuid> {
        self.0.read(id, |owner| Some(*owner))
    }

    fn note(&self, id: Id, owner: Option<Uuid>) {
        match owner {
            Some(user_id) => self.0.insert(id, user_id),
            None => self.0.remove(&id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: serde_json::Value) -> Record {
        let data = serde_json::from_value(data).expect("a JSON object is a session's data");
        Record { id: Id::default(), data, expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc() }
    }

    #[test]
    fn the_owner_is_axum_logins_user_id() {
        let id = Uuid::now_v7();
        let signed_in = record(serde_json::json!({AUTH_DATA_KEY: {"user_id": id.to_string(), "auth_hash": [1, 2]}}));
        assert_eq!(owner(&signed_in), Some(id));
        assert_eq!(owner(&record(serde_json::json!({"renewed_at": 1}))), None);
        assert_eq!(owner(&record(serde_json::json!({AUTH_DATA_KEY: {"user_id": null}}))), None);
        assert_eq!(owner(&record(serde_json::json!({AUTH_DATA_KEY: {"user_id": "not-a-uuid"}}))), None);
    }

    #[test]
    fn owners_are_bounded_and_forgotten_with_their_session() {
        let owners = Owners::default();
        let first = Id::default();
        owners.note(first, Some(Uuid::nil()));
        assert_eq!(owners.get(&first), Some(Uuid::nil()));
        owners.note(first, None);
        assert_eq!(owners.get(&first), None);
        let kept = Id::default();
        owners.note(kept, Some(Uuid::nil()));
        for _ in 0..REMEMBERED_OWNERS + 5 {
            owners.note(Id::default(), Some(Uuid::nil()));
        }
        assert_eq!(owners.0.len(), REMEMBERED_OWNERS);
        owners.note(kept, Some(Uuid::max()));
        assert_eq!(owners.get(&kept), Some(Uuid::max()), "a new owner for a known session");
    }
}
