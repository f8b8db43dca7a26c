//! Accounts: creation with Argon2id password hashes, lookups, roles.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

use crate::clock;
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::{AuthorId, UserId};

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

/// A role an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Reader,
    Author,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Reader, Role::Author, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

// Stored comma-joined in the `roles` column (`reader,author`), answered as a list.
/// An account's roles, in the order they were granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// These roles and `role` (at the end, unless already held).
    pub fn with(&self, role: Role) -> Self {
        let mut roles = self.clone();
        if !roles.contains(role) {
            roles.0.push(role);
        }
        roles
    }
}

impl From<&[Role]> for Roles {
    fn from(roles: &[Role]) -> Self {
        Self(roles.to_vec())
    }
}

/// As stored: names joined by commas; an unknown name is skipped.
impl From<String> for Roles {
    fn from(stored: String) -> Self {
        Self(stored.split(',').filter_map(Role::parse).collect())
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, role) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}

/// A possible username: 3–32 characters of `[A-Za-z0-9_]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, String> {
        let shape = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(3..=32).contains(&text.len()) || !shape {
            return Err("username: 3 to 32 characters of A-Z, a-z, 0-9 and _".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A possible password: 8–128 characters. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// `field` names the request field in the error (`password`, `new_password`).
    pub fn parse(field: &str, text: String) -> Result<Self, String> {
        if !(8..=128).contains(&text.chars().count()) {
            return Err(format!("{field}: 8 to 128 characters"));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A nick name: trimmed, 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NickName(String);

impl NickName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 64 {
            return Err("nick_name: 1 to 64 characters".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new account's row.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a Username,
    pub nick_name: &'a NickName,
    pub roles: &'a Roles,
}

/// Inserts a user, hashing `password`.
pub async fn create_user(
    pool: &MySqlPool,
    user: NewUser<'_>,
    password: &Password,
) -> Result<(), AccountError> {
    let hash = hash_password(password.as_str());
    insert_user(pool, user, &hash).await
}

/// Like `create_user` with the password already hashed (callers hash off the async threads).
#[tracing::instrument(skip_all, fields(username))]
pub async fn insert_user(
    pool: &MySqlPool,
    user: NewUser<'_>,
    password_hash: &str,
) -> Result<(), AccountError> {
    let now = clock::now();
    let inserted = sqlx::query(
        r"INSERT INTO user (id, username, password_hash, nick_name, roles, create_time, update_time)
          VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user.id)
    .bind(user.username.as_str())
    .bind(password_hash)
    .bind(user.nick_name.as_str())
    .bind(user.roles.to_string())
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
    #[sqlx(try_from = "String")]
    pub roles: Roles,
    pub password_hash: String,
    pub session_frozen: bool,
    pub author_id: Option<AuthorId>,
}

#[tracing::instrument(skip_all)]
pub async fn find_login(
    pool: &MySqlPool,
    username: &Username,
) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        r"SELECT u.id, u.username, u.nick_name, u.roles, u.password_hash,
                 u.session_frozen = 1 AS session_frozen, a.id AS author_id
          FROM user u LEFT JOIN author a ON a.user_id = u.id WHERE u.username = ?",
    )
    .bind(username.as_str())
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
        assert!(Username::parse("ab_9").is_ok());
        for bad in ["ab", "a-b-c", "名字名字", &"x".repeat(33)] {
            assert!(Username::parse(bad).unwrap_err().starts_with("username"));
        }
        assert!(Password::parse("password", "1234567".into()).is_err());
        assert!(Password::parse("password", "12345678".into()).is_ok());
        assert!(NickName::parse(&"n".repeat(65)).is_err());
        assert_eq!(NickName::parse(" Mei ").unwrap().as_str(), "Mei");
    }

    #[test]
    fn roles_are_stored_comma_joined_and_answered_as_a_list() {
        let roles = Roles::from("reader,admin".to_owned());
        assert!(roles.contains(Role::Admin) && !roles.contains(Role::Author));
        assert_eq!(roles.with(Role::Author).to_string(), "reader,admin,author");
        assert_eq!(roles.with(Role::Admin), roles);
        assert_eq!(
            serde_json::to_value(&roles).unwrap(),
            serde_json::json!(["reader", "admin"])
        );
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
