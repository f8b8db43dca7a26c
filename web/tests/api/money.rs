//! `TestApp` methods for buying, polling, crediting and the reader's history.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::client::{As, Signed};
use crate::helpers::TestApp;

impl TestApp {
    pub async fn buy(&self, who: As<'_>, index_id: &str) -> Response {
        self.request(
            Method::POST,
            "/api/purchases",
            who,
            Some(json!({ "index_id": index_id })),
        )
        .await
    }

    pub async fn buy_batch(&self, who: As<'_>, index_ids: &[&str]) -> Response {
        self.request(
            Method::POST,
            "/api/purchases/batch",
            who,
            Some(json!({ "index_ids": index_ids })),
        )
        .await
    }

    /// A POST with an `Idempotency-Key`, as `token`'s bearer.
    pub async fn keyed(&self, token: &str, key: &str, path: &str, body: Value) -> Response {
        self.plain
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn job(&self, who: As<'_>, job_id: &str, wait_ms: u64) -> Response {
        self.get_as(who, &format!("/api/jobs/{job_id}?wait_ms={wait_ms}"))
            .await
    }

    /// Polls until the job is terminal and returns it.
    pub async fn outcome(&self, who: As<'_>, job_id: &str) -> Value {
        for _ in 0..30 {
            let response = self.job(who, job_id, 2000).await;
            assert_eq!(response.status(), StatusCode::OK);
            let job: Value = response.json().await.unwrap();
            if matches!(job["status"].as_str(), Some("succeeded" | "failed")) {
                return job;
            }
        }
        panic!("job {job_id} never finished");
    }

    /// Buys `index_id` as `who`: the accepted job's id.
    pub async fn bought(&self, who: As<'_>, index_id: &str) -> String {
        accepted_job(self.buy(who, index_id).await).await
    }

    /// Buys and waits: the job's final state.
    pub async fn buy_and_wait(&self, who: As<'_>, index_id: &str) -> Value {
        let job_id = self.bought(who, index_id).await;
        self.outcome(who, &job_id).await
    }

    /// A batch purchase, waited for: the job's final state.
    pub async fn batch_and_wait(&self, who: As<'_>, index_ids: &[&str]) -> Value {
        let job_id = accepted_job(self.buy_batch(who, index_ids).await).await;
        self.outcome(who, &job_id).await
    }

    pub async fn credit(&self, who: As<'_>, user_id: &str, amount: i64) -> Response {
        let body = json!({ "amount": amount, "note": "test credit" });
        self.request(
            Method::POST,
            &format!("/api/admin/users/{user_id}/credit"),
            who,
            Some(body),
        )
        .await
    }

    /// A signed-in reader holding `coins` (credited by a new admin through the API).
    pub async fn reader_with_coins(&self, username: &str, coins: i64) -> Signed {
        self.create_user(username, "reader").await;
        let reader = self.sign_in(username).await;
        let admin_name = format!("{username}_admin");
        self.create_admin(&admin_name).await;
        let admin = self.sign_in(&admin_name).await;
        let response = self.credit(admin.bearer(), &reader.user_id, coins).await;
        assert_eq!(response.status(), StatusCode::OK);
        reader
    }

    /// Asks for a refund sweep as `admin`; the sweep job's id.
    pub async fn sweep(&self, admin: As<'_>) -> String {
        let response = self
            .request(Method::POST, "/api/admin/refunds/sweep", admin, None)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let job: Value = response.json().await.unwrap();
        job["job_id"].as_str().unwrap().to_owned()
    }

    /// Waits until the reader's newest purchase shows as refunded.
    pub async fn wait_refunded(&self, reader: As<'_>) {
        for _ in 0..100 {
            if self.my_purchases(reader).await["items"][0]["refunded"] == true {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the purchase never showed as refunded");
    }

    pub async fn my_purchases(&self, who: As<'_>) -> Value {
        self.get_as(who, "/api/me/purchases?size=100")
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn my_ledger(&self, who: As<'_>) -> Value {
        self.get_as(who, "/api/me/ledger?size=100")
            .await
            .json()
            .await
            .unwrap()
    }

    /// A published book with `chapters` chapters of 3000 characters (15 coins when VIP);
    /// the first `free` are free. Returns the book id and chapter ids as strings.
    pub async fn book(&self, chapters: usize, free: usize) -> (String, Vec<String>) {
        let state = &self.state;
        let (book, ids) =
            testkit::book(&state.db, &state.ids, &state.settings, chapters, free, 3000).await;
        (
            book.to_string(),
            ids.iter().map(ToString::to_string).collect(),
        )
    }
}

pub fn code(job: &Value) -> &str {
    job["error"]["code"]
        .as_str()
        .unwrap_or_else(|| job["status"].as_str().unwrap())
}

/// The job id of a 202 answer.
async fn accepted_job(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned()
}
