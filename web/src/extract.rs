//! Extractors whose rejections speak the API's error shape, and paging.

use axum::extract::{FromRequest, FromRequestParts};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `Path` that answers a malformed parameter with 400 `invalid_request`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Json` that answers bad JSON with 400 `invalid_request` (413 `too_large` past the limit).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` that answers bad query strings with 400 `invalid_request`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub const MAX_PAGE_SIZE: u32 = 100;

/// `?page=&size=`; numbers arrive as text when flattened into a larger query, so parse text.
#[derive(Debug, Deserialize)]
pub struct Paging {
    #[serde(default, deserialize_with = "number")]
    page: Option<u32>,
    #[serde(default, deserialize_with = "number")]
    size: Option<u32>,
}

fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| {
        t.parse()
            .map_err(|_| serde::de::Error::custom(format!("`{t}` is not a page number")))
    })
    .transpose()
}

impl Paging {
    /// `(page, size)` validated: page ≥ 1, 1 ≤ size ≤ 100 (default 1 and 20).
    pub fn checked(&self) -> Result<(u32, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        let size = self.size.unwrap_or(20);
        if page == 0 || page > 1_000_000 {
            return Err(ApiError::invalid("page: must be between 1 and 1000000"));
        }
        if size == 0 || size > MAX_PAGE_SIZE {
            return Err(ApiError::invalid("size: must be between 1 and 100"));
        }
        Ok((page, size))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub total: i64,
    pub page: u32,
    pub size: u32,
    pub items: Vec<T>,
}

pub fn offset(page: u32, size: u32) -> u64 {
    u64::from(page - 1) * u64::from(size)
}
