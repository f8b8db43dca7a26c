//! Demo data so a new user sees a living site at once: nine authors, 35 books across the seven
//! categories (Chinese and English, ongoing and finished, free and VIP chapters), readers who
//! bought chapters through the purchase code, and visit counts, so the home page and the
//! rankings are full on the first run.

mod text;

use chrono::Duration;
use sqlx::{MySqlPool, QueryBuilder};

use self::text::{AUTHORS, Lang, ORIGINAL_DETAILS};
use crate::accounts::{self, AccountError, NewUser, NickName, Password, Role, Roles, Username};
use crate::authoring::{self, NewChapter};
use crate::clock;
use crate::coins::Coins;
use crate::config::PricingSettings;
use crate::db::Db;
use crate::ids::{AuthorId, BookId, ChapterId, IdGenerator, UserId, mint_for_sql};
use crate::job::{JobId, Kind, Status};
use crate::ledger::{self, Entry, Reason};
use crate::purchase::{self, MAX_BATCH, Order};

/// Password of every demo account (they are for local trying-out only).
pub const DEMO_PASSWORD: &str = "demo-password";

/// The original demo books: the browser and API tests know them by name.
const BOOKS: &[(&str, &str, &[&str], bool)] = &[
    (
        "ink_river",
        "Ink River",
        &["The Jade Pavilion", "Nine Moons Over Lanzhou"],
        true,
    ),
    (
        "mei_lan",
        "Mei Lan",
        &["Coins of the Western Market", "The Unfinished Draft"],
        false,
    ),
    ("old_zhou", "Old Zhou", &["A Scholar's Long Night"], true),
];

/// The original books: six chapters, three free, each 1000–1199 words (5 coins a VIP chapter).
const CHAPTERS: usize = 6;
const FREE_CHAPTERS: usize = 3;
const ORIGINAL_WORDS: i64 = 1000;

/// Demo readers who bought chapters (never `reader`, whom the tests start with nothing).
const FANS: usize = 12;
const FAN_COINS: i64 = 5000;

/// A book as loaded: its VIP chapters, for the fans to buy.
struct Loaded {
    id: BookId,
    vip: Vec<ChapterId>,
}

/// What one book gets beyond its chapters.
struct Details<'a> {
    description: &'a str,
    category: i32,
    finished: bool,
    visits: i64,
    /// How long ago the book was created and last updated.
    created_ago: Duration,
    updated_ago: Duration,
}

/// Loads the demo catalog; running it again changes nothing. Returns whether it loaded.
pub async fn load(db: &Db, ids: &IdGenerator, pricing: &PricingSettings) -> anyhow::Result<bool> {
    let password =
        Password::parse("password", DEMO_PASSWORD.to_owned()).map_err(anyhow::Error::msg)?;
    let hash =
        tokio::task::spawn_blocking(move || accounts::hash_password(password.as_str())).await?;
    let users = Users {
        pool: &db.main,
        ids,
        hash: &hash,
    };
    let mut loaded = Vec::new();
    for (index, (username, pen_name, books, publish_all)) in BOOKS.iter().enumerate() {
        let author_id = match users.author(username, pen_name).await {
            Err(e)
                if index == 0 && matches!(e.downcast_ref(), Some(AccountError::AlreadyExists)) =>
            {
                return Ok(false);
            }
            other => other?,
        };
        for (nth, book_name) in books.iter().enumerate() {
            let book_id = ids.mint().await?;
            authoring::create_book(&db.main, book_id, author_id, book_name).await?;
            let seed = index * 2 + nth;
            for n in 1..=CHAPTERS {
                let first = format!(
                    "In chapter {n} of {book_name}, the lamps of the city were lit one by one. \
                     夜色渐深，街上的行人越来越少，只有茶楼里还传出断断续续的琴声。"
                );
                let content = text::chapter_text(Lang::En, seed, n, Some(&first), ORIGINAL_WORDS);
                let chapter = NewChapter {
                    book_id,
                    index_name: &format!("Chapter {n}"),
                    content: &content,
                    is_vip: n > FREE_CHAPTERS,
                };
                authoring::add_chapter(db, ids, pricing, chapter).await?;
            }
            // One book stays a draft, visible only to its author.
            if *publish_all || nth == 0 {
                authoring::publish_book(&db.main, book_id).await?;
            }
            let (_, category, finished, description) = ORIGINAL_DETAILS
                .iter()
                .find(|(name, ..)| name == book_name)
                .expect("every original book has details");
            let details = Details {
                description,
                category: *category,
                finished: *finished,
                visits: 900 + 450 * (seed as i64),
                created_ago: Duration::zero(),
                updated_ago: Duration::zero(),
            };
            describe(&db.main, book_id, &details).await?;
        }
    }
    users.user("reader", "Demo Reader").await?;
    for (a, author) in AUTHORS.iter().enumerate() {
        let author_id = users.author(author.username, author.pen_name).await?;
        // One book after another: concurrent chapter inserts into neighbouring books'
        // index ranges deadlock on their gap locks.
        for (nth, book) in author.books.iter().enumerate() {
            let seed = a * author.books.len() + nth;
            loaded.push(write_book(db, ids, pricing, author_id, author.lang, seed, book).await?);
        }
    }
    buy(db, ids, &users, &loaded).await?;
    Ok(true)
}

