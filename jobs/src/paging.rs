//! Lists a page at a time: the page asked for, the page answered, search text, and the one
//! helper that counts a list and reads a page of it with the same binds.

use serde::Serialize;
use sqlx::mysql::{MySql, MySqlArguments, MySqlRow};
use sqlx::{Arguments, AssertSqlSafe, Encode, FromRow, MySqlPool, SqlSafeStr, Type};

pub const MAX_PAGE: u32 = 1_000_000;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_SEARCH_CHARS: usize = 100;

/// A page of a list as asked for: `page` from 1, `size` 1 to [`MAX_PAGE_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

/// The first page at the default size.
impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// The page (default 1) and size (default 20), or which of them is out of range.
    pub fn new(page: Option<u32>, size: Option<u32>) -> Result<Self, String> {
        Self::within(page, size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    }

    /// [`PageRequest::new`] for a list with its own default and largest page size.
    pub fn within(
        page: Option<u32>,
        size: Option<u32>,
        default_size: u32,
        max_size: u32,
    ) -> Result<Self, String> {
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(default_size);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(format!("page: must be between 1 and {MAX_PAGE}"));
        }
        if !(1..=max_size).contains(&size) {
            return Err(format!("size: must be between 1 and {max_size}"));
        }
        Ok(Self { page, size })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn size(self) -> u32 {
        self.size
    }

    /// How many rows come before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.size)
    }

    /// This page of a list of `total` rows, holding `items`.
    pub fn answer<T>(self, total: i64, items: Vec<T>) -> Page<T> {
        Page {
            total,
            page: self.page,
            size: self.size,
            items,
        }
    }
}

/// One page of a list and the length of the whole list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub total: i64,
    pub page: u32,
    pub size: u32,
    pub items: Vec<T>,
}

impl<T> Page<T> {
    /// The same page with each item changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total: self.total,
            page: self.page,
            size: self.size,
            items: self.items.into_iter().map(f).collect(),
        }
    }
}

/// A user's search text: trimmed, 1 to [`MAX_SEARCH_CHARS`] characters, matched literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// `None` for blank text; an error past [`MAX_SEARCH_CHARS`] characters.
    pub fn parse(text: &str) -> Result<Option<Self>, &'static str> {
        let text = text.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err("at most 100 characters");
        }
        Ok((!text.is_empty()).then(|| Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A `LIKE` pattern matching the text anywhere, with `%`, `_` and `\` taken literally.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

/// The values of a list's `?` placeholders, in order; the first one that fails to encode
/// fails the query.
#[derive(Debug, Default, Clone)]
pub struct Binds {
    args: MySqlArguments,
    failed: Option<String>,
}

impl Binds {
    pub fn bind<'t, T: Encode<'t, MySql> + Type<MySql>>(mut self, value: T) -> Self {
        if self.failed.is_none()
            && let Err(error) = self.args.add(value)
        {
            self.failed = Some(error.to_string());
        }
        self
    }

    pub(crate) fn into_args(self) -> Result<MySqlArguments, sqlx::Error> {
        match self.failed {
            Some(error) => Err(sqlx::Error::Encode(error.into())),
            None => Ok(self.args),
        }
    }
}

/// Counts a list with `count` and reads the page `request` asks for with `rows` (which orders
/// the list; `LIMIT ? OFFSET ?` is added here); both take the same `binds`.
#[tracing::instrument(skip_all)]
pub async fn count_and_page<T>(
    pool: &MySqlPool,
    count: impl SqlSafeStr,
    rows: impl SqlSafeStr,
    binds: Binds,
    request: PageRequest,
) -> Result<Page<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, MySqlRow> + Send + Unpin,
{
    let total: i64 = sqlx::query_scalar_with(count, binds.clone().into_args()?)
        .fetch_one(pool)
        .await?;
    let rows = format!("{} LIMIT ? OFFSET ?", rows.into_sql_str().as_str());
    let binds = binds.bind(request.size).bind(request.offset());
    let items = sqlx::query_as_with(AssertSqlSafe(rows), binds.into_args()?)
        .fetch_all(pool)
        .await?;
    Ok(request.answer(total, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        let text = SearchText::parse(" 50%_a\\b ").unwrap().unwrap();
        assert_eq!(text.like_pattern(), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn blank_search_text_is_no_search_and_long_text_is_refused() {
        assert_eq!(SearchText::parse("  "), Ok(None));
        assert!(SearchText::parse(&"é".repeat(100)).unwrap().is_some());
        assert!(SearchText::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn pages_start_at_one_and_hold_at_most_a_hundred() {
        assert_eq!(PageRequest::new(None, None), Ok(PageRequest::default()));
        assert_eq!(PageRequest::default().offset(), 0);
        assert_eq!(PageRequest::new(Some(3), Some(10)).unwrap().offset(), 20);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(0)).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        assert!(PageRequest::new(Some(1_000_001), None).is_err());
        assert_eq!(
            PageRequest::within(None, None, 1000, 1000).unwrap().size(),
            1000
        );
        assert!(PageRequest::within(None, Some(1001), 1000, 1000).is_err());
    }
}
