//! Accounts: creation with Argon2id password hashes, lookups, roles.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::TryRngCore;
use sqlx::MySqlPool;

use crate::clock;
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::{AuthorId, UserId};

pub const READER: &str = "reader";
pub const AUTHOR: &str = "author";
pub const ADMIN: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("already exists")]
    AlreadyExists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub fn hash_password(password: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS RNG is available");
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// `username`: 3–32 characters of `[A-Za-z0-9_]`.
pub fn validate_username(username: &str) -> Result<(), String> {
    let shape = username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !(3..=32).contains(&username.len()) || !shape {
        return Err("username: 3 to 32 characters of A-Z, a-z, 0-9 and _".into());
    }
    Ok(())
}

/// `password`: 8–128 characters.
pub fn validate_password(field: &str, password: &str) -> Result<(), String> {
    if !(8..=128).contains(&password.chars().count()) {
        return Err(format!("{field}: 8 to 128 characters"));
    }
    Ok(())
}

/// `nick_name`: 1–64 characters.
pub fn validate_nick_name(nick_name: &str) -> Result<(), String> {
    if nick_name.trim().is_empty() || nick_name.chars().count() > 64 {
        return Err("nick_name: 1 to 64 characters".into());
    }
    Ok(())
}

/// Roles as stored (`reader,author`) into a list.
pub fn role_list(roles: &str) -> Vec<String> {
    roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Inserts a user with the given roles (comma separated, e.g. `reader,admin`).
pub async fn create_user(
    pool: &MySqlPool,
    id: UserId,
    username: &str,
    password: &str,
    nick_name: &str,
    roles: &str,
) -> Result<(), AccountError> {
    let hash = hash_password(password);
    insert_user(pool, id, username, &hash, nick_name, roles).await
}

/// Like `create_user` with the password already hashed (callers hash off the async threads).
#[tracing::instrument(skip_all, fields(username))]
pub async fn insert_user(
    pool: &MySqlPool,
    id: UserId,
    username: &str,
    hash: &str,
    nick_name: &str,
    roles: &str,
) -> Result<(), AccountError> {
    let now = clock::now();
    let inserted = sqlx::query(
        r"INSERT INTO user (id, username, password_hash, nick_name, roles, create_time, update_time)
          VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(username)
    .bind(hash)
    .bind(nick_name)
    .bind(roles)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await;
    match inserted {
        Err(e) if mysql_code(&e) == Some(DUPLICATE_KEY) => Err(AccountError::AlreadyExists),
        other => other.map(|_| ()).map_err(AccountError::Db),
    }
}

/// Makes a user an author with a pen name; returns the author id.
#[tracing::instrument(skip_all)]
pub async fn create_author(
    pool: &MySqlPool,
    id: AuthorId,
    user_id: UserId,
    pen_name: &str,
) -> Result<(), AccountError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO author (id, user_id, pen_name, status, create_time) VALUES (?, ?, ?, 0, ?)",
    )
    .bind(id)
    .bind(user_id)
    .bind(pen_name)
    .bind(clock::now())
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if mysql_code(&e) == Some(DUPLICATE_KEY) => return Err(AccountError::AlreadyExists),
        other => other?,
    };
    sqlx::query(
        r"UPDATE user SET roles = CONCAT(roles, ',author'), update_time = ?
          WHERE id = ? AND FIND_IN_SET('author', roles) = 0",
    )
    .bind(clock::now())
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a login needs to know about an account.
#[derive(Debug, sqlx::FromRow)]
pub struct LoginRow {
    pub id: UserId,
    pub username: String,
    pub nick_name: String,
    pub roles: String,
    pub password_hash: String,
    pub session_frozen: bool,
    pub author_id: Option<AuthorId>,
}

#[tracing::instrument(skip_all)]
pub async fn find_login(pool: &MySqlPool, username: &str) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        r"SELECT u.id, u.username, u.nick_name, u.roles, u.password_hash,
                 u.session_frozen = 1 AS session_frozen, a.id AS author_id
          FROM user u LEFT JOIN author a ON a.user_id = u.id WHERE u.username = ?",
    )
    .bind(username)
    .fetch_optional(pool)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn find_login_by_id(
    pool: &MySqlPool,
    id: UserId,
) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        r"SELECT u.id, u.username, u.nick_name, u.roles, u.password_hash,
                 u.session_frozen = 1 AS session_frozen, a.id AS author_id
          FROM user u LEFT JOIN author a ON a.user_id = u.id WHERE u.id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked_naming_the_field() {
        assert!(validate_username("ab_9").is_ok());
        for bad in ["ab", "a-b-c", "名字名字", &"x".repeat(33)] {
            assert!(validate_username(bad).unwrap_err().starts_with("username"));
        }
        assert!(validate_password("password", "1234567").is_err());
        assert!(validate_password("password", "12345678").is_ok());
        assert!(validate_nick_name(&"n".repeat(65)).is_err());
        assert_eq!(role_list("reader,admin"), ["reader", "admin"]);
    }

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
