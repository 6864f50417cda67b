//! Redis clients built from one set of settings: the `redis` crate's
//! self-reconnecting `ConnectionManager` for data, and a fred pool for the
//! session store. Both connect lazily, so the server starts while Redis is
//! down and recovers on its own when Redis comes back.

use crate::config::RedisSettings;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long one command may take before the request gives up (and answers 503).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid Redis settings for the data connection")]
    Data(#[source] redis::RedisError),
    #[error("invalid Redis settings for the session pool")]
    Sessions(#[source] fred::error::Error),
}

/// The data connection. Returns at once; the first command connects.
pub fn data_connection(settings: &RedisSettings) -> Result<ConnectionManager, ConnectError> {
    let client = redis::Client::open(settings.connection_url().expose_secret()).map_err(ConnectError::Data)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client, config).map_err(ConnectError::Data)
}

/// The session store's pool. Starts connecting in the background and keeps
/// reconnecting for as long as the process lives.
pub fn session_pool(settings: &RedisSettings) -> Result<fred::clients::Pool, ConnectError> {
    use fred::prelude::*;
    let mut config = Config::from_url(settings.connection_url().expose_secret()).map_err(ConnectError::Sessions)?;
    // Run the reconnect policy for the first connection too, instead of failing start-up.
    config.fail_fast = false;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = CONNECT_TIMEOUT;
            c.internal_command_timeout = RESPONSE_TIMEOUT;
            c.max_command_attempts = 1;
        })
        .with_performance_config(|p| {
            p.default_command_timeout = RESPONSE_TIMEOUT;
        })
        .set_policy(ReconnectPolicy::new_constant(0, 500))
        .build_pool(2)
        .map_err(ConnectError::Sessions)?;
    let _connection_tasks = pool.connect();
    Ok(pool)
}

/// Whether Redis answered recently. Pages and the API answer 503 at once while
/// it is down instead of waiting for a timeout on every request.
#[derive(Clone, Debug)]
pub struct RedisHealth(Arc<AtomicBool>);

impl Default for RedisHealth {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl RedisHealth {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, up: bool) {
        let was = self.0.swap(up, Ordering::Relaxed);
        if was != up {
            if up {
                tracing::info!("redis is reachable again");
            } else {
                tracing::warn!("redis is unreachable");
            }
        }
    }

    /// PINGs Redis every `every` and records the answer; runs until the
    /// runtime stops.
    pub fn spawn_monitor(&self, conn: ConnectionManager, every: Duration) -> tokio::task::JoinHandle<()> {
        let health = self.clone();
        tokio::spawn(async move {
            loop {
                health.set(ping(&conn).await);
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// One PING with a short deadline.
pub async fn ping(conn: &ConnectionManager) -> bool {
    let mut conn = conn.clone();
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    matches!(tokio::time::timeout(CONNECT_TIMEOUT * 2, ping).await, Ok(Ok(_)))
}
