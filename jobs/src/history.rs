//! A reader's purchase history and ledger, newest first.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::MySqlPool;

use crate::coins::Coins;
use crate::ids::{BookId, ChapterId, UserId};
use crate::paging::{self, Binds, Page, PageRequest};

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Purchase {
    pub book_id: BookId,
    pub book_name: String,
    pub index_id: ChapterId,
    pub index_name: String,
    pub amount: Coins,
    pub refunded: bool,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub delta: Coins,
    pub balance_after: Coins,
    pub reason: String,
    pub ref_id: String,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: DateTime<Utc>,
}

/// The reader's purchases, newest first.
#[tracing::instrument(skip_all)]
pub async fn purchases(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<Purchase>, sqlx::Error> {
    paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM user_buy_record WHERE user_id = ?",
        r"SELECT book_id, book_name, book_index_id AS index_id, book_index_name AS index_name,
                 buy_amount AS amount, refund_status = 1 AS refunded, create_time
          FROM user_buy_record WHERE user_id = ? ORDER BY create_time DESC, id DESC",
        Binds::default().bind(user_id),
        request,
    )
    .await
}

/// The reader's ledger, newest first.
#[tracing::instrument(skip_all)]
pub async fn ledger(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<LedgerEntry>, sqlx::Error> {
    paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM account_flow WHERE user_id = ?",
        r"SELECT delta, balance_after, reason, ref_id, create_time FROM account_flow
          WHERE user_id = ? ORDER BY id DESC",
        Binds::default().bind(user_id),
        request,
    )
    .await
}
