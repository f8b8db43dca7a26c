//! Token sessions in Redis: tokens, cookies, the resolving middleware and the role extractors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jobs::accounts::{Role, Roles};
use jobs::ids::{AuthorId, UserId};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

mod extract;
pub mod limits;
pub mod list;
mod middleware;
mod open;
pub mod store;

pub use extract::{AdminSession, AuthorSession, EditorSession, MaybeSession};
pub use middleware::resolve;
pub use open::{Opened, open};

pub const COOKIE: &str = "novel_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the request proved who it is; only cookie requests need a CSRF token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// A live session, as the middleware resolved it for this request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Hex SHA-256 of the token: the Redis key part (the raw token is never stored).
    pub key: String,
    pub user_id: UserId,
    pub account: String,
    pub roles: Roles,
    pub author_id: Option<AuthorId>,
    pub remember_me: bool,
    pub csrf: String,
    pub via: Via,
}

impl Session {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(role)
    }
}

/// 256 random bits from the OS, URL-safe base64 without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS RNG is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new token whose key falls in session partition `part` ([`jobs::keys::session_part_of_key`]),
/// so the session's keys can be found from the token alone: tokens are drawn until one does
/// (16 draws on average, microseconds); the token itself is as random as [`new_token`]'s.
pub fn new_token_in(part: u8) -> String {
    loop {
        let token = new_token();
        if jobs::keys::session_part_of_key(&token_key(&token)) == part {
            return token;
        }
    }
}

/// The key part a token is stored under: a leaked Redis dump reveals no usable token.
pub fn token_key(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// `Set-Cookie` value carrying `token`; `Max-Age` only for remember-me sessions.
pub fn cookie(token: &str, max_age_secs: Option<u64>, secure: bool) -> String {
    let mut cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = max_age_secs {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// `Set-Cookie` value that makes the browser forget the token.
pub fn expired_cookie(secure: bool) -> String {
    cookie("", Some(0), secure)
}

/// Registers the login outcomes at 0 (and the session gauge, unchanged) so dashboards show them
/// before the first login.
pub fn register_metrics() {
    metrics::gauge!(jobs::metrics::SESSIONS_ACTIVE).increment(0.0);
    for outcome in ["success", "failure", "frozen", "rate_limited"] {
        metrics::counter!(jobs::metrics::LOGINS, "outcome" => outcome).increment(0);
    }
}

pub fn count_login(outcome: &'static str) {
    metrics::counter!(jobs::metrics::LOGINS, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert_eq!(token_key(&a).len(), 64);
        assert_ne!(token_key(&a), a);
    }

    #[test]
    fn a_token_drawn_for_a_partition_names_it_and_keeps_the_shape() {
        for part in 0..jobs::keys::SESSION_PARTS {
            let token = new_token_in(part);
            assert_eq!(token.len(), 43);
            assert_eq!(jobs::keys::session_part_of_key(&token_key(&token)), part);
        }
    }

    #[test]
    fn only_remember_me_cookies_have_a_max_age() {
        assert_eq!(
            cookie("t", None, false),
            "novel_token=t; HttpOnly; SameSite=Lax; Path=/"
        );
        assert!(cookie("t", Some(60), true).ends_with("; Max-Age=60; Secure"));
    }
}
