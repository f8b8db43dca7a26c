//! Account reads and changes beyond login: profiles, the admin list, passwords, freezing.

use sqlx::{AssertSqlSafe, MySqlPool};

use crate::accounts::{Roles, Username};
use crate::clock;
use crate::coins::Coins;
use crate::ids::{AuthorId, UserId};
use crate::paging::{self, Binds, Page, PageRequest, SearchText};

/// An account as its owner (`/api/me`) and admins see it.
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub nick_name: String,
    #[sqlx(try_from = "String")]
    pub roles: Roles,
    pub balance: Coins,
    pub frozen: bool,
    pub author_id: Option<AuthorId>,
}

const USER_COLUMNS: &str = r"SELECT u.id, u.username, u.nick_name, u.roles,
    u.account_balance AS balance, u.session_frozen = 1 AS frozen, a.id AS author_id
    FROM user u LEFT JOIN author a ON a.user_id = u.id";

#[tracing::instrument(skip_all)]
pub async fn user(pool: &MySqlPool, id: UserId) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!("{USER_COLUMNS} WHERE u.id = ?")))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Users whose username or nick name contains `q` (literally), newest first.
#[tracing::instrument(skip_all)]
pub async fn list_users(
    pool: &MySqlPool,
    q: Option<&SearchText>,
    request: PageRequest,
) -> Result<Page<UserRow>, sqlx::Error> {
    let pattern = q.map(SearchText::like_pattern);
    // `username` is ASCII: convert it, or a non-ASCII pattern is an illegal mix of collations.
    let filter =
        "WHERE (? IS NULL OR CONVERT(u.username USING utf8mb4) LIKE ? OR u.nick_name LIKE ?)";
    paging::count_and_page(
        pool,
        AssertSqlSafe(format!("SELECT COUNT(*) FROM user u {filter}")),
        AssertSqlSafe(format!(
            "{USER_COLUMNS} {filter} ORDER BY u.create_time DESC, u.id DESC"
        )),
        Binds::default()
            .bind(&pattern)
            .bind(&pattern)
            .bind(&pattern),
        request,
    )
    .await
}

/// Sets a new password hash unless the account is frozen (or gone): `false` then.
#[tracing::instrument(skip_all)]
pub async fn set_password_hash(
    pool: &MySqlPool,
    id: UserId,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE user SET password_hash = ?, update_time = ? WHERE id = ? AND session_frozen = 0",
    )
    .bind(hash)
    .bind(clock::now())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Freezes or unfreezes an account's sessions; `false` when there is no such account.
#[tracing::instrument(skip_all)]
pub async fn set_frozen(
    pool: &MySqlPool,
    username: &Username,
    frozen: bool,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id: Option<UserId> =
        sqlx::query_scalar("SELECT id FROM user WHERE username = ? FOR UPDATE")
            .bind(username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let Some(id) = id else {
        return Ok(false);
    };
    sqlx::query("UPDATE user SET session_frozen = ?, update_time = ? WHERE id = ?")
        .bind(i8::from(frozen))
        .bind(clock::now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

#[tracing::instrument(skip_all)]
pub async fn is_frozen(pool: &MySqlPool, id: UserId) -> Result<bool, sqlx::Error> {
    let frozen: Option<bool> =
        sqlx::query_scalar("SELECT session_frozen = 1 FROM user WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(frozen.unwrap_or(true))
}

/// Adds the admin role to an existing account; `false` when there is no such account.
#[tracing::instrument(skip_all)]
pub async fn grant_admin(pool: &MySqlPool, username: &Username) -> Result<bool, sqlx::Error> {
    let found: Option<UserId> = sqlx::query_scalar("SELECT id FROM user WHERE username = ?")
        .bind(username.as_str())
        .fetch_optional(pool)
        .await?;
    let Some(id) = found else {
        return Ok(false);
    };
    sqlx::query(
        r"UPDATE user SET roles = CONCAT(roles, ',admin'), update_time = ?
          WHERE id = ? AND FIND_IN_SET('admin', roles) = 0",
    )
    .bind(clock::now())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(true)
}
