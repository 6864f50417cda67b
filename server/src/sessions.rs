//! The session store: tower-sessions-redis-store's records, read through
//! the app's own Redis connection.
//!
//! Writes go through the crate's store (fred). Reads, one per signed-in
//! request, take the connection the page's other reads already use: one
//! client on the hot path instead of two.

use async_trait::async_trait;
use keyhold::keys;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_redis_store::RedisStore;

#[derive(Clone)]
pub struct Sessions {
    writes: RedisStore<fred::clients::Pool>,
    reads: ConnectionManager,
}

impl Sessions {
    pub fn new(pool: fred::clients::Pool, reads: ConnectionManager) -> Self {
        Self { writes: RedisStore::new(pool), reads }
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.writes.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.writes.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.reads.clone();
        let data: Option<Vec<u8>> =
            conn.get(keys::session(id)).await.map_err(|e| session_store::Error::Backend(e.to_string()))?;
        data.map(|d| rmp_serde::from_slice(&d).map_err(|e| session_store::Error::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.writes.delete(id).await
    }
}
