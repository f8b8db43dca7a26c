//! Webhook signatures of the `t=<unix>,v1=<hex>` kind that the sandbox (`Novel-Signature`) and
//! Stripe (`Stripe-Signature`) both use: HMAC-SHA256 over `"<t>.<raw body>"`.
//!
//! Stripe's scheme, as its own library checks it (stripe-node `src/Webhooks.ts`): the header is
//! split on `,` then `=`; `t` is the timestamp; every `v1` entry is a candidate (a header carries
//! several while a signing secret is being rolled) and other schemes (`v0`) are ignored; the
//! expected value is the lowercase hex HMAC-SHA256 of `` `${t}.${payload}` `` keyed by the
//! endpoint secret (`whsec_...`, used as is), compared in constant time; the default tolerance is
//! 300 s. Stripe's library only refuses old timestamps; here a timestamp too far in the future is
//! refused as well, as API.md asks of the sandbox.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The sandbox's header (API.md "v1.1: Coins in").
pub const SANDBOX_HEADER: &str = "Novel-Signature";
/// Stripe's header.
pub const STRIPE_HEADER: &str = "Stripe-Signature";

/// A header longer than this is not a signature (a few `v1` entries are ~80 bytes each).
const MAX_HEADER_LEN: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused; every case answers 400 `bad_signature` and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed (expected t=<unix seconds>,v1=<hex>)")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp` (unix seconds): `t=<timestamp>,v1=<hex>`.
/// A provider's webhook signing secret and how far an event's time may be from the clock.
#[derive(Debug, Clone)]
pub struct WebhookKey {
    secret: SecretString,
    tolerance_secs: u64,
}

impl WebhookKey {
    pub fn new(secret: SecretString, tolerance_secs: u64) -> Self {
        Self {
            secret,
            tolerance_secs,
        }
    }

    /// [`verify`] with this key.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let secret = self.secret.expose_secret().as_bytes();
        verify(header, body, secret, now, self.tolerance_secs)
    }

    /// [`sign`] with this key.
    pub fn sign(&self, body: &[u8], now: i64) -> String {
        sign(self.secret.expose_secret().as_bytes(), now, body)
    }
}

pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

/// Checks `header` against `body`: a `t` within `tolerance_secs` of `now` (unix seconds) and at
/// least one `v1` that is the HMAC of `"<t>.<body>"`, compared in constant time.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed)?;
                timestamp = Some(t);
            }
            "t" => return Err(SignatureError::Malformed),
            // A v1 that is not hex cannot match; the others still may.
            "v1" => candidates.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time.
    candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
        .then_some(())
        .ok_or(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"sandbox-dev-secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment.succeeded","order_id":"42","amount":600,"currency":"CNY","created":1764000000}"#;
    const NOW: i64 = 1_764_000_000;

    fn check(header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        verify(Some(header), body, SECRET, now, 300)
    }

    #[test]
    fn a_signature_matches_an_independent_hmac_of_t_dot_body() {
        // printf '%s' '1764000000.hello' | openssl dgst -sha256 -hmac sandbox-dev-secret
        assert_eq!(
            sign(SECRET, NOW, b"hello"),
            "t=1764000000,v1=6ef80a555a465e214b6d72b461d7392594080b283f0b57e7a2f4cce4d8aaba7d"
        );
    }

    #[test]
    fn a_fresh_signature_of_the_same_body_verifies() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(check(&header, BODY, NOW), Ok(()));
        assert_eq!(check(&header, BODY, NOW + 300), Ok(()));
        assert_eq!(check(&header, BODY, NOW - 300), Ok(()));
    }

    #[test]
    fn a_wrong_secret_or_a_tampered_body_is_a_mismatch() {
        let header = sign(b"another-secret", NOW, BODY);
        assert_eq!(check(&header, BODY, NOW), Err(SignatureError::Mismatch));
        let header = sign(SECRET, NOW, BODY);
        let tampered = String::from_utf8_lossy(BODY).replace("600", "60000");
        assert_eq!(
            check(&header, tampered.as_bytes(), NOW),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(check(&moved, BODY, NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused_even_when_signed() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(check(&header, BODY, NOW + 301), Err(SignatureError::Stale));
        assert_eq!(check(&header, BODY, NOW - 301), Err(SignatureError::Stale));
    }

    #[test]
    fn malformed_or_missing_headers_are_refused() {
        assert_eq!(
            verify(None, BODY, SECRET, NOW, 300),
            Err(SignatureError::Missing)
        );
        let good = sign(SECRET, NOW, BODY);
        let v1 = good.split_once(",v1=").unwrap().1;
        for header in [
            "",
            "garbage",
            &format!("v1={v1}"),
            &format!("t=soon,v1={v1}"),
            &format!("t={NOW}"),
            &format!("t={NOW},v0={v1}"),
            &format!("t={NOW},t={NOW},v1={v1}"),
            &format!("t={NOW},v1={v1},{}", "x".repeat(MAX_HEADER_LEN)),
        ] {
            assert_eq!(
                check(header, BODY, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn any_of_several_v1_signatures_may_match_and_v0_is_ignored() {
        let good = sign(SECRET, NOW, BODY);
        let v1 = good.split_once(",v1=").unwrap().1;
        let old = sign(b"rolled-secret", NOW, BODY);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={old_v1},v1=nothex,v1={v1},v0={old_v1}");
        assert_eq!(check(&header, BODY, NOW), Ok(()));
        let header = format!("t={NOW}, v1={old_v1}, v0={v1}");
        assert_eq!(check(&header, BODY, NOW), Err(SignatureError::Mismatch));
    }
}
