//! The v1.1 tables as the migrations make them: recharge orders, payment events kept once per
//! provider and id, buy records with a refund time, and one income row per book and day.

use jobs::db::{DUPLICATE_KEY, mysql_code};
use sqlx::MySqlPool;

const NOW: &str = "2026-12-03 10:00:00.000";

async fn order(
    pool: &MySqlPool,
    (id, provider_ref): (i64, &str),
    status: &str,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"INSERT INTO order_pay (id, user_id, package_id, amount, currency, coins, bonus_coins,
              provider, provider_ref, status, create_time, expires_at, update_time)
          VALUES (?, 7, 'p600', ?, 'CNY', 600, 0, 'sandbox', ?, ?, ?, ? + INTERVAL 30 MINUTE, ?)",
    )
    .bind(id)
    .bind(amount)
    .bind(provider_ref)
    .bind(status)
    .bind(NOW)
    .bind(NOW)
    .bind(NOW)
    .execute(pool)
    .await
    .map(drop)
}

async fn event(pool: &MySqlPool, provider: &str, event_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"INSERT INTO payment_event (provider, event_id, order_id, type, amount, currency, received_at)
          VALUES (?, ?, 1, 'payment.succeeded', 600, 'CNY', ?)",
    )
    .bind(provider)
    .bind(event_id)
    .bind(NOW)
    .execute(pool)
    .await
    .map(drop)
}

async fn income(pool: &MySqlPool, book_id: i64, day: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"INSERT INTO author_income_daily (author_id, book_id, day, sales, coins, update_time)
          VALUES (3, ?, ?, 2, 10, ?)",
    )
    .bind(book_id)
    .bind(day)
    .bind(NOW)
    .execute(pool)
    .await
    .map(drop)
}

#[tokio::test]
async fn the_payment_tables_keep_each_event_once_and_refuse_what_no_order_can_be() {
    let settings = testkit::settings();
    let (db, _ids) = testkit::prepare(&settings).await;
    let pool = &db.main;

    order(pool, (1, "1"), "pending", 600).await.unwrap();
    order(pool, (2, "2"), "flagged", 600).await.unwrap();
    let no_such_status = order(pool, (3, "3"), "refunded", 600).await;
    assert!(no_such_status.is_err());
    let no_money = order(pool, (4, "4"), "pending", 0).await;
    assert!(no_money.is_err(), "an order takes money");
    let same_ref = order(pool, (5, "1"), "pending", 600).await.unwrap_err();
    assert_eq!(
        mysql_code(&same_ref),
        Some(DUPLICATE_KEY),
        "one order per payment"
    );

    event(pool, "sandbox", "evt_1").await.unwrap();
    let again = event(pool, "sandbox", "evt_1").await.unwrap_err();
    assert_eq!(mysql_code(&again), Some(DUPLICATE_KEY));
    event(pool, "stripe", "evt_1").await.unwrap();
    let case = event(pool, "sandbox", "EVT_1").await;
    assert!(case.is_ok(), "event ids compare exactly: {case:?}");

    let expiring: i64 = sqlx::query_scalar(
        r"SELECT COUNT(*) FROM order_pay WHERE status = 'pending' AND expires_at < ?
              + INTERVAL 31 MINUTE",
    )
    .bind(NOW)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(expiring, 1);
}

#[tokio::test]
async fn income_has_one_row_per_book_and_day_and_refunds_have_a_time() {
    let settings = testkit::settings();
    let (db, _ids) = testkit::prepare(&settings).await;
    let pool = &db.main;

    income(pool, 10, "2026-12-03").await.unwrap();
    income(pool, 10, "2026-12-04").await.unwrap();
    income(pool, 11, "2026-12-03").await.unwrap();
    let again = income(pool, 10, "2026-12-03").await.unwrap_err();
    assert_eq!(mysql_code(&again), Some(DUPLICATE_KEY));

    let refunded: Option<chrono::NaiveDateTime> =
        sqlx::query_scalar(r"SELECT MAX(refund_time) FROM user_buy_record WHERE refund_time >= ?")
            .bind(NOW)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(refunded, None, "the column exists and starts empty");
}
