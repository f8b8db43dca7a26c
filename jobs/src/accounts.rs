//! Accounts: creation with Argon2id password hashes, lookups, roles.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::TryRngCore;
use sqlx::MySqlPool;

use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::json::now_millis;

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

/// Inserts a user with the given roles (comma separated, e.g. `reader,admin`).
#[tracing::instrument(skip_all, fields(username))]
pub async fn create_user(
    pool: &MySqlPool,
    id: i64,
    username: &str,
    password: &str,
    nick_name: &str,
    roles: &str,
) -> Result<(), AccountError> {
    let hash = hash_password(password);
    let now = now_millis();
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
    id: i64,
    user_id: i64,
    pen_name: &str,
) -> Result<(), AccountError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO author (id, user_id, pen_name, status, create_time) VALUES (?, ?, ?, 0, ?)",
    )
    .bind(id)
    .bind(user_id)
    .bind(pen_name)
    .bind(now_millis())
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
    .bind(now_millis())
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
