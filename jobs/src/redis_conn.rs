//! The Redis connection every process shares (auto-reconnecting, multiplexed).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

/// Connects with bounded timeouts, so an outage surfaces as an error instead of a hang.
pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(settings.url.expose_secret())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client, config).await
}
