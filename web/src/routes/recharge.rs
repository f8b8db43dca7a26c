//! Coins in: the packages, opening a recharge order (its checkout made by the provider), and
//! reading orders. Creating an order moves no coins; a verified payment event does.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::ids::OrderId;
use jobs::keys::partition_of_user;
use jobs::paging::Page;
use jobs::payments::ProviderKind;
use jobs::payments::orders::{self, NewOrder, OpenError, Order};
use jobs::payments::provider::Provider;
use serde::{Deserialize, Serialize};

use super::errors::{ListErrors, LookupErrors, OrderErrors};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Paging, PathId};
use crate::idempotency::{self, Claimed, Idempotency};
use crate::sessions::Session;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/recharge/packages", get(packages))
        .route("/api/recharge/orders", post(create_order))
        .route("/api/recharge/orders/{order_id}", get(show_order))
        .route("/api/me/orders", get(my_orders))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Package {
    id: String,
    /// In minor units (fen, cents) of `currency`.
    amount: i64,
    currency: String,
    coins: i64,
    bonus_coins: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Packages {
    items: Vec<Package>,
}

#[utoipa::path(
    get, path = "/api/recharge/packages", tag = "recharge", security(()),
    responses((status = 200, body = Packages))
)]
pub(super) async fn packages(State(state): State<AppState>) -> Json<Packages> {
    let items = state
        .settings
        .payments
        .packages
        .iter()
        .map(|p| Package {
            id: p.id.clone(),
            amount: p.amount,
            currency: p.currency.clone(),
            coins: p.coins,
            bonus_coins: p.bonus_coins,
        })
        .collect();
    Json(Packages { items })
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewOrderRequest {
    /// A package of `GET /api/recharge/packages`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    package_id: String,
    /// Default: the sandbox where it is on, else Stripe.
    provider: Option<ProviderKind>,
}

#[utoipa::path(
    post, path = "/api/recharge/orders", tag = "recharge",
    params(Idempotency),
    request_body = NewOrderRequest,
    responses((status = 201, body = Order), OrderErrors)
)]
pub(super) async fn create_order(
    State(state): State<AppState>,
    session: Session,
    idempotency: Idempotency,
    ApiJson(body): ApiJson<NewOrderRequest>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let keyed = idempotency.with_body(&body);
    let payments = &state.settings.payments;
    let package = orders::package(payments, &body.package_id)
        .ok_or_else(|| ApiError::invalid("package_id: no such package"))?;
    let provider = chosen_provider(&state, body.provider)?;
    let mut order_id: OrderId = state.ids.mint().await?;
    if let Some(keyed) = &keyed {
        let prefix = &state.settings.redis.prefix;
        // In the user's partition, where their purchases claim keys: one space of keys. (The
        // claim is used alone; the order's recharge job is queued later, by the payment event.)
        let partition = partition_of_user(session.user_id, state.settings.jobs.partitions);
        let key = idempotency::claim_key(prefix, partition, session.user_id, &keyed.key);
        match idempotency::claim(&state.redis, &key, keyed, &order_id.to_string()).await? {
            Claimed::New => {}
            Claimed::Earlier(earlier) => {
                order_id = earlier
                    .parse()
                    .map_err(|_| ApiError::IdempotencyKeyReused)?;
            }
            Claimed::Reused => return Err(ApiError::IdempotencyKeyReused),
        }
    }
    let new = NewOrder {
        order_id,
        user_id: session.user_id,
        package,
        ttl_secs: payments.order_ttl_secs,
    };
    let order = orders::open(&state.db.main, provider, new)
        .await
        .map_err(|error| match error {
            OpenError::Db(error) => error.into(),
            OpenError::Provider(error) => ApiError::Unavailable(error.into()),
        })?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// The provider asked for, or the default; one that is off is refused.
fn chosen_provider(state: &AppState, asked: Option<ProviderKind>) -> ApiResult<&Provider> {
    let provider = match asked {
        Some(kind) => state.providers.get(kind),
        None => state.providers.default_provider(),
    };
    provider.ok_or_else(|| ApiError::invalid("provider: not a payment provider switched on here"))
}

#[utoipa::path(
    get, path = "/api/recharge/orders/{order_id}", tag = "recharge",
    params(("order_id" = OrderId, Path)),
    responses((status = 200, body = Order), LookupErrors)
)]
pub(super) async fn show_order(
    State(state): State<AppState>,
    session: Session,
    ApiPath(PathId(order_id)): ApiPath<PathId<OrderId>>,
) -> ApiResult<Json<Order>> {
    let order = orders::get(&state.db.main, order_id).await?;
    let visible =
        |o: &Order| o.user_id == session.user_id || session.has_role(jobs::accounts::Role::Admin);
    order.filter(visible).map(Json).ok_or(ApiError::NotFound)
}

#[utoipa::path(
    get, path = "/api/me/orders", tag = "recharge",
    params(Paging),
    responses((status = 200, body = Page<Order>), ListErrors)
)]
pub(super) async fn my_orders(
    State(state): State<AppState>,
    session: Session,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Json<Page<Order>>> {
    let request = paging.checked()?;
    let page = orders::list_mine(&state.db.main, session.user_id, request).await?;
    Ok(Json(page))
}
