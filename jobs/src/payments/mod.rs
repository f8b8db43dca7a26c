//! Coins in: payment providers behind one interface, their signed webhooks and the events they
//! carry. The web tier verifies and enqueues, workers move the money (issue 18).

pub mod event;
pub mod expiry;
pub mod intake;
pub mod orders;
pub mod provider;
pub mod recharge;
pub mod resolve;
pub mod sandbox;
pub mod signature;
pub mod stripe;

use serde::{Deserialize, Serialize};

/// Which provider a payment goes through: the `{provider}` of the webhook path and the
/// `provider` column of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Sandbox,
    Stripe,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 2] = [Self::Sandbox, Self::Stripe];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Stripe => "stripe",
        }
    }

    /// The provider a path segment names; `None` is a 404.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sandbox" => Some(Self::Sandbox),
            "stripe" => Some(Self::Stripe),
            _ => None,
        }
    }
}

/// Read from a `provider` column (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for ProviderKind {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Self::parse(&name).ok_or_else(|| format!("unknown provider `{name}`"))
    }
}

/// An ISO 4217 code, always upper case (Stripe sends and takes lower case; orders and the API
/// keep upper case), so an event's currency compares equal to its order's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Three ASCII letters in either case.
    pub fn parse(code: &str) -> Option<Self> {
        (code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| Self(code.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form Stripe's API takes (`cny`).
    pub fn lower(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(code: String) -> Result<Self, String> {
        Self::parse(&code).ok_or_else(|| format!("`{code}` is not a currency code"))
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_is_three_letters_kept_upper_case() {
        let cny = Currency::parse("cny").unwrap();
        assert_eq!(cny.as_str(), "CNY");
        assert_eq!(cny, Currency::parse("CNY").unwrap());
        assert_eq!(cny.lower(), "cny");
        for bad in ["", "cn", "cnyy", "c1y", "人民币"] {
            assert!(Currency::parse(bad).is_none(), "{bad}");
        }
        let json: Currency = serde_json::from_str("\"usd\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"USD\"");
        assert!(serde_json::from_str::<Currency>("\"us\"").is_err());
    }

    #[test]
    fn provider_names_round_trip_and_unknown_ones_are_none() {
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(ProviderKind::parse("alipay"), None);
        assert_eq!(ProviderKind::parse("Stripe"), None);
    }
}
