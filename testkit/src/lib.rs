//! Test support: a database and Redis prefix per test, worker processes, money fixtures.

pub mod fake_stripe;
pub mod groups;
pub mod proxy;
pub mod redis_cluster;
pub mod redis_server;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobs::accounts::{self, NewUser, NickName, Password, Role, Roles, Username};
use jobs::authoring::{self, NewChapter};
use jobs::coins::Coins;
use jobs::config::{RedisMode, RedisSettings, Settings};
use jobs::db::Db;
use jobs::ids::{BookId, ChapterId, IdGenerator, UserId};
use jobs::job::JobId;
use jobs::ledger::{self, Entry, Reason};
use secrecy::{ExposeSecret, SecretString};

/// The `test` overlay with a main database and Redis prefix of this test's own (the content
/// shards are shared: chapter ids never collide).
pub fn settings() -> Settings {
    if std::env::var("TEST_LOG").is_ok() {
        jobs::telemetry::init();
    }
    let mut settings = jobs::config::load_with("test").expect("test config loads");
    let unique = ulid::Ulid::new().to_string().to_lowercase();
    settings.database.url = settings.database.url_of(&format!("novel_t_{unique}"));
    settings.redis.prefix = format!("t{unique}");
    settings
}

/// The `NOVEL__…` variables that give a spawned web or worker process exactly the Redis of
/// `settings`: mode, server, cluster seeds, prefix, the AOF requirement, the replicas a submit
/// waits for and the job partitions.
/// All of them, always: a child inherits the test's environment, so without them a single-node
/// test run under the cluster pass (or a cluster test in the single pass) would hand its
/// processes the other mode.
pub fn redis_env(settings: &Settings) -> Vec<(&'static str, String)> {
    let redis = &settings.redis;
    let mode = match redis.mode {
        RedisMode::Single => "single",
        RedisMode::Cluster => "cluster",
    };
    let seeds: Vec<&str> = redis
        .cluster_nodes
        .iter()
        .map(|url| url.expose_secret())
        .collect();
    vec![
        ("NOVEL__REDIS__MODE", mode.to_owned()),
        ("NOVEL__REDIS__URL", redis.url.expose_secret().to_owned()),
        ("NOVEL__REDIS__CLUSTER_NODES", seeds.join(",")),
        ("NOVEL__REDIS__PREFIX", redis.prefix.clone()),
        ("NOVEL__REDIS__REQUIRE_AOF", redis.require_aof.to_string()),
        (
            "NOVEL__REDIS__WAIT_REPLICAS",
            redis.wait_replicas.to_string(),
        ),
        (
            "NOVEL__REDIS__WAIT_TIMEOUT_MS",
            redis.wait_timeout_ms.to_string(),
        ),
        (
            "NOVEL__JOBS__PARTITIONS",
            settings.jobs.partitions.to_string(),
        ),
    ]
}

/// Points `redis` at the one server at `url` (`mode = single`), whatever the environment
/// says: for tests of a Redis of their own (a crash, no AOF) or behind a proxy.
pub fn single_redis(redis: &mut RedisSettings, url: impl Into<String>) {
    redis.mode = RedisMode::Single;
    redis.url = SecretString::from(url.into());
}

/// Queues `make(a new job id)`, a job of `owner`'s (in the owner's partition where its kind is
/// partitioned), with no admission checks; its id.
pub async fn enqueue<T: jobs::job::Job>(
    queues: &jobs::job::queue::Partitioned<T>,
    status: &jobs::job::StatusStore,
    owner: UserId,
    make: impl FnOnce(JobId) -> T,
) -> JobId {
    let job_id = queues.new_id(owner);
    jobs::job::submit::enqueue(queues, status, make(job_id.clone()))
        .await
        .expect("Redis takes the job");
    job_id
}

/// `host:port` of a service URL (`scheme://[user@]host:port[/…]`): where a test's proxy
/// forwards to.
pub fn address_of(url: &SecretString) -> std::net::SocketAddr {
    let url = url.expose_secret();
    let authority = url.split("://").nth(1).unwrap_or(url);
    let authority = authority.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("no address in {host_port}"))
}

/// A migrated fresh database, its pools and an id generator under the test's prefix.
pub async fn prepare(settings: &Settings) -> (Db, IdGenerator) {
    jobs::db::migrate(&settings.database, &settings.sharding)
        .await
        .expect("migrations apply");
    let db = Db::connect(&settings.database, &settings.sharding).unwrap();
    let redis = jobs::redis_conn::connect(&settings.redis).await.unwrap();
    let ids = IdGenerator::start(redis, &settings.redis.prefix, 0, settings.ids.lease_ttl())
        .await
        .unwrap();
    (db, ids)
}

/// A reader (password `password123`) straight in the database.
pub async fn reader(db: &Db, ids: &IdGenerator, username: &str, nick_name: &str) -> UserId {
    let id = ids.mint().await.unwrap();
    let user = NewUser {
        id,
        username: &Username::parse(username).unwrap(),
        nick_name: &NickName::parse(nick_name).unwrap(),
        roles: &Roles::from(&[Role::Reader][..]),
    };
    let password = Password::parse("password", "password123".into()).unwrap();
    accounts::create_user(&db.main, user, &password)
        .await
        .unwrap();
    id
}

