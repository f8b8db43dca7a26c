//! What a book list asks for: filters (each value bound, never spliced) and a sort from a fixed
//! list of `ORDER BY` strings, so no request text reaches SQL.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::books::BookStatus;
use crate::ids::CategoryId;
use crate::paging::{Binds, SearchText};

/// The length of a ranking.
pub const RANKING_SIZE: u32 = 50;

/// The orders of a book list: every one descending, ties by id descending, each read from an
/// index over published books (see docs/design.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BookSort {
    /// Newest chapter update first.
    #[default]
    Updated,
    /// Newest book first.
    New,
    Words,
    Visits,
    Sales,
}

impl BookSort {
    fn order_by(self) -> &'static str {
        match self {
            Self::Updated => "ORDER BY b.last_index_update_time DESC, b.id DESC",
            Self::New => "ORDER BY b.create_time DESC, b.id DESC",
            Self::Words => "ORDER BY b.word_count DESC, b.id DESC",
            Self::Visits => "ORDER BY b.visit_count DESC, b.id DESC",
            Self::Sales => "ORDER BY b.sales DESC, b.id DESC",
        }
    }
}

impl FromStr for BookSort {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "updated" => Ok(Self::Updated),
            "new" => Ok(Self::New),
            "words" => Ok(Self::Words),
            "visits" => Ok(Self::Visits),
            "sales" => Ok(Self::Sales),
            _ => Err("one of updated, new, words, visits, sales"),
        }
    }
}

/// The rankings: the top [`RANKING_SIZE`] published books by one sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum RankingKind {
    Visits,
    Sales,
    New,
    Updated,
}

impl RankingKind {
    pub fn sort(self) -> BookSort {
        match self {
            Self::Visits => BookSort::Visits,
            Self::Sales => BookSort::Sales,
            Self::New => BookSort::New,
            Self::Updated => BookSort::Updated,
        }
    }
}

impl FromStr for RankingKind {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text {
            "visits" => Ok(Self::Visits),
            "sales" => Ok(Self::Sales),
            "new" => Ok(Self::New),
            "updated" => Ok(Self::Updated),
            _ => Err(()),
        }
    }
}

/// The filters of a book list; `None` filters nothing. Published books only, always.
#[derive(Debug, Clone, Default)]
pub struct BookFilter {
    /// Book name or pen name, substring.
    pub q: Option<SearchText>,
    pub category_id: Option<CategoryId>,
    pub book_status: Option<BookStatus>,
    /// `true`: books with VIP chapters; `false`: books without.
    pub vip: Option<bool>,
    pub min_words: Option<i64>,
    pub max_words: Option<i64>,
    /// Books with a chapter added at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

impl BookFilter {
    /// `WHERE …` over `book b` (and `author a` when searching by name) with its binds.
    pub(super) fn where_clause(&self) -> (String, Binds) {
        let mut sql = String::from("WHERE b.status = 1");
        let mut binds = Binds::default();
        if let Some(q) = &self.q {
            let pattern = q.like_pattern();
            sql.push_str(" AND (b.book_name LIKE ? OR a.pen_name LIKE ?)");
            binds = binds.bind(pattern.clone()).bind(pattern);
        }
        if let Some(category_id) = self.category_id {
            sql.push_str(" AND b.category_id = ?");
            binds = binds.bind(category_id);
        }
        if let Some(status) = self.book_status {
            sql.push_str(" AND b.book_status = ?");
            binds = binds.bind(status.as_str());
        }
        if let Some(vip) = self.vip {
            sql.push_str(" AND b.has_vip = ?");
            binds = binds.bind(vip);
        }
        if let Some(min) = self.min_words {
            sql.push_str(" AND b.word_count >= ?");
            binds = binds.bind(min);
        }
        if let Some(max) = self.max_words {
            sql.push_str(" AND b.word_count <= ?");
            binds = binds.bind(max);
        }
        if let Some(since) = self.updated_since {
            sql.push_str(" AND b.last_index_update_time >= ?");
            binds = binds.bind(since);
        }
        (sql, binds)
    }

    /// The `FROM` a count needs: the author only when searching by pen name.
    pub(super) fn count_from(&self) -> &'static str {
        if self.q.is_some() {
            "FROM book b JOIN author a ON a.id = b.author_id"
        } else {
            "FROM book b"
        }
    }
}

/// A full list statement: `select` (which names its `FROM`), the filters, the sort.
pub(super) fn ordered(select: &str, filter: &BookFilter, sort: BookSort) -> (String, Binds) {
    let (filters, binds) = filter.where_clause();
    (format!("{select} {filters} {}", sort.order_by()), binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_sorts_parse_and_each_breaks_ties_by_id() {
        for name in ["updated", "new", "words", "visits", "sales"] {
            let sort: BookSort = name.parse().unwrap();
            assert!(sort.order_by().ends_with("DESC, b.id DESC"));
        }
        assert!("id; DROP TABLE book".parse::<BookSort>().is_err());
        assert!("Updated".parse::<BookSort>().is_err());
        for name in ["visits", "sales", "new", "updated"] {
            assert!(name.parse::<RankingKind>().is_ok());
        }
        assert!("words".parse::<RankingKind>().is_err());
    }

    #[test]
    fn filters_add_only_placeholders() {
        let filter = BookFilter {
            q: SearchText::parse("x'").unwrap(),
            min_words: Some(5),
            ..BookFilter::default()
        };
        let (sql, _) = filter.where_clause();
        assert_eq!(
            sql,
            "WHERE b.status = 1 AND (b.book_name LIKE ? OR a.pen_name LIKE ?) AND b.word_count >= ?"
        );
        assert!(filter.count_from().contains("author"));
    }
}
