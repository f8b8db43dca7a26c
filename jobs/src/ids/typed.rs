//! Entity ids as types of their own: a book id is never taken for a chapter id. Each is a
//! snowflake (`BIGINT` in MySQL, bound and read as one), written in JSON as a string (JavaScript
//! loses precision above 2^53) and accepted as a string or a number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The text an id is written as, as a regular expression: an optional `+`, leading zeros, then
/// a number from 1 to `i64::MAX` (one alternative per digit that may be below the bound's).
pub const PATTERN: &str = concat!(
    r"^\+?0*(",
    "[1-9][0-9]{0,17}|",
    "[1-8][0-9]{18}|",
    "9[0-1][0-9]{17}|",
    "92[0-1][0-9]{16}|",
    "922[0-2][0-9]{15}|",
    "9223[0-2][0-9]{14}|",
    "92233[0-6][0-9]{13}|",
    "922337[0-1][0-9]{12}|",
    "92233720[0-2][0-9]{10}|",
    "922337203[0-5][0-9]{9}|",
    "9223372036[0-7][0-9]{8}|",
    "92233720368[0-4][0-9]{7}|",
    "922337203685[0-3][0-9]{6}|",
    "9223372036854[0-6][0-9]{5}|",
    "92233720368547[0-6][0-9]{4}|",
    "922337203685477[0-4][0-9]{3}|",
    "9223372036854775[0-7][0-9]{2}|",
    "922337203685477580[0-6]|",
    "9223372036854775807",
    ")$"
);

/// What every entity id is: a snowflake with a type of its own.
pub trait EntityId: Copy + fmt::Display + FromStr<Err = IdParseError> {
    /// The id a snowflake (or a row, or a path) holds.
    fn from_raw(raw: i64) -> Self;
    /// The snowflake, for arithmetic on its bits (shard routing, tests of the generator).
    fn raw(self) -> i64;
}

/// Text that is not an id: not digits, out of range, or not positive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdParseError {
    #[error("expected an id (digits only)")]
    NotDigits,
    #[error("an id must be positive")]
    NotPositive,
}

/// Parses an id's text (`+`, leading zeros allowed), refusing 0 and negative numbers.
fn parse(text: &str) -> Result<i64, IdParseError> {
    let id: i64 = text.parse().map_err(|_| IdParseError::NotDigits)?;
    positive(id)
}

fn positive(id: i64) -> Result<i64, IdParseError> {
    if id <= 0 {
        return Err(IdParseError::NotPositive);
    }
    Ok(id)
}

/// An id in a request: a positive integer, as a string or a number (also `5.0`).
fn deserialize_raw<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Whole(f64),
        Text(String),
    }
    let malformed =
        || serde::de::Error::custom("expected an id (a positive integer, as a string or number)");
    let id = match Raw::deserialize(d).map_err(|_| malformed())? {
        Raw::Number(n) => n,
        Raw::Whole(f) => crate::json::whole_float(f).ok_or_else(malformed)?,
        Raw::Text(s) => s.parse().map_err(|_| IdParseError::NotDigits).map_err(de)?,
    };
    positive(id).map_err(de)
}

fn de<E: serde::de::Error>(error: IdParseError) -> E {
    E::custom(error)
}

/// The OpenAPI schema of an id as answers write it: text of [`PATTERN`].
pub fn text_schema() -> Schema {
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(PATTERN));
    Schema::Object(text.build())
}

/// Defines an entity id type: `sqlx` transparent over `BIGINT`, JSON a string (a string or a
/// number in requests), shown as text of [`PATTERN`] in the OpenAPI document.
macro_rules! entity_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(i64);

        impl EntityId for $name {
            fn from_raw(raw: i64) -> Self {
                Self(raw)
            }
            fn raw(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(text: &str) -> Result<Self, IdParseError> {
                parse(text).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_raw(d).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<Schema> {
                text_schema().into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

entity_id! {
    /// `user.id`.
    UserId;
    /// `author.id` (not the author's user id).
    AuthorId;
    /// `book.id`.
    BookId;
    /// A chapter: `book_index.id`, the `index_id` of the API.
    ChapterId;
    /// `user_buy_record.id`: one chapter bought by one user.
    BuyRecordId;
    /// `account_flow.id`: one ledger row.
    FlowId;
    /// `book_content*.id`: one chapter's text row.
    ContentId;
    /// `order_pay.id`: one recharge order.
    OrderId;
    /// `book_category.id`: a seeded category (a small number, written like every id).
    CategoryId;
}

impl UserId {
    /// No user: the owner of the jobs the schedule queues (admins alone may poll them).
    pub const NOBODY: Self = Self(0);
}

/// Payload fields of queued jobs keep ids as JSON numbers, the format running workers read.
pub mod number {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::EntityId;

    pub fn serialize<S: Serializer, T: EntityId>(id: &T, s: S) -> Result<S::Ok, S::Error> {
        id.raw().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: EntityId>(d: D) -> Result<T, D::Error> {
        i64::deserialize(d).map(T::from_raw)
    }
}

/// [`number`] for a list of ids.
pub mod numbers {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::EntityId;

    pub fn serialize<S: Serializer, T: EntityId>(ids: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter().map(|id| id.raw()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: EntityId>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<i64>::deserialize(d)?
            .into_iter()
            .map(T::from_raw)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_accepted_as_strings_or_numbers_and_must_be_positive() {
        #[derive(Deserialize)]
        struct Body {
            id: BookId,
        }
        let parse = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.id.raw());
        assert_eq!(parse(r#"{"id":"42"}"#).unwrap(), 42);
        assert_eq!(parse(r#"{"id":42}"#).unwrap(), 42);
        assert!(parse(r#"{"id":-1}"#).is_err());
        assert!(parse(r#"{"id":"4x"}"#).is_err());
        assert!(parse(r#"{"id":"99999999999999999999"}"#).is_err());
        assert!(parse(r#"{"id":1.5}"#).is_err());
        assert_eq!(parse(r#"{"id":42.0}"#).unwrap(), 42);
        assert!(parse(r#"{"id":1e20}"#).is_err());
    }

    #[test]
    fn ids_are_written_as_strings_and_read_back_from_text() {
        let id = ChapterId::from_raw(9_007_199_254_740_993);
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""9007199254740993""#);
        assert_eq!("+009007199254740993".parse::<ChapterId>(), Ok(id));
        assert_eq!("0".parse::<ChapterId>(), Err(IdParseError::NotPositive));
        assert_eq!("x".parse::<ChapterId>(), Err(IdParseError::NotDigits));
    }
}
