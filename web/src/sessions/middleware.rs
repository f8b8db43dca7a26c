//! Resolves the presented token once per request: frozen sessions and CSRF failures stop here
//! (as JSON errors under `/api`, as HTML error pages elsewhere).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::store::{Resolved, Store};
use super::{COOKIE, CSRF_HEADER, Via};
use crate::error::ApiError;
use crate::state::AppState;

/// Not authenticated requests: they start a session, so they carry no CSRF token yet.
const CSRF_EXEMPT: &[&str] = &["/api/auth/login", "/api/auth/register"];

/// Payment webhooks are authenticated by their signature alone: any cookie or token they carry
/// is not looked at (no session, no CSRF check, no frozen-session refusal).
const SIGNED_ONLY: &str = "/api/payments/";

/// Puts the live `Session` into the request's extensions. An unknown or expired token passes as
/// signed out (protected routes then answer 401 through the extractors); a frozen session gets
/// 403 everywhere; a cookie write without the current (or a graced) CSRF token gets 403.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.uri().path().starts_with(SIGNED_ONLY) {
        return next.run(request).await;
    }
    let Some((token, via)) = credential(request.headers()) else {
        return next.run(request).await;
    };
    let csrf = needs_csrf(&request, via).then(|| {
        request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    });
    let resolved = Store::new(&state)
        .resolve(&token, via, csrf.as_deref())
        .await;
    match resolved {
        Err(error) => reject(&request, error.into()),
        Ok(Resolved::Unknown) => next.run(request).await,
        Ok(Resolved::Frozen) => reject(&request, ApiError::SessionFrozen),
        Ok(Resolved::CsrfMismatch) => reject(&request, ApiError::CsrfMismatch),
        Ok(Resolved::Live(session)) => {
            let csrf = HeaderValue::from_str(&session.csrf);
            request.extensions_mut().insert(session);
            let mut response = next.run(request).await;
            // Login and password change answer with the new session's token themselves.
            if let Ok(csrf) = csrf
                && !response.headers().contains_key(CSRF_HEADER)
            {
                response.headers_mut().insert(CSRF_HEADER, csrf);
            }
            response
        }
    }
}

fn reject(request: &Request, error: ApiError) -> Response {
    crate::pages::reject(request.uri().path(), error)
}

/// The token and how it came: a Bearer header alone decides when present, else the cookie.
fn credential(headers: &HeaderMap) -> Option<(String, Via)> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    if let Some((_, token)) = bearer {
        return Some((token.trim().to_owned(), Via::Bearer));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| (value.to_owned(), Via::Cookie))
}

fn needs_csrf(request: &Request, via: Via) -> bool {
    let writes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    via == Via::Cookie && writes && !CSRF_EXEMPT.contains(&request.uri().path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_bearer_header_wins_over_the_cookie() {
        let both = headers(&[
            (header::COOKIE, "a=1; novel_token=from-cookie"),
            (header::AUTHORIZATION, "Bearer from-header"),
        ]);
        assert_eq!(
            credential(&both),
            Some(("from-header".to_owned(), Via::Bearer))
        );
        let cookie = headers(&[(header::COOKIE, "a=1; novel_token=from-cookie")]);
        assert_eq!(
            credential(&cookie),
            Some(("from-cookie".to_owned(), Via::Cookie))
        );
        assert_eq!(
            credential(&headers(&[(header::COOKIE, "novel_token=")])),
            None
        );
    }
}