/// Creates demo accounts with one password hash (hashing is slow by design).
struct Users<'a> {
    pool: &'a MySqlPool,
    ids: &'a IdGenerator,
    hash: &'a str,
}

impl Users<'_> {
    async fn user(&self, username: &str, nick_name: &str) -> anyhow::Result<UserId> {
        let username = Username::parse(username).map_err(anyhow::Error::msg)?;
        let nick_name = NickName::parse(nick_name).map_err(anyhow::Error::msg)?;
        let id = mint_for_sql(self.ids).await?;
        let user = NewUser {
            id,
            username: &username,
            nick_name: &nick_name,
            roles: &Roles::from(&[Role::Reader][..]),
        };
        accounts::insert_user(self.pool, user, self.hash).await?;
        Ok(id)
    }

    async fn author(&self, username: &str, pen_name: &str) -> anyhow::Result<AuthorId> {
        let user_id = self.user(username, pen_name).await?;
        let author_id = mint_for_sql(self.ids).await?;
        accounts::create_author(self.pool, author_id, user_id, pen_name).await?;
        Ok(author_id)
    }
}

/// One of the 30 further books: 4–12 chapters, the first few free (every sixth book all free).
async fn write_book(
    db: &Db,
    ids: &IdGenerator,
    pricing: &PricingSettings,
    author_id: AuthorId,
    lang: Lang,
    seed: usize,
    book: &text::Book,
) -> anyhow::Result<Loaded> {
    let book_id: BookId = ids.mint().await?;
    authoring::create_book(&db.main, book_id, author_id, book.name).await?;
    let chapters = 4 + (seed * 7) % 9;
    let free = if seed % 6 == 5 {
        chapters
    } else {
        2 + seed % 3
    };
    let min_words = match lang {
        Lang::Zh => 1400 + (seed % 5) as i64 * 250,
        Lang::En => 1600 + (seed % 4) as i64 * 300,
    };
    let mut vip = Vec::new();
    for n in 1..=chapters {
        let content = text::chapter_text(lang, seed, n, None, min_words);
        let chapter = NewChapter {
            book_id,
            index_name: &text::chapter_name(lang, seed, n),
            content: &content,
            is_vip: n > free,
        };
        let added = authoring::add_chapter(db, ids, pricing, chapter).await?;
        if n > free {
            vip.push(added.index_id);
        }
    }
    authoring::publish_book(&db.main, book_id).await?;
    let hours = |h: usize| Duration::hours(h as i64);
    let details = Details {
        description: book.description,
        category: book.category,
        finished: book.finished,
        // Earlier books are the popular ones, with some noise.
        visits: 300 + ((30 - seed as i64) * 520) + ((seed as i64 * 7919) % 2400),
        created_ago: hours(24 * (5 + (seed * 11) % 60)),
        updated_ago: hours(seed * 5 + seed % 4 + 1),
    };
    describe(&db.main, book_id, &details).await?;
    Ok(Loaded { id: book_id, vip })
}

