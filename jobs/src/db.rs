//! Connection pools (main database + ten content data sources) and migrations.

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::MigrateDatabase;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{Connection, Executor, MySql};

use crate::config::{DatabaseSettings, ShardingSettings};
use crate::ids::{BookId, ChapterId};
use crate::shard::{ContentShard, ShardFlags, route};

/// Every pool a process needs. Cloning is cheap (pools are shared handles).
#[derive(Debug, Clone)]
pub struct Db {
    pub main: MySqlPool,
    shards: Vec<MySqlPool>,
    flags: ShardFlags,
}

fn options(url: &str) -> Result<MySqlConnectOptions, sqlx::Error> {
    url.parse()
}

/// A connection idle in the pool longer than this is pinged before use. sqlx pings every
/// connection when it is released, so one taken again sooner was alive a moment ago; its
/// default ping on every acquire too cost each purchase transaction one more round trip.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

fn pool(url: &str, max: u32, settings: &DatabaseSettings) -> Result<MySqlPool, sqlx::Error> {
    let lock_wait = settings.lock_wait_timeout_secs;
    Ok(MySqlPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(settings.acquire_timeout())
        .idle_timeout(Some(Duration::from_secs(300)))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // The server default of 50 s would stall a job far longer than a retry costs.
                let sql = format!(
                    "SET SESSION innodb_lock_wait_timeout = {lock_wait}, time_zone = '+00:00'"
                );
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options(url)?))
}

impl Db {
    /// Builds the pools lazily: a process starts even while MySQL is down and connects on use.
    pub fn connect(
        database: &DatabaseSettings,
        sharding: &ShardingSettings,
    ) -> Result<Self, sqlx::Error> {
        let main = pool(
            database.url.expose_secret(),
            database.max_connections,
            database,
        )?;
        let shards = sharding
            .data_sources
            .iter()
            .map(|url| {
                pool(
                    url.expose_secret(),
                    database.shard_max_connections,
                    database,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            main,
            shards,
            flags: ShardFlags {
                database_enabled: sharding.database_enabled,
                table_enabled: sharding.table_enabled,
            },
        })
    }

    /// The pool and table holding a chapter's content.
    pub fn content(&self, book_id: BookId, index_id: ChapterId) -> (&MySqlPool, ContentShard) {
        let shard = route(self.flags, book_id, index_id);
        (&self.shards[shard.data_source], shard)
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.main).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.main.close().await;
        for shard in &self.shards {
            shard.close().await;
        }
    }
}

/// Creates the databases if missing and applies every migration. Run from one place only
/// (`web migrate`); sqlx takes an advisory lock so a concurrent run waits instead of racing.
pub async fn migrate(
    database: &DatabaseSettings,
    sharding: &ShardingSettings,
) -> anyhow::Result<()> {
    let main_url = database.url.expose_secret();
    create_if_missing(main_url).await?;
    let main = MySqlPool::connect_with(options(main_url)?).await?;
    // Shards may be shared by several deployments (and test databases); one migrator at a time.
    let mut lock = main.acquire().await?;
    sqlx::query("SELECT GET_LOCK('novel_migrate', 300)")
        .execute(&mut *lock)
        .await?;
    let migrated = migrate_all(&main, sharding).await;
    sqlx::query("SELECT RELEASE_LOCK('novel_migrate')")
        .execute(&mut *lock)
        .await?;
    drop(lock);
    main.close().await;
    migrated
}

async fn migrate_all(main: &MySqlPool, sharding: &ShardingSettings) -> anyhow::Result<()> {
    sqlx::migrate!("../migrations/main").run(main).await?;
    for url in &sharding.data_sources {
        let url = url.expose_secret();
        create_if_missing(url).await?;
        let shard = MySqlPool::connect_with(options(url)?).await?;
        sqlx::migrate!("../migrations/content").run(&shard).await?;
        shard.close().await;
    }
    Ok(())
}

async fn create_if_missing(url: &str) -> Result<(), sqlx::Error> {
    if !MySql::database_exists(url).await? {
        // A concurrent creator may win between the check and the create; that is fine.
        if let Err(error) = MySql::create_database(url).await
            && !MySql::database_exists(url).await?
        {
            return Err(error);
        }
    }
    Ok(())
}

/// MySQL error number of a database error (1062 duplicate, 1213 deadlock, 1205 lock wait).
pub fn mysql_code(error: &sqlx::Error) -> Option<u16> {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .map(|e| e.number())
}

