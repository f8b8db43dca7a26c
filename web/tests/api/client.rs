//! `TestApp` methods, one per endpoint, and how a request authenticates (`As`).

use std::sync::LazyLock;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;
use jobs::accounts::{NewUser, NickName, Roles, Username};
use jobs::ids::UserId;

/// The password of every account the helpers create.
pub const PASSWORD: &str = "correct-horse-battery";

/// One Argon2 hash shared by bulk-created accounts (hashing fifty would only slow tests down).
static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| jobs::accounts::hash_password(PASSWORD));

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    Anonymous,
    Bearer(&'a str),
    /// The `novel_token` cookie, with an `X-CSRF-Token` header when given.
    Cookie(&'a str, Option<&'a str>),
}

/// A signed-in client: its token and the CSRF token of the login answer.
#[derive(Debug, Clone)]
pub struct Signed {
    pub token: String,
    pub csrf: String,
    pub user_id: String,
}

impl Signed {
    pub fn bearer(&self) -> As<'_> {
        As::Bearer(&self.token)
    }

    pub fn cookie(&self) -> As<'_> {
        As::Cookie(&self.token, Some(&self.csrf))
    }
}

/// The `X-CSRF-Token` header of a response.
pub fn csrf_of(response: &Response) -> Option<String> {
    response
        .headers()
        .get("x-csrf-token")
        .map(|v| v.to_str().unwrap().to_owned())
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .plain
            .request(method, format!("{}{path}", self.address));
        request = match who {
            As::Anonymous => request,
            As::Bearer(token) => request.bearer_auth(token),
            As::Cookie(token, csrf) => {
                let request = request.header("cookie", format!("novel_token={token}"));
                match csrf {
                    Some(csrf) => request.header("x-csrf-token", csrf),
                    None => request,
                }
            }
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get_as(&self, who: As<'_>, path: &str) -> Response {
        self.request(Method::GET, path, who, None).await
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        let body = serde_json::json!({ "username": username, "password": password });
        self.request(
            Method::POST,
            "/api/auth/register",
            As::Anonymous,
            Some(body),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str, remember_me: bool) -> Response {
        let body = serde_json::json!({
            "username": username, "password": password, "remember_me": remember_me,
        });
        self.request(Method::POST, "/api/auth/login", As::Anonymous, Some(body))
            .await
    }

    pub async fn logout(&self, who: As<'_>) -> Response {
        self.request(Method::POST, "/api/auth/logout", who, None)
            .await
    }

    pub async fn me(&self, who: As<'_>) -> Response {
        self.get_as(who, "/api/me").await
    }

    pub async fn change_password(&self, who: As<'_>, old: &str, new: &str) -> Response {
        let body = serde_json::json!({ "old_password": old, "new_password": new });
        self.request(Method::POST, "/api/me/password", who, Some(body))
            .await
    }

    pub async fn become_author(&self, who: As<'_>, pen_name: &str) -> Response {
        let body = serde_json::json!({ "pen_name": pen_name });
        self.request(Method::POST, "/api/author/register", who, Some(body))
            .await
    }

    pub async fn admin_sessions(&self, who: As<'_>, query: &str) -> Response {
        self.get_as(who, &format!("/api/admin/sessions{query}"))
            .await
    }

    pub async fn admin_kick(&self, who: As<'_>, account: &str) -> Response {
        let path = format!("/api/admin/sessions/{account}");
        self.request(Method::DELETE, &path, who, None).await
    }

    pub async fn admin_freeze(&self, who: As<'_>, account: &str) -> Response {
        let path = format!("/api/admin/sessions/{account}/freeze");
        self.request(Method::POST, &path, who, None).await
    }

    pub async fn admin_unfreeze(&self, who: As<'_>, account: &str) -> Response {
        let path = format!("/api/admin/sessions/{account}/unfreeze");
        self.request(Method::POST, &path, who, None).await
    }

    pub async fn admin_users(&self, who: As<'_>, query: &str) -> Response {
        self.get_as(who, &format!("/api/admin/users{query}")).await
    }

    /// An account straight in the database (password `PASSWORD`); returns its id.
    pub async fn create_user(&self, username: &str, roles: &str) -> UserId {
        let id = self.state.ids.mint().await.unwrap();
        let hash = PASSWORD_HASH.clone();
        let user = NewUser {
            id,
            username: &Username::parse(username).unwrap(),
            nick_name: &NickName::parse(username).unwrap(),
            roles: &Roles::from(roles.to_owned()),
        };
        jobs::accounts::insert_user(&self.state.db.main, user, &hash)
            .await
            .unwrap();
        id
    }

    /// An admin as `web create-admin` makes one: roles `reader,admin`, not through the API.
    pub async fn create_admin(&self, username: &str) -> UserId {
        self.create_user(username, "reader,admin").await
    }

    /// Logs in with `PASSWORD`, asserting success.
    pub async fn sign_in(&self, username: &str) -> Signed {
        let response = self.login(username, PASSWORD, false).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let csrf = csrf_of(&response).expect("login sends a CSRF token");
        let body: Value = response.json().await.unwrap();
        Signed {
            token: body["token"].as_str().unwrap().to_owned(),
            csrf,
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// Deletes every Redis key of this test (its prefix only), as a Redis flush would.
    pub async fn flush_redis(&self) {
        let mut redis = self.state.redis.clone();
        let keys = redis
            .keys_of(&self.state.settings.redis.prefix)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut redis)
                .await
                .unwrap();
        }
    }
}
