//! JSON conventions of the API: RFC 3339 timestamps with exactly three fraction digits in UTC,
//! integers also when written with a zero fraction. Ids have types of their own (`ids`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
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

/// [`whole`] for an optional field: absent or `null` is `None`.
pub fn opt_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|Whole(n)| n))
}

/// `f` as an `i64` when it has no fraction and fits (`i64::MAX as f64` is 2^63, which does not).
pub(crate) fn whole_float(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
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
