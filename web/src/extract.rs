//! Extractors whose rejections speak the API's error shape, ids in paths, paging and search,
//! and the OpenAPI schemas of ids in request bodies.

use axum::extract::{FromRequest, FromRequestParts};
use jobs::ids::{BookId, ChapterId, EntityId};
use jobs::paging::{PageRequest, SearchText};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{
    Array, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

use crate::error::ApiError;

/// `Path` that answers a malformed parameter with 400 `invalid_request`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// An entity id in a path (`ApiPath<PathId<BookId>>`), read as any 64-bit integer: a malformed
/// one is 400 `invalid_request` naming the type as ever, and one that names nothing (0 and
/// negative ones too) is the handler's 404.
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(pub T);

impl<'de, T: EntityId> Deserialize<'de> for PathId<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d).map(|raw| Self(T::from_raw(raw)))
    }
}

/// A chapter's path: `…/{book_id}/…/{index_id}`.
pub type ChapterPath = ApiPath<(PathId<BookId>, PathId<ChapterId>)>;

/// `Json` that answers bad JSON with 400 `invalid_request` (413 `too_large` past the limit).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` that answers bad query strings with 400 `invalid_request`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `?page=&size=`; numbers arrive as text when flattened into a larger query, so parse text.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// page, from 1
    #[serde(default, deserialize_with = "number")]
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// page size, 1 to 100
    #[serde(default, deserialize_with = "number")]
    #[param(minimum = 1, maximum = 100)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// search text (book or pen name in the catalog), substring
    #[param(max_length = 100)]
    q: Option<String>,
}

impl Search {
    /// The search text, refused past 100 characters.
    pub fn checked(&self) -> Result<Option<SearchText>, ApiError> {
        let text = self.q.as_deref().unwrap_or_default();
        SearchText::parse(text).map_err(|e| ApiError::invalid(format!("q: {e}")))
    }
}

/// An id in a request body: a positive 64-bit integer, as text or a number.
pub fn id_schema() -> Schema {
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(i64::MAX as isize));
    Schema::OneOf(
        OneOfBuilder::new()
            .item(jobs::ids::text_schema())
            .item(number)
            .build(),
    )
}

/// A list of distinct ids in a request body, 1 to `max` of them.
pub fn id_list_schema(max: usize) -> Array {
    ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::T(id_schema()))
        .min_items(Some(1))
        .max_items(Some(max))
        .unique_items(true)
        .build()
}
