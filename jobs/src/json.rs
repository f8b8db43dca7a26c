//! JSON conventions of the API: ids as strings (accepted as strings or numbers), RFC 3339
//! timestamps with exactly three fraction digits in UTC.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub mod id {
    use super::*;

    /// The text [`deserialize`] takes, as a regular expression: an optional `+`, leading zeros,
    /// then a number from 1 to `i64::MAX` (one alternative per digit that may be below the
    /// bound's).
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

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Whole(f64),
            Text(String),
        }
        let malformed = || {
            serde::de::Error::custom("expected an id (a positive integer, as a string or number)")
        };
        let id = match Raw::deserialize(d).map_err(|_| malformed())? {
            Raw::Number(n) => n,
            Raw::Whole(f) => whole_float(f).ok_or_else(malformed)?,
            Raw::Text(s) => s
                .parse()
                .map_err(|_| serde::de::Error::custom("expected an id (digits only)"))?,
        };
        if id <= 0 {
            return Err(serde::de::Error::custom("an id must be positive"));
        }
        Ok(id)
    }
}

/// A JSON integer, also when written with a zero fraction (`5.0`): JSON Schema counts that as
/// an integer, so a client generated from the OpenAPI document may send it.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Whole(f64),
    }
    let number = match Raw::deserialize(d) {
        Ok(Raw::Number(n)) => Some(n),
        Ok(Raw::Whole(f)) => whole_float(f),
        Err(_) => None,
    };
    number.ok_or_else(|| serde::de::Error::custom("expected an integer"))
}

/// `f` as an `i64` when it has no fraction and fits (`i64::MAX as f64` is 2^63, which does not).
fn whole_float(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

pub mod opt_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.collect_str(id),
            None => s.serialize_none(),
        }
    }
}

pub mod ids {
    use super::*;

    pub fn serialize<S: Serializer>(ids: &[i64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter().map(i64::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        #[derive(Deserialize)]
        struct Id(#[serde(with = "super::id")] i64);
        Ok(Vec::<Id>::deserialize(d)?
            .into_iter()
            .map(|Id(i)| i)
            .collect())
    }
}

pub mod timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time(t))
    }
}

pub mod opt_timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&time(t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_three_fraction_digits_and_z() {
        let t = DateTime::from_timestamp_millis(1_795_000_000_120).unwrap();
        assert_eq!(time(&t), "2026-11-18T11:06:40.120Z");
    }

    #[test]
    fn ids_are_accepted_as_strings_or_numbers_and_must_be_positive() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(with = "id")]
            id: i64,
        }
        let parse = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.id);
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
    fn whole_numbers_may_carry_a_zero_fraction() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(deserialize_with = "whole")]
            n: i64,
        }
        let parse = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.n);
        assert_eq!(parse(r#"{"n":7}"#).unwrap(), 7);
        assert_eq!(parse(r#"{"n":-7.0}"#).unwrap(), -7);
        assert!(parse(r#"{"n":7.5}"#).is_err());
        assert!(parse(r#"{"n":"7"}"#).is_err());
        assert!(parse(r#"{"n":9223372036854775808}"#).is_err());
    }
}
