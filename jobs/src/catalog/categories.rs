//! Categories (seeded, never written by the API) and how many published books each holds.

use serde::Serialize;
use sqlx::MySqlPool;

use crate::ids::CategoryId;

/// The original's two channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Male,
    Female,
}

/// The `ENUM('male','female')` column, read as its text.
impl TryFrom<String> for Channel {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "male" => Ok(Self::Male),
            "female" => Ok(Self::Female),
            _ => Err(format!("unknown channel {text}")),
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    /// Published books in the category.
    pub book_count: i64,
}

/// Every category in its `sort` order; each count is a range of the index
/// `(status, category_id, …)`, no scan of the book table.
#[tracing::instrument(skip_all)]
pub async fn categories(pool: &MySqlPool) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query_as(
        r"SELECT CAST(c.id AS SIGNED) AS id, c.name, CAST(c.channel AS CHAR) AS channel,
                 (SELECT COUNT(*) FROM book b WHERE b.status = 1 AND b.category_id = c.id)
                   AS book_count
          FROM book_category c ORDER BY c.sort, c.id",
    )
    .fetch_all(pool)
    .await
}

pub async fn category_exists(
    pool: &MySqlPool,
    category_id: CategoryId,
) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = sqlx::query_scalar("SELECT id FROM book_category WHERE id = ?")
        .bind(category_id)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}
