//! Extractors whose rejections speak the API's error shape, and paging.

use axum::extract::{FromRequest, FromRequestParts};
use jobs::paging::{PageRequest, SearchText};
use serde::Deserialize;

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
    /// The page asked for: page ≥ 1, 1 ≤ size ≤ 100 (default 1 and 20).
    pub fn checked(&self) -> Result<PageRequest, ApiError> {
        PageRequest::new(self.page, self.size).map_err(ApiError::invalid)
    }
}

/// `?q=`: search text; blank is no search.
#[derive(Debug, Deserialize)]
pub struct Search {
    q: Option<String>,
}

impl Search {
    /// The search text, refused past 100 characters.
    pub fn checked(&self) -> Result<Option<SearchText>, ApiError> {
        let text = self.q.as_deref().unwrap_or_default();
        SearchText::parse(text).map_err(|e| ApiError::invalid(format!("q: {e}")))
    }
}
