//! `TestApp` methods for recharge: orders, signed sandbox events, and waiting for a credit.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::client::{As, Signed};
use crate::helpers::{TestApp, json};

/// The sandbox's secret in the test configuration.
pub const SANDBOX_SECRET: &str = "sandbox-dev-secret";

/// A sandbox event body (API.md's shape) with its own id.
pub fn sandbox_event(event_type: &str, order_id: &str, amount: i64, currency: &str) -> Vec<u8> {
    json!({
        "id": format!("evt_{}", ulid::Ulid::new()), "type": event_type, "order_id": order_id,
        "amount": amount, "currency": currency, "created": chrono::Utc::now().timestamp(),
    })
    .to_string()
    .into_bytes()
}

impl TestApp {
    /// A signed-in reader with no coins.
    pub async fn reader(&self, username: &str) -> Signed {
        self.create_user(username, "reader").await;
        self.sign_in(username).await
    }

    pub async fn create_order(&self, who: As<'_>, body: Value) -> Response {
        self.request(Method::POST, "/api/recharge/orders", who, Some(body))
            .await
    }

    /// A new order of package `p600` (600 CNY fen for 600 coins) through the sandbox: its id.
    pub async fn order_600(&self, who: As<'_>) -> String {
        let response = self.create_order(who, json!({"package_id": "p600"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await["order_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The sandbox checkout page's `pay` or `cancel` button.
    pub async fn sandbox_checkout(&self, who: As<'_>, order_id: &str, button: &str) -> Response {
        let path = format!("/pay/sandbox/{order_id}/{button}");
        self.request(Method::POST, &path, who, None).await
    }

    pub async fn order(&self, who: As<'_>, order_id: &str) -> Response {
        self.get_as(who, &format!("/api/recharge/orders/{order_id}"))
            .await
    }

    /// POSTs `body` to `provider`'s webhook signed with `secret` at `t` (unix seconds).
    pub async fn deliver_signed(&self, body: &[u8], secret: &str, t: i64) -> Response {
        let signature = jobs::payments::signature::sign(secret.as_bytes(), t, body);
        self.plain
            .post(format!("{}/api/payments/sandbox/webhook", self.address))
            .header("Content-Type", "application/json")
            .header("Novel-Signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Delivers a sandbox event for the order as the sandbox would sign it now.
    pub async fn deliver(&self, event_type: &str, order_id: &str, amount: i64) -> Response {
        let body = sandbox_event(event_type, order_id, amount, "CNY");
        let now = chrono::Utc::now().timestamp();
        self.deliver_signed(&body, SANDBOX_SECRET, now).await
    }

    /// Waits until the order (read by `who`) has `status`; the order.
    pub async fn order_reaches(&self, who: As<'_>, order_id: &str, status: &str) -> Value {
        let mut order = Value::Null;
        for _ in 0..300 {
            order = json(self.order(who, order_id).await).await;
            if order["status"] == status {
                return order;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order {order_id} never became {status}: {order}");
    }

    /// The reader's `recharge` ledger rows.
    pub async fn recharges(&self, who: As<'_>) -> Vec<Value> {
        let ledger = self.my_ledger(who).await;
        let items = ledger["items"].as_array().unwrap().iter();
        items
            .filter(|e| e["reason"] == "recharge")
            .cloned()
            .collect()
    }

    /// Rows of `table` in this test's database (`payment_event`, `order_pay`).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.state.db.main)
            .await
            .unwrap()
    }
}
