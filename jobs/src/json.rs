//! JSON conventions of the API: ids as strings (accepted as strings or numbers), RFC 3339
//! timestamps with exactly three fraction digits in UTC.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub mod id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        let id = match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected an id (a positive integer, as a string or number)")
        })? {
            Raw::Number(n) => n,
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
    }
}