/// Whether `error` may pass if the same work is tried again: the server or the connection was
/// unavailable, or the transaction lost a conflict. Any other is the work's own fault.
pub fn is_transient(error: &sqlx::Error) -> bool {
    use sqlx::Error::{Io, PoolClosed, PoolTimedOut, Protocol, Tls, WorkerCrashed};
    matches!(
        error,
        Io(_) | Tls(_) | PoolTimedOut | PoolClosed | WorkerCrashed | Protocol(_)
    ) || matches!(
        mysql_code(error),
        Some(DEADLOCK | LOCK_WAIT_TIMEOUT | SNAPSHOT_CONFLICT)
    )
}

/// Runs `attempt` again (a few ms later) while it fails with a deadlock, a lock wait timeout or
/// a snapshot-isolation conflict (MariaDB 11.6+ turns `innodb_snapshot_isolation` on), at most `retries` more times; every retry is counted in `novel_db_retries_total`.
pub async fn with_retries<T, F, Fut>(retries: u32, mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        let error = match attempt().await {
            Err(error) if tries < retries => error,
            other => return other,
        };
        let reason = match mysql_code(&error) {
            Some(DEADLOCK) => "deadlock",
            Some(LOCK_WAIT_TIMEOUT) => "lock_wait",
            Some(SNAPSHOT_CONFLICT) => "snapshot_conflict",
            _ => return Err(error),
        };
        tries += 1;
        metrics::counter!(crate::metrics::DB_RETRIES, "reason" => reason).increment(1);
        let jitter = rand::random_range(1..=10u64) * u64::from(tries);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
}

pub const DUPLICATE_KEY: u16 = 1062;
pub const DEADLOCK: u16 = 1213;
pub const LOCK_WAIT_TIMEOUT: u16 = 1205;
/// "Record has changed since last read": a row a transaction's snapshot read was changed and
/// committed by another before this one locked it.
pub const SNAPSHOT_CONFLICT: u16 = 1020;

#[cfg(test)]
mod tests {
    use super::*;

    /// Pings (and other admin commands) this connection has sent.
    async fn pings(conn: &mut sqlx::MySqlConnection) -> i64 {
        let (_, count): (String, String) =
            sqlx::query_as("SHOW SESSION STATUS LIKE 'Com_admin_commands'")
                .fetch_one(conn)
                .await
                .unwrap();
        count.parse().unwrap()
    }

    #[tokio::test]
    async fn a_snapshot_isolation_conflict_is_retried_like_a_deadlock() {
        let settings = crate::config::load_with("test").unwrap().database;
        let server = pool(settings.url_of("").expose_secret(), 2, &settings).unwrap();
        let table = format!(
            "novel_t_snapshot_{}.counter",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let (schema, _) = table.split_once('.').unwrap();
        for sql in [
            format!("CREATE DATABASE {schema}"),
            format!("CREATE TABLE {table} (id INT PRIMARY KEY, n INT NOT NULL)"),
            format!("INSERT INTO {table} VALUES (1, 0)"),
        ] {
            server.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        let tries = std::sync::atomic::AtomicU32::new(0);
        let bump = format!("UPDATE {table} SET n = n + 1 WHERE id = 1");
        let result = with_retries(2, || async {
            let first = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            let mut tx = server.begin().await?;
            tx.execute("SET SESSION innodb_snapshot_isolation = ON")
                .await?;
            tx.execute(sqlx::AssertSqlSafe(format!("SELECT n FROM {table}")))
                .await?;
            if first {
                // Another transaction changes the row this snapshot has read, and commits.
                server.execute(sqlx::AssertSqlSafe(bump.clone())).await?;
            }
            tx.execute(sqlx::AssertSqlSafe(bump.clone())).await?;
            tx.commit().await
        })
        .await;
        let _ = server
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {schema}")))
            .await;
        result.expect("the conflict is retried");
        assert_eq!(tries.into_inner(), 2, "one conflict, one retry");
    }

    #[tokio::test]
    async fn a_connection_taken_again_at_once_is_not_pinged_but_one_idle_a_while_is() {
        let settings = crate::config::load_with("test").unwrap().database;
        let one = pool(settings.url_of("").expose_secret(), 1, &settings).unwrap();
        let first = pings(&mut one.acquire().await.unwrap()).await;
        // The release ping runs in the background once the connection is dropped.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = pings(&mut one.acquire().await.unwrap()).await;
        assert_eq!(again - first, 1, "only the release ping, none on acquire");
        tokio::time::sleep(PING_IF_IDLE_FOR + Duration::from_millis(200)).await;
        let later = pings(&mut one.acquire().await.unwrap()).await;
        assert_eq!(later - again, 2, "the release ping and one on acquire");
    }
}
