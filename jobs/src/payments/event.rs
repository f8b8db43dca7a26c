//! A verified webhook body read into one provider-neutral event: what the `recharge` job and
//! the `payment_event` table need, whichever provider sent it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Currency, ProviderKind};
use crate::ids::OrderId;

/// The longest event id kept (`payment_event.event_id`).
const MAX_EVENT_ID: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub provider: ProviderKind,
    /// Unique per provider (`evt_...`): the key `payment_event` keeps an event once by.
    pub event_id: String,
    /// The provider's own name for it (`payment.succeeded`, `checkout.session.completed`).
    pub event_type: String,
    pub kind: EventKind,
    /// When the provider created it (unix seconds).
    pub created: i64,
}

/// What an event means for its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The money was taken: credit the order (or flag it when the charge differs from it).
    Succeeded(Charge),
    /// The payment failed or can no longer happen: a pending order becomes `failed`.
    Failed(Charge),
    /// Nothing to do (another event type, or a Checkout completed whose delayed payment is still
    /// on its way); answered 200 so the provider stops sending it.
    Ignored,
}

/// The order an event is about and the money it says moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub order_id: OrderId,
    /// In minor units of `currency`.
    pub amount: i64,
    pub currency: Currency,
}

impl PaymentEvent {
    /// The order it concerns, if it is one the job acts on.
    pub fn charge(&self) -> Option<&Charge> {
        match &self.kind {
            EventKind::Succeeded(charge) | EventKind::Failed(charge) => Some(charge),
            EventKind::Ignored => None,
        }
    }
}

/// A signed body that is not an event of the expected shape: 400 `invalid_request`.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the event's `{0}` is missing or invalid")]
    Field(&'static str),
}

fn event_id(id: String) -> Result<String, EventError> {
    let ok = !id.is_empty() && id.len() <= MAX_EVENT_ID && id.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(id).ok_or(EventError::Field("id"))
}

fn currency(code: &str, field: &'static str) -> Result<Currency, EventError> {
    Currency::parse(code).ok_or(EventError::Field(field))
}

/// The sandbox's body (API.md): `{"id": "evt_…", "type": "payment.succeeded" |
/// "payment.failed", "order_id": "…", "amount": 600, "currency": "CNY", "created": <unix>}`.
pub fn parse_sandbox(body: &[u8]) -> Result<PaymentEvent, EventError> {
    #[derive(Deserialize)]
    struct Body {
        id: String,
        #[serde(rename = "type")]
        event_type: String,
        order_id: OrderId,
        amount: i64,
        currency: String,
        created: i64,
    }
    let body: Body = serde_json::from_slice(body)?;
    if body.amount <= 0 {
        return Err(EventError::Field("amount"));
    }
    let charge = Charge {
        order_id: body.order_id,
        amount: body.amount,
        currency: currency(&body.currency, "currency")?,
    };
    let kind = match body.event_type.as_str() {
        "payment.succeeded" => EventKind::Succeeded(charge),
        "payment.failed" => EventKind::Failed(charge),
        _ => return Err(EventError::Field("type")),
    };
    Ok(PaymentEvent {
        provider: ProviderKind::Sandbox,
        event_id: event_id(body.id)?,
        event_type: body.event_type,
        kind,
        created: body.created,
    })
}

/// A Stripe event (`{"id": "evt_…", "object": "event", "type": …, "created": …, "data":
/// {"object": {…}}}`). Only Checkout Session events move an order, as Stripe's fulfilment guide
/// (docs.stripe.com/checkout/fulfillment) has it: `checkout.session.completed` with
/// `payment_status` `paid`, or `checkout.session.async_payment_succeeded` for a delayed method;
/// a completed session still `unpaid` is waiting for such a method. `async_payment_failed` and
/// `expired` end the attempt. The order is the session's `client_reference_id` (we set it and
/// `metadata[order_id]`); the amount is `amount_total`; Stripe writes currencies in lower case.
pub fn parse_stripe(body: &[u8]) -> Result<PaymentEvent, EventError> {
    #[derive(Deserialize)]
    struct Envelope {
        id: String,
        object: String,
        #[serde(rename = "type")]
        event_type: String,
        created: i64,
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        object: Value,
    }
    let envelope: Envelope = serde_json::from_slice(body)?;
    if envelope.object != "event" {
        return Err(EventError::Field("object"));
    }
    let session = &envelope.data.object;
    let kind = match envelope.event_type.as_str() {
        "checkout.session.completed" => match payment_status(session)? {
            "paid" => EventKind::Succeeded(session_charge(session)?),
            _ => EventKind::Ignored,
        },
        "checkout.session.async_payment_succeeded" => {
            EventKind::Succeeded(session_charge(session)?)
        }
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            EventKind::Failed(session_charge(session)?)
        }
        _ => EventKind::Ignored,
    };
    Ok(PaymentEvent {
        provider: ProviderKind::Stripe,
        event_id: event_id(envelope.id)?,
        event_type: envelope.event_type,
        kind,
        created: envelope.created,
    })
}

