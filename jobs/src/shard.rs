//! Content shard routing: which data source and table hold a chapter's text.

use crate::ids::{BookId, ChapterId, EntityId};

/// Number of data sources and of tables per data source.
pub const SHARDS: u64 = 10;

const TABLES: [&str; SHARDS as usize] = [
    "book_content0",
    "book_content1",
    "book_content2",
    "book_content3",
    "book_content4",
    "book_content5",
    "book_content6",
    "book_content7",
    "book_content8",
    "book_content9",
];

/// Where one chapter's content lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentShard {
    /// Index into the data sources `ds0..ds9`.
    pub data_source: usize,
    /// The table inside that data source; a fixed name, safe to format into SQL.
    pub table: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardFlags {
    pub database_enabled: bool,
    pub table_enabled: bool,
}

/// `ds{book_id % 10}` when database sharding is on, `book_content{index_id % 10}` when table
/// sharding is on; otherwise `ds0` / `book_content`.
pub fn route(flags: ShardFlags, book_id: BookId, index_id: ChapterId) -> ContentShard {
    let data_source = if flags.database_enabled {
        (book_id.raw().unsigned_abs() % SHARDS) as usize
    } else {
        0
    };
    let table = if flags.table_enabled {
        TABLES[(index_id.raw().unsigned_abs() % SHARDS) as usize]
    } else {
        "book_content"
    };
    ContentShard { data_source, table }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(flags: ShardFlags, book_id: i64, index_id: i64) -> ContentShard {
        super::route(
            flags,
            BookId::from_raw(book_id),
            ChapterId::from_raw(index_id),
        )
    }

    fn flags(database_enabled: bool, table_enabled: bool) -> ShardFlags {
        ShardFlags {
            database_enabled,
            table_enabled,
        }
    }

    #[test]
    fn both_flags_route_database_by_book_and_table_by_chapter() {
        let shard = route(flags(true, true), 1234, 5677);
        assert_eq!(
            shard,
            ContentShard {
                data_source: 4,
                table: "book_content7"
            }
        );
    }

    #[test]
    fn database_only_keeps_the_plain_table() {
        let shard = route(flags(true, false), 1239, 5677);
        assert_eq!(
            shard,
            ContentShard {
                data_source: 9,
                table: "book_content"
            }
        );
    }

    #[test]
    fn table_only_keeps_the_first_data_source() {
        let shard = route(flags(false, true), 1239, 5671);
        assert_eq!(
            shard,
            ContentShard {
                data_source: 0,
                table: "book_content1"
            }
        );
    }

    #[test]
    fn no_flags_use_ds0_and_the_plain_table() {
        let shard = route(flags(false, false), 1239, 5671);
        assert_eq!(
            shard,
            ContentShard {
                data_source: 0,
                table: "book_content"
            }
        );
    }

    #[test]
    fn every_remainder_reaches_its_own_shard() {
        for n in 0..SHARDS as i64 {
            let shard = route(
                flags(true, true),
                7_000_000_000_000 + n,
                9_000_000_000_000 + n,
            );
            assert_eq!(shard.data_source, n as usize);
            assert_eq!(shard.table, format!("book_content{n}"));
        }
    }
}
