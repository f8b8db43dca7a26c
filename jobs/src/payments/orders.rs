//! Recharge orders: opened for a package (the checkout made outside any transaction), read by
//! their owner and admins, listed, and found for expiry. Coins move only in `recharge`.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, MySqlPool};

use super::provider::{Checkout, CheckoutOrder, Provider, ProviderError};
use super::{Currency, ProviderKind};
use crate::coins::Coins;
use crate::config::{PackageSettings, PaymentSettings};
use crate::db::{DUPLICATE_KEY, mysql_code};
use crate::ids::{EntityId, OrderId, UserId};
use crate::paging::{self, Binds, Page, PageRequest, SearchText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Expired,
    Failed,
    Flagged,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        Self::Pending,
        Self::Paid,
        Self::Expired,
        Self::Failed,
        Self::Flagged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Flagged => "flagged",
        }
    }
}

/// Read from a `status` column (`#[sqlx(try_from = "String")]`: sqlx's derived enums refuse
/// MariaDB's `ENUM` and binary strings).
impl TryFrom<String> for OrderStatus {
    type Error = String;

    fn try_from(status: String) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == status)
            .ok_or_else(|| format!("unknown order status `{status}`"))
    }
}

/// An order as its owner sees it (API.md's order object).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Order {
    pub order_id: OrderId,
    #[serde(skip)]
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    /// In minor units (fen, cents) of `currency`.
    pub amount: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub coins: Coins,
    pub bonus_coins: Coins,
    #[sqlx(try_from = "String")]
    pub provider: ProviderKind,
    /// Where the payer goes to pay (null until the provider made the checkout).
    pub checkout_url: Option<String>,
    #[serde(skip)]
    pub provider_ref: Option<String>,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: DateTime<Utc>,
    #[serde(with = "crate::json::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
    #[serde(with = "crate::json::opt_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<DateTime<Utc>>,
}

impl Order {
    /// What the order credits once paid.
    pub fn total_coins(&self) -> Coins {
        self.coins + self.bonus_coins
    }
}

/// An order as admins list it: with its buyer, and why it was flagged and how it was resolved.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AdminOrder {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub order: Order,
    #[serde(rename = "user_id")]
    pub buyer_id: UserId,
    pub username: String,
    pub note: Option<String>,
    /// `credited` or `rejected` once an admin resolved a flagged order.
    pub resolution: Option<String>,
}

pub(crate) const ORDER_COLUMNS: &str = r"o.id AS order_id, o.user_id, o.status, o.amount,
    o.currency, o.coins, o.bonus_coins, o.provider, o.checkout_url, o.provider_ref,
    o.create_time, o.expires_at, o.paid_at";

/// The package of that id in the configuration.
pub fn package<'a>(settings: &'a PaymentSettings, id: &str) -> Option<&'a PackageSettings> {
    settings.packages.iter().find(|p| p.id == id)
}

/// An order to open: its id (minted by the caller, so a replayed `Idempotency-Key` opens the
/// same one), its buyer, package and provider.
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub package: &'a PackageSettings,
    pub ttl_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// Keeps the order (or finds it, when this id was opened before) and, unless it has one, asks