fn payment_status(session: &Value) -> Result<&str, EventError> {
    session["payment_status"]
        .as_str()
        .ok_or(EventError::Field("data.object.payment_status"))
}

fn session_charge(session: &Value) -> Result<Charge, EventError> {
    if session["object"] != "checkout.session" {
        return Err(EventError::Field("data.object.object"));
    }
    let order_id = |field: &Value| field.as_str().and_then(|id| id.parse::<OrderId>().ok());
    let reference = order_id(&session["client_reference_id"]);
    let metadata = order_id(&session["metadata"]["order_id"]);
    let order_id = match (reference, metadata) {
        (Some(a), Some(b)) if a != b => None,
        (a, b) => a.or(b),
    }
    .ok_or(EventError::Field("data.object.client_reference_id"))?;
    let amount = session["amount_total"]
        .as_i64()
        .filter(|amount| *amount >= 0)
        .ok_or(EventError::Field("data.object.amount_total"))?;
    let code = session["currency"].as_str().unwrap_or_default();
    Ok(Charge {
        order_id,
        amount,
        currency: currency(code, "data.object.currency")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EntityId;

    fn cny(order_id: i64, amount: i64) -> Charge {
        let currency = Currency::parse("CNY").unwrap();
        Charge {
            order_id: OrderId::from_raw(order_id),
            amount,
            currency,
        }
    }

    fn sandbox(body: Value) -> Result<PaymentEvent, EventError> {
        parse_sandbox(body.to_string().as_bytes())
    }

    fn sandbox_body(event_type: &str) -> Value {
        json!({"id": "evt_1", "type": event_type, "order_id": "42", "amount": 600,
               "currency": "CNY", "created": 1_764_000_000})
    }

    #[test]
    fn sandbox_success_and_failure_events_name_their_order_and_charge() {
        let event = sandbox(sandbox_body("payment.succeeded")).unwrap();
        assert_eq!(
            event,
            PaymentEvent {
                provider: ProviderKind::Sandbox,
                event_id: "evt_1".into(),
                event_type: "payment.succeeded".into(),
                kind: EventKind::Succeeded(cny(42, 600)),
                created: 1_764_000_000,
            }
        );
        assert_eq!(event.charge(), Some(&cny(42, 600)));
        let failed = sandbox(sandbox_body("payment.failed")).unwrap();
        assert_eq!(failed.kind, EventKind::Failed(cny(42, 600)));
        let mut numeric = sandbox_body("payment.succeeded");
        numeric["order_id"] = json!(42);
        numeric["currency"] = json!("cny");
        assert_eq!(
            sandbox(numeric).unwrap().kind,
            EventKind::Succeeded(cny(42, 600))
        );
    }

    #[test]
    fn malformed_sandbox_events_name_the_field() {
        let field = |key: &str, value: Value| {
            let mut body = sandbox_body("payment.succeeded");
            body[key] = value;
            match sandbox(body) {
                Err(EventError::Field(name)) => name,
                other => panic!("{key}: {other:?}"),
            }
        };
        assert_eq!(field("type", json!("payment.refunded")), "type");
        assert_eq!(field("amount", json!(0)), "amount");
        assert_eq!(field("currency", json!("RMB1")), "currency");
        assert_eq!(field("id", json!("")), "id");
        assert_eq!(field("id", json!("evt with space")), "id");
        assert!(matches!(
            sandbox(json!({"id": "evt_1"})),
            Err(EventError::Json(_))
        ));
        let mut bad_order = sandbox_body("payment.succeeded");
        bad_order["order_id"] = json!("forty-two");
        assert!(matches!(sandbox(bad_order), Err(EventError::Json(_))));
        assert!(matches!(
            parse_sandbox(b"not json"),
            Err(EventError::Json(_))
        ));
    }

    fn stripe_event(event_type: &str, payment_status: &str) -> Value {
        json!({
            "id": "evt_1Q", "object": "event", "api_version": "2024-06-20",
            "created": 1_764_000_000, "livemode": false, "type": event_type,
            "data": {"object": {
                "id": "cs_test_a1", "object": "checkout.session", "mode": "payment",
                "client_reference_id": "42", "metadata": {"order_id": "42"},
                "amount_total": 600, "currency": "cny",
                "status": "complete", "payment_status": payment_status,
            }},
        })
    }

    fn stripe(body: Value) -> Result<PaymentEvent, EventError> {
        parse_stripe(body.to_string().as_bytes())
    }

    #[test]
    fn a_paid_checkout_or_a_succeeded_async_payment_credits() {
        let event = stripe(stripe_event("checkout.session.completed", "paid")).unwrap();
        assert_eq!(event.provider, ProviderKind::Stripe);
        assert_eq!(event.event_id, "evt_1Q");
        assert_eq!(event.event_type, "checkout.session.completed");
        assert_eq!(event.kind, EventKind::Succeeded(cny(42, 600)));
        let event = stripe(stripe_event(
            "checkout.session.async_payment_succeeded",
            "paid",
        ))
        .unwrap();
        assert_eq!(event.kind, EventKind::Succeeded(cny(42, 600)));
    }

    #[test]
    fn a_completed_checkout_still_unpaid_waits_and_failures_end_the_order() {
        let pending = stripe(stripe_event("checkout.session.completed", "unpaid")).unwrap();
        assert_eq!(pending.kind, EventKind::Ignored);
        assert_eq!(pending.charge(), None);
        for event_type in [
            "checkout.session.async_payment_failed",
            "checkout.session.expired",
        ] {
            let event = stripe(stripe_event(event_type, "unpaid")).unwrap();
            assert_eq!(event.kind, EventKind::Failed(cny(42, 600)), "{event_type}");
        }
        let other = stripe(
            json!({"id": "evt_2", "object": "event", "type": "customer.created",
                                  "created": 1, "data": {"object": {"object": "customer"}}}),
        );
        assert_eq!(other.unwrap().kind, EventKind::Ignored);
    }

    #[test]
    fn the_order_comes_from_the_reference_or_the_metadata_and_they_must_agree() {
        let mut only_metadata = stripe_event("checkout.session.completed", "paid");
        only_metadata["data"]["object"]["client_reference_id"] = Value::Null;
        assert_eq!(
            stripe(only_metadata).unwrap().kind,
            EventKind::Succeeded(cny(42, 600))
        );
        let mut disagree = stripe_event("checkout.session.completed", "paid");
        disagree["data"]["object"]["metadata"]["order_id"] = json!("43");
        assert!(matches!(stripe(disagree), Err(EventError::Field(_))));
        let mut neither = stripe_event("checkout.session.completed", "paid");
        neither["data"]["object"]["client_reference_id"] = Value::Null;
        neither["data"]["object"]["metadata"] = json!({});
        assert!(matches!(stripe(neither), Err(EventError::Field(_))));
    }

    #[test]
    fn malformed_stripe_events_are_errors() {
        let field = |path: &[&str], value: Value| {
            let mut body = stripe_event("checkout.session.completed", "paid");
            let mut at = &mut body;
            for key in path {
                at = &mut at[*key];
            }
            *at = value;
            stripe(body).err()
        };
        let object = ["data", "object"];
        let inner = |key| [object[0], object[1], key];
        assert!(field(&["object"], json!("list")).is_some());
        assert!(field(&inner("object"), json!("payment_intent")).is_some());
        assert!(field(&inner("amount_total"), Value::Null).is_some());
        assert!(field(&inner("currency"), json!("yuan")).is_some());
        assert!(field(&inner("payment_status"), Value::Null).is_some());
        assert!(field(&["id"], json!("")).is_some());
        assert!(field(&["data"], json!("x")).is_some());
        assert!(parse_stripe(b"{").is_err());
    }

    #[test]
    fn an_event_survives_the_job_payload_round_trip() {
        let event = stripe(stripe_event("checkout.session.completed", "paid")).unwrap();
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<PaymentEvent>(&json).unwrap(), event);
    }
}
