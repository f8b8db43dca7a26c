//! The `Idempotency-Key` header: validated at the edge and bound to a fingerprint of the
//! request it came with, so the same key with another request is refused, not replayed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jobs::ids::UserId;
use jobs::redis_conn::RedisConn;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Keys are claimed for this long: the same key from the same user within it is the same job.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// A request's validated `Idempotency-Key` header (1–64 visible ASCII characters), if it sent
/// one, with the method and path it came with.
pub struct Idempotency(Option<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| {
                (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len())
                    && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::invalid("Idempotency-Key: 1 to 64 visible ASCII characters")
            })?;
        let request = format!("{} {}", parts.method, parts.uri.path());
        Ok(Self(Some((key.to_owned(), request))))
    }
}

/// The header as the OpenAPI document shows it: `params(Idempotency)`.
impl utoipa::IntoParams for Idempotency {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_IDEMPOTENCY_KEY))
            .pattern(Some("^[!-~]+$"));
        let header = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("1 to 64 visible ASCII characters"))
            .schema(Some(schema));
        vec![header.build()]
    }
}

/// A key and the fingerprint of the whole request it was sent with.
pub struct Keyed {
    pub key: String,
    /// SHA-256 (hex) of method, path and the body as parsed: a retry that writes the same
    /// body another way (an id as a number instead of a string) is still the same request.
    pub fingerprint: String,
}

impl Idempotency {
    pub fn with_body(self, body: &impl Serialize) -> Option<Keyed> {
        let (key, request) = self.0?;
        let body = serde_json::to_vec(body).expect("a parsed request body serialises");
        let digest = Sha256::new()
            .chain_update(request.as_bytes())
            .chain_update(b"\n")
            .chain_update(&body)
            .finalize();
        Some(Keyed {
            key,
            fingerprint: format!("{digest:x}"),
        })
    }
}

/// The Redis key a user's `Idempotency-Key` is claimed under, in `partition`, the partition of
/// what it admits: the user's own for every request that takes a key (purchases, batches and
/// recharge orders), so they share one space and a key sent with another request is refused,
/// whatever the route.
pub fn claim_key(prefix: &str, partition: u16, owner: UserId, key: &str) -> String {
    jobs::keys::idempotency_claim(prefix, partition, owner, key)
}

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claimed {
    New,
    /// Claimed before by the same request, for this id.
    Earlier(String),
    /// Claimed before by another request: nothing may change.
    Reused,
}

/// Claims `keyed` (at `claim_key`) for `id` unless it was claimed before; the claim holds
/// `fingerprint|id`, as a job's does (`jobs::job::submit`).
pub async fn claim(
    redis: &RedisConn,
    claim_key: &str,
    keyed: &Keyed,
    id: &str,
) -> redis::RedisResult<Claimed> {
    let earlier: Option<String> = redis::cmd("SET")
        .arg(claim_key)
        .arg(format!("{}|{id}", keyed.fingerprint))
        .arg("NX")
        .arg("GET")
        .arg("EX")
        .arg(IDEMPOTENCY_TTL_SECS)
        .query_async(&mut redis.clone())
        .await?;
    Ok(match earlier.as_deref().and_then(|e| e.split_once('|')) {
        None if earlier.is_none() => Claimed::New,
        Some((fingerprint, id)) if fingerprint == keyed.fingerprint => {
            Claimed::Earlier(id.to_owned())
        }
        _ => Claimed::Reused,
    })
}
