//! Demo data so a new user sees something at once: authors, books, free and VIP chapters.

use crate::accounts::{self, AccountError, NewUser, NickName, Password, Role, Roles, Username};
use crate::authoring::{self, NewChapter};
use crate::config::PricingSettings;
use crate::db::Db;
use crate::ids::IdGenerator;

/// Password of every demo account (they are for local trying-out only).
pub const DEMO_PASSWORD: &str = "demo-password";

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

const CHAPTERS: usize = 6;
const FREE_CHAPTERS: usize = 3;

fn chapter_text(book: &str, n: usize) -> String {
    let paragraph = format!(
        "In chapter {n} of {book}, the lamps of the city were lit one by one. \
         夜色渐深，街上的行人越来越少，只有茶楼里还传出断断续续的琴声。"
    );
    std::iter::repeat_n(paragraph, 12)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Loads the demo catalog; running it again changes nothing. Returns whether it loaded.
pub async fn load(db: &Db, ids: &IdGenerator, pricing: &PricingSettings) -> anyhow::Result<bool> {
    let password =
        Password::parse("password", DEMO_PASSWORD.to_owned()).map_err(anyhow::Error::msg)?;
    let readers = Roles::from(&[Role::Reader][..]);
    let account = |id, username: &str, nick_name: &str| -> anyhow::Result<_> {
        let username = Username::parse(username).map_err(anyhow::Error::msg)?;
        let nick_name = NickName::parse(nick_name).map_err(anyhow::Error::msg)?;
        Ok((id, username, nick_name))
    };
    for (index, (username, pen_name, books, publish_all)) in BOOKS.iter().enumerate() {
        let (user_id, username, nick_name) = account(ids.mint().await?, username, pen_name)?;
        let user = NewUser {
            id: user_id,
            username: &username,
            nick_name: &nick_name,
            roles: &readers,
        };
        match accounts::create_user(&db.main, user, &password).await {
            Err(AccountError::AlreadyExists) if index == 0 => return Ok(false),
            other => other?,
        }
        let author_id = ids.mint().await?;
        accounts::create_author(&db.main, author_id, user_id, pen_name).await?;
        for (nth, book_name) in books.iter().enumerate() {
            let book_id = ids.mint().await?;
            authoring::create_book(&db.main, book_id, author_id, book_name).await?;
            for n in 1..=CHAPTERS {
                let content = chapter_text(book_name, n);
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
        }
    }
    let (id, username, nick_name) = account(ids.mint().await?, "reader", "Demo Reader")?;
    let user = NewUser {
        id,
        username: &username,
        nick_name: &nick_name,
        roles: &readers,
    };
    accounts::create_user(&db.main, user, &password).await?;
    Ok(true)
}