/// A reader holding `coins`, credited through the ledger like an admin credit.
pub async fn reader_with_coins(
    db: &Db,
    ids: &IdGenerator,
    username: &str,
    coins: impl Into<Coins>,
) -> UserId {
    let user_id = reader(db, ids, username, username).await;
    let coins = coins.into();
    if coins > Coins::ZERO {
        let mut tx = db.main.begin().await.unwrap();
        let entry = Entry {
            id: ids.mint().await.unwrap(),
            user_id,
            reason: Reason::Credit,
            ref_id: "fixture",
            note: Some("test fixture"),
        };
        ledger::credit(&mut tx, entry, coins).await.unwrap();
        tx.commit().await.unwrap();
    }
    user_id
}

/// A published book by a new author with `chapters` chapters; the first `free` are free.
/// Returns the book id and chapter ids; every VIP chapter of `words` characters.
pub async fn book(
    db: &Db,
    ids: &IdGenerator,
    settings: &Settings,
    chapters: usize,
    free: usize,
    words: usize,
) -> (BookId, Vec<ChapterId>) {
    let name = format!("a{}", ulid::Ulid::new().to_string().to_lowercase());
    let user_id = reader(db, ids, &name[..20], "Author").await;
    let author_id = ids.mint().await.unwrap();
    accounts::create_author(&db.main, author_id, user_id, "Pen")
        .await
        .unwrap();
    let book_id = ids.mint().await.unwrap();
    authoring::create_book(&db.main, book_id, author_id, "A Test Book")
        .await
        .unwrap();
    let content = "字".repeat(words);
    let mut index_ids = Vec::with_capacity(chapters);
    for n in 0..chapters {
        let chapter = NewChapter {
            book_id,
            index_name: &format!("Chapter {n}"),
            content: &content,
            is_vip: n >= free,
        };
        index_ids.push(
            authoring::add_chapter(db, ids, &settings.pricing, chapter)
                .await
                .unwrap()
                .index_id,
        );
    }
    authoring::publish_book(&db.main, book_id).await.unwrap();
    (book_id, index_ids)
}

pub async fn balance(db: &Db, user_id: UserId) -> Coins {
    sqlx::query_scalar("SELECT account_balance FROM user WHERE id = ?")
        .bind(user_id)
        .fetch_one(&db.main)
        .await
        .unwrap()
}

/// Asserts the money invariants of docs/design.md.
pub async fn assert_books_balance(db: &Db) {
    let violations = jobs::audit::violations(&db.main).await.unwrap();
    assert!(
        violations.is_empty(),
        "invariants violated: {violations:#?}"
    );
}

/// Waits until every job has a terminal outcome in MySQL; panics after `timeout`.
pub async fn wait_for_outcomes(db: &Db, job_ids: &[JobId], timeout: Duration) {
    let started = Instant::now();
    loop {
        let missing = jobs::audit::unfinished(&db.main, job_ids).await.unwrap();
        if missing.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "{} jobs never finished, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker process of this test's deployment; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    /// `http://127.0.0.1:port` of its `/metrics` and `/healthz`.
    pub metrics_url: String,
}

fn worker_binary() -> PathBuf {
    if let Ok(path) = std::env::var("NOVEL_WORKER_BIN") {
        return path.into();
    }
    // Integration tests run from target/<profile>/deps; the binaries sit one folder up.
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("worker")
}

/// The first line a process started with a piped stdout prints (our binaries print their
/// addresses there once they listen).
pub fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("the process starts");
    line
}

impl WorkerProcess {
    pub fn spawn(settings: &Settings) -> Self {
        Self::spawn_with(settings, &[])
    }

    /// With extra `NOVEL__…` overrides, e.g. a faster cron schedule.
    pub fn spawn_with(settings: &Settings, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(worker_binary())
            .envs(redis_env(settings))
            .envs(env.iter().copied())
            .env("NOVEL_ENV", "test")
            .env(
                "NOVEL__DATABASE__URL",
                settings.database.url.expose_secret(),
            )
            .env(
                "NOVEL__WORKER__CONCURRENCY",
                settings.worker.concurrency.to_string(),
            )
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .spawn()
            .expect("the worker binary is built (cargo builds it for the workspace's tests)");
        // Its first line names its metrics address (then it prints nothing more on stdout).
        let line = first_line(&mut child);
        let metrics_url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self { child, metrics_url }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no cleanup at all, as in a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful path.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` VIP chapters of `price` coins each, inserted in one statement (no content: buying
/// needs only the index rows). Returns their ids.
pub async fn bulk_chapters(
    db: &Db,
    ids: &IdGenerator,
    book_id: BookId,
    n: usize,
    price: impl Into<Coins>,
) -> Vec<ChapterId> {
    let mut index_ids = Vec::with_capacity(n);
    for _ in 0..n {
        index_ids.push(ids.mint().await.unwrap());
    }
    let price = price.into();
    let now = jobs::clock::now();
    let start: i32 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(index_num), 0) AS SIGNED) FROM book_index WHERE book_id = ?",
    )
    .bind(book_id)
    .fetch_one(&db.main)
    .await
    .map(|n: i64| n as i32)
    .unwrap();
    for (chunk_no, chunk) in index_ids.chunks(500).enumerate() {
        let mut insert = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO book_index (id, book_id, index_num, index_name, word_count, is_vip, book_price, create_time, update_time) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut row, (n, id)| {
            let num = start + (chunk_no * 500 + n) as i32 + 1;
            row.push_bind(*id)
                .push_bind(book_id)
                .push_bind(num)
                .push_bind(format!("Bulk {num}"))
                .push_bind(1000)
                .push_bind(true)
                .push_bind(price)
                .push_bind(now)
                .push_bind(now);
        });
        insert.build().execute(&db.main).await.unwrap();
    }
    index_ids
}
