-- A content data source: the plain table (table sharding off) and book_content0..9.

CREATE TABLE book_content (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content0 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content0_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content1 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content1_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content2 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content2_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content3 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content3_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content4 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content4_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content5 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content5_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content6 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content6_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content7 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content7_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content8 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content8_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_content9 (
    id BIGINT NOT NULL PRIMARY KEY,
    index_id BIGINT NOT NULL,
    content MEDIUMTEXT NOT NULL,
    UNIQUE KEY uk_content9_index (index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
