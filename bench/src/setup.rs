//! A fresh benchmark deployment: its own main database and Redis prefix, funded readers and a
//! book with many VIP chapters (the data set both modes buy from).

use jobs::accounts::{self, NewUser, NickName, Role, Roles, Username};
use jobs::authoring;
use jobs::coins::Coins;
use jobs::config::Settings;
use jobs::db::Db;
use jobs::ids::{BookId, ChapterId, IdGenerator, UserId};
use jobs::ledger::{self, Entry, Reason};
use rand::seq::IndexedRandom;
use secrecy::{ExposeSecret, SecretString};

pub const PASSWORD: &str = "bench-password";
/// Coins per reader: enough that no purchase fails for want of money.
const COINS: Coins = Coins::new(1_000_000_000);
const PRICE: Coins = Coins::new(5);

pub struct Reader {
    pub id: UserId,
    pub username: String,
}

pub struct Fixture {
    pub settings: Settings,
    pub db: Db,
    pub ids: IdGenerator,
    pub readers: Vec<Reader>,
    pub chapters: Vec<ChapterId>,
    pub db_name: String,
}

/// `config/default.toml` (+ `NOVEL_ENV` overlay and env) with a database and prefix of our own.
pub fn settings() -> anyhow::Result<Settings> {
    let mut settings = jobs::config::load()?;
    let unique = ulid::Ulid::new().to_string().to_lowercase();
    let url = settings.database.url.expose_secret().to_owned();
    let base = url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .ok_or_else(|| anyhow::anyhow!("database.url has no database name"))?;
    settings.database.url = SecretString::from(format!("{base}/novel_bench_{unique}"));
    settings.redis.prefix = format!("bench{unique}");
    Ok(settings)
}

pub fn db_name(settings: &Settings) -> String {
    let url = settings.database.url.expose_secret();
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Migrates the fresh database and loads `readers` funded readers and `chapters` VIP chapters.
pub async fn prepare(
    settings: Settings,
    readers: usize,
    chapters: usize,
) -> anyhow::Result<Fixture> {
    jobs::db::migrate(&settings.database, &settings.sharding).await?;
    let db = Db::connect(&settings.database, &settings.sharding)?;
    let redis = jobs::redis_conn::connect(&settings.redis).await?;
    let ids =
        IdGenerator::start(redis, &settings.redis.prefix, 0, settings.ids.lease_ttl()).await?;
    let hash = tokio::task::spawn_blocking(|| accounts::hash_password(PASSWORD)).await?;
    let tag = &settings.redis.prefix[5..15];
    let mut list = Vec::with_capacity(readers);
    for n in 0..readers {
        let reader = Reader {
            id: ids.mint().await?,
            username: format!("r{tag}_{n}"),
        };
        insert_reader(&db, reader.id, &reader.username, "Reader", &hash).await?;
        let mut tx = db.main.begin().await?;
        let entry = Entry {
            id: ids.mint().await?,
            user_id: reader.id,
            reason: Reason::Credit,
            ref_id: "bench",
            note: Some("bench fixture"),
        };
        ledger::credit(&mut tx, entry, COINS).await?;
        tx.commit().await?;
        list.push(reader);
    }
    let book_id = book(&db, &ids, &hash, tag).await?;
    let chapters = bulk_chapters(&db, &ids, book_id, chapters).await?;
    Ok(Fixture {
        db_name: db_name(&settings),
        settings,
        db,
        ids,
        readers: list,
        chapters,
    })
}

async fn book(db: &Db, ids: &IdGenerator, hash: &str, tag: &str) -> anyhow::Result<BookId> {
    let user_id = ids.mint().await?;
    let author_id = ids.mint().await?;
    insert_reader(db, user_id, &format!("a{tag}"), "Author", hash).await?;
    accounts::create_author(&db.main, author_id, user_id, "Bench Pen").await?;
    let book_id = ids.mint().await?;
    authoring::create_book(&db.main, book_id, author_id, "The Bench Book").await?;
    authoring::publish_book(&db.main, book_id).await?;
    Ok(book_id)
}

/// A reader account with the password hashed once for all.
async fn insert_reader(
    db: &Db,
    id: UserId,
    username: &str,
    nick_name: &str,
    hash: &str,
) -> anyhow::Result<()> {
    let user = NewUser {
        id,
        username: &Username::parse(username).map_err(anyhow::Error::msg)?,
        nick_name: &NickName::parse(nick_name).map_err(anyhow::Error::msg)?,
        roles: &Roles::from(&[Role::Reader][..]),
    };
    accounts::insert_user(&db.main, user, hash).await?;
    Ok(())
}

/// VIP chapters inserted 500 a statement (no content: buying needs only the index rows).
async fn bulk_chapters(
    db: &Db,
    ids: &IdGenerator,
    book_id: BookId,
    n: usize,
) -> anyhow::Result<Vec<ChapterId>> {
    let mut index_ids = Vec::with_capacity(n);
    for _ in 0..n {
        index_ids.push(ids.mint().await?);
    }
    let now = jobs::clock::now();
    for (chunk_no, chunk) in index_ids.chunks(500).enumerate() {
        let mut insert = sqlx::QueryBuilder::<sqlx::MySql>::new(
            r"INSERT INTO book_index (id, book_id, index_num, index_name, word_count, is_vip,
                                      book_price, create_time, update_time) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut row, (n, id)| {
            let num = (chunk_no * 500 + n) as i32 + 1;
            row.push_bind(*id)
                .push_bind(book_id)
                .push_bind(num)
                .push_bind(format!("Chapter {num}"))
                .push_bind(1000)
                .push_bind(true)
                .push_bind(PRICE)
                .push_bind(now)
                .push_bind(now);
        });
        insert.build().execute(&db.main).await?;
    }
    Ok(index_ids)
}

/// What one virtual reader buys next: mostly single chapters, one in ten a batch of 2–10.
pub enum Pick {
    One(ChapterId),
    Many(Vec<ChapterId>),
}

pub fn pick(chapters: &[ChapterId]) -> Pick {
    let mut rng = rand::rng();
    if rand::Rng::random_ratio(&mut rng, 1, 10) {
        let n = rand::Rng::random_range(&mut rng, 2..=10);
        Pick::Many(chapters.choose_multiple(&mut rng, n).copied().collect())
    } else {
        Pick::One(*chapters.choose(&mut rng).expect("the book has chapters"))
    }
}

/// Drops the benchmark's database and Redis keys (kept with `--keep`).
pub async fn teardown(fixture: &Fixture) -> anyhow::Result<()> {
    fixture.ids.shutdown().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS `{}`",
        fixture.db_name
    )))
    .execute(&fixture.db.main)
    .await?;
    fixture.db.close().await;
    let mut redis = jobs::redis_conn::connect(&fixture.settings.redis).await?;
    let keys = redis.keys_of(&fixture.settings.redis.prefix).await?;
    // On a cluster one UNLINK is split per slot; chunks keep each command short.
    for chunk in keys.chunks(1000) {
        redis::cmd("UNLINK")
            .arg(chunk)
            .query_async::<()>(&mut redis)
            .await?;
    }
    Ok(())
}