/// the provider for its checkout, outside any transaction. A checkout that fails leaves the
/// order pending without one: the same request again retries it, else it expires.
pub async fn open(
    pool: &MySqlPool,
    provider: &Provider,
    new: NewOrder<'_>,
) -> Result<Order, OpenError> {
    insert(pool, provider.kind(), new).await?;
    let order = get(pool, new.order_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    if order.checkout_url.is_some() {
        return Ok(order);
    }
    let currency = Currency::parse(&order.currency)
        .ok_or_else(|| sqlx::Error::Decode(format!("order currency {}", order.currency).into()))?;
    let checkout = provider
        .create_checkout(&CheckoutOrder {
            order_id: order.order_id,
            amount: order.amount,
            currency,
            description: description(new.package),
            expires_at: order.expires_at,
        })
        .await?;
    set_checkout(pool, order.order_id, &checkout).await?;
    Ok(Order {
        checkout_url: Some(checkout.checkout_url),
        provider_ref: Some(checkout.provider_ref),
        ..order
    })
}

/// What the payer sees on the provider's page.
fn description(package: &PackageSettings) -> String {
    match package.bonus_coins {
        0 => format!("{} coins", package.coins),
        bonus => format!("{} coins + {bonus} bonus", package.coins),
    }
}

/// Inserts a pending order; one already kept under this id stays as it is.
#[tracing::instrument(skip_all)]
async fn insert(
    pool: &MySqlPool,
    provider: ProviderKind,
    new: NewOrder<'_>,
) -> Result<(), sqlx::Error> {
    let now = crate::clock::now();
    let expires_at = now + TimeDelta::seconds(new.ttl_secs as i64);
    let package = new.package;
    let inserted = sqlx::query(
        r"INSERT INTO order_pay (id, user_id, package_id, amount, currency, coins, bonus_coins,
                                provider, status, create_time, expires_at, update_time)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(new.order_id)
    .bind(new.user_id)
    .bind(&package.id)
    .bind(package.amount)
    .bind(&package.currency)
    .bind(package.coins)
    .bind(package.bonus_coins)
    .bind(provider.as_str())
    .bind(now)
    .bind(expires_at)
    .bind(now)
    .execute(pool)
    .await;
    match inserted {
        Err(error) if mysql_code(&error) == Some(DUPLICATE_KEY) => Ok(()),
        other => other.map(drop),
    }
}

#[tracing::instrument(skip_all)]
async fn set_checkout(
    pool: &MySqlPool,
    order_id: OrderId,
    checkout: &Checkout,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"UPDATE order_pay SET provider_ref = ?, checkout_url = ?, update_time = ?
          WHERE id = ? AND checkout_url IS NULL",
    )
    .bind(&checkout.provider_ref)
    .bind(&checkout.checkout_url)
    .bind(crate::clock::now())
    .bind(order_id)
    .execute(pool)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn get(pool: &MySqlPool, order_id: OrderId) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM order_pay o WHERE o.id = ?"
    )))
    .bind(order_id)
    .fetch_optional(pool)
    .await
}

/// A user's orders, newest first.
#[tracing::instrument(skip_all)]
pub async fn list_mine(
    pool: &MySqlPool,
    user_id: UserId,
    request: PageRequest,
) -> Result<Page<Order>, sqlx::Error> {
    paging::count_and_page(
        pool,
        "SELECT COUNT(*) FROM order_pay WHERE user_id = ?",
        AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM order_pay o WHERE o.user_id = ?
             ORDER BY o.create_time DESC, o.id DESC"
        )),
        Binds::default().bind(user_id),
        request,
    )
    .await
}

/// Every order, newest first, of one status and of buyers whose username contains `q`.
#[tracing::instrument(skip_all)]
pub async fn list_all(
    pool: &MySqlPool,
    status: Option<OrderStatus>,
    q: Option<&SearchText>,
    request: PageRequest,
) -> Result<Page<AdminOrder>, sqlx::Error> {
    let pattern = q.map(SearchText::like_pattern);
    // `username` is ASCII: convert it, or a non-ASCII pattern is an illegal mix of collations.
    let filter = r"FROM order_pay o JOIN user u ON u.id = o.user_id
        WHERE (? IS NULL OR o.status = ?)
          AND (? IS NULL OR CONVERT(u.username USING utf8mb4) LIKE ?)";
    paging::count_and_page(
        pool,
        AssertSqlSafe(format!("SELECT COUNT(*) {filter}")),
        AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS}, o.user_id AS buyer_id, u.username, o.note, o.resolution
             {filter} ORDER BY o.create_time DESC, o.id DESC"
        )),
        Binds::default()
            .bind(status.map(OrderStatus::as_str))
            .bind(status.map(OrderStatus::as_str))
            .bind(&pattern)
            .bind(&pattern),
        request,
    )
    .await
}

/// Up to `limit` pending orders whose time ran out by `now`, after `after` (the last one of the
/// previous batch) in expiry order.
#[tracing::instrument(skip_all)]
pub async fn due(
    pool: &MySqlPool,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, OrderId)>,
    limit: u32,
) -> Result<Vec<Order>, sqlx::Error> {
    let (at, id) = after.map_or((DateTime::UNIX_EPOCH, 0), |(at, id)| (at, id.raw()));
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM order_pay o
         WHERE o.status = 'pending' AND o.expires_at <= ?
           AND (o.expires_at > ? OR (o.expires_at = ? AND o.id > ?))
         ORDER BY o.expires_at, o.id LIMIT ?"
    )))
    .bind(now)
    .bind(at)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Pending → expired, if it still is pending and past its time; whether it changed.
#[tracing::instrument(skip_all)]
pub async fn expire(pool: &MySqlPool, order_id: OrderId) -> Result<bool, sqlx::Error> {
    let now = crate::clock::now();
    let changed = sqlx::query(
        r"UPDATE order_pay SET status = 'expired', update_time = ?
          WHERE id = ? AND status = 'pending' AND expires_at <= ?",
    )
    .bind(now)
    .bind(order_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(changed.rows_affected() == 1)
}
