//! The one HTTP error type of the API: `{error, message}` with a stable code and status.

use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jobs::coins::Coins;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    /// A payment webhook whose signature is missing, wrong or stale.
    #[error("the signature is missing, wrong or outside the clock window")]
    BadSignature,
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("this session is frozen by an administrator")]
    SessionFrozen,
    #[error("missing or stale CSRF token")]
    CsrfMismatch,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("this chapter must be bought first")]
    PurchaseRequired { price: Coins },
    #[error("{0}")]
    Conflict(String),
    #[error("the shelf is full: remove a book first")]
    ShelfFull,
    #[error("this Idempotency-Key was used with another request (method, path or body)")]
    IdempotencyKeyReused,
    #[error("request body too large")]
    TooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests; retry later")]
    RateLimited { retry_after_secs: u64 },
    #[error("the server is busy; retry later")]
    Overloaded { retry_after_secs: u64 },
    #[error("a dependency is unavailable; retry later")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::BadSignature => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::SessionFrozen | Self::CsrfMismatch | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PurchaseRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::Conflict(_) | Self::ShelfFull => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::BadSignature => "bad_signature",
            Self::Unauthenticated => "unauthenticated",
            Self::BadCredentials => "bad_credentials",
            Self::SessionFrozen => "session_frozen",
            Self::CsrfMismatch => "csrf_mismatch",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::PurchaseRequired { .. } => "purchase_required",
            Self::Conflict(_) => "conflict",
            Self::ShelfFull => "shelf_full",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded { .. } | Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code, e.g. `invalid_request`.
    error: &'static str,
    /// Human text; for `invalid_request` it names the field.
    message: String,
    /// With `purchase_required`: the chapter's price in coins.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Coins>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unavailable(cause) => tracing::warn!(error = ?cause, "dependency unavailable"),
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
        let price = match self {
            Self::PurchaseRequired { price } => Some(price),
            _ => None,
        };
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
            price,
        };
        let mut response = (self.status_code(), Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } | Self::Overloaded { retry_after_secs } = self
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

/// Connection-level failures mean MySQL is unreachable (503); anything else is a bug (500).
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error.into()),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(error: redis::RedisError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<jobs::ids::IdError> for ApiError {
    fn from(error: jobs::ids::IdError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::Invalid(rejection.body_text())
    }
}

/// A raw body (a webhook's, a cover's) that could not be read: 413 past its route's limit.
impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::Invalid(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::Invalid(format!("bad path parameter: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Invalid(rejection.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The body limit answers 413 in plain text before any handler runs; under `/api` the answer
/// takes the error shape like every other.
pub async fn too_large_in_shape(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if api && response.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return ApiError::TooLarge.into_response();
    }
    response
}