/// Sets what `create_book` leaves at its defaults: description, category, state, visits, and
/// times spread over the past weeks so "newest" and "updated" differ.
async fn describe(pool: &MySqlPool, book_id: BookId, details: &Details<'_>) -> sqlx::Result<()> {
    let now = clock::now();
    let (created, updated) = (now - details.created_ago, now - details.updated_ago);
    sqlx::query(
        r"UPDATE book SET description = ?, category_id = ?, book_status = ?, visit_count = ?,
                          create_time = ?, update_time = ?, last_index_update_time = ?
          WHERE id = ?",
    )
    .bind(details.description)
    .bind(details.category)
    .bind(if details.finished {
        "finished"
    } else {
        "ongoing"
    })
    .bind(details.visits)
    .bind(created)
    .bind(updated)
    .bind(updated)
    .bind(book_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Demo fans get coins (a credit in the ledger) and buy VIP chapters through the purchase
/// code, popular books more often; then each book's `sales` is its buy records, as the income
/// rollup derives it.
async fn buy(
    db: &Db,
    ids: &IdGenerator,
    users: &Users<'_>,
    books: &[Loaded],
) -> anyhow::Result<()> {
    for fan in 0..FANS {
        let user_id = users
            .user(
                &format!("fan{:02}", fan + 1),
                &format!("书友{:02}", fan + 1),
            )
            .await?;
        let mut tx = db.main.begin().await?;
        let entry = Entry {
            id: mint_for_sql(ids).await?,
            user_id,
            reason: Reason::Credit,
            ref_id: "demo",
            note: Some("demo coins"),
        };
        ledger::credit(&mut tx, entry, Coins::new(FAN_COINS)).await?;
        tx.commit().await?;
        let mut chapters = Vec::new();
        for (b, book) in books.iter().enumerate() {
            let wants = (fan * 7 + b * 13) % 100 < 80_usize.saturating_sub(b * 2);
            if wants && !book.vip.is_empty() {
                let count = 1 + (fan + b) % book.vip.len();
                chapters.extend_from_slice(&book.vip[..count]);
            }
        }
        for batch in chapters.chunks(MAX_BATCH) {
            let job_id = JobId::new();
            let mut index_ids = batch.to_vec();
            index_ids.sort_unstable();
            let order = Order {
                job_id: &job_id,
                user_id,
                kind: Kind::BatchPurchase,
                index_ids,
                max_spent: None,
            };
            let done = purchase::run(&db.main, ids, &order, 1, 3).await?;
            anyhow::ensure!(
                done.view.status == Status::Succeeded,
                "demo purchase failed: {:?}",
                done.view
            );
        }
    }
    let mut sales = QueryBuilder::new(
        r"UPDATE book b SET b.sales = (SELECT COUNT(*) FROM user_buy_record r
                                        WHERE r.book_id = b.id AND r.refund_status = 0)
          WHERE b.id IN (",
    );
    let mut list = sales.separated(", ");
    for book in books {
        list.push_bind(book.id);
    }
    sales.push(")");
    sales.build().execute(&db.main).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_books_vip_chapters_cost_five_coins() {
        let pricing = PricingSettings {
            words_per_unit: 1000,
            coins_per_unit: 5,
        };
        for n in 1..=CHAPTERS {
            let content = text::chapter_text(Lang::En, 4, n, Some("In chapter"), ORIGINAL_WORDS);
            let words = authoring::word_count(&content);
            assert_eq!(
                authoring::price(&pricing, words, true),
                Coins::new(5),
                "{words}"
            );
        }
    }
}
