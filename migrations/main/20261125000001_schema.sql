-- The main database: accounts, catalog, purchases, ledger, job outcomes.

CREATE TABLE user (
    id BIGINT NOT NULL PRIMARY KEY,
    username VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    nick_name VARCHAR(64) NOT NULL,
    account_balance BIGINT NOT NULL DEFAULT 0,
    roles VARCHAR(64) NOT NULL DEFAULT 'reader',
    status TINYINT NOT NULL DEFAULT 0,
    session_frozen TINYINT NOT NULL DEFAULT 0,
    create_time DATETIME(3) NOT NULL,
    update_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_user_username (username),
    CONSTRAINT ck_user_balance CHECK (account_balance >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE author (
    id BIGINT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    pen_name VARCHAR(50) NOT NULL,
    user_photo VARCHAR(255) NULL,
    status TINYINT NOT NULL DEFAULT 0,
    create_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_author_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE author_follow (
    user_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    create_time DATETIME(3) NOT NULL,
    PRIMARY KEY (user_id, author_id),
    KEY idx_follow_user_time (user_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book (
    id BIGINT NOT NULL PRIMARY KEY,
    author_id BIGINT NOT NULL,
    book_name VARCHAR(50) NOT NULL,
    status TINYINT NOT NULL DEFAULT 0,
    word_count BIGINT NOT NULL DEFAULT 0,
    last_index_id BIGINT NULL,
    last_index_name VARCHAR(100) NULL,
    last_index_update_time DATETIME(3) NULL,
    create_time DATETIME(3) NOT NULL,
    update_time DATETIME(3) NOT NULL,
    KEY idx_book_status_update (status, last_index_update_time),
    KEY idx_book_author (author_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE book_index (
    id BIGINT NOT NULL PRIMARY KEY,
    book_id BIGINT NOT NULL,
    index_num INT NOT NULL,
    index_name VARCHAR(100) NOT NULL,
    word_count INT NOT NULL,
    is_vip TINYINT NOT NULL DEFAULT 0,
    book_price BIGINT NOT NULL DEFAULT 0,
    create_time DATETIME(3) NOT NULL,
    update_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_index_book_num (book_id, index_num)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE user_buy_record (
    id BIGINT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    book_id BIGINT NOT NULL,
    book_name VARCHAR(50) NOT NULL,
    book_index_id BIGINT NOT NULL,
    book_index_name VARCHAR(100) NOT NULL,
    buy_amount BIGINT NOT NULL,
    job_id VARCHAR(64) NOT NULL,
    refund_status TINYINT NOT NULL DEFAULT 0,
    create_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_buy_user_index (user_id, book_index_id),
    KEY idx_buy_refund (refund_status, book_index_id),
    KEY idx_buy_index (book_index_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE account_flow (
    id BIGINT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    delta BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reason VARCHAR(16) NOT NULL,
    ref_id VARCHAR(64) NOT NULL,
    note VARCHAR(255) NULL,
    create_time DATETIME(3) NOT NULL,
    KEY idx_flow_user (user_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE purchase_job (
    job_id VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    result JSON NULL,
    error_code VARCHAR(32) NULL,
    attempts INT NOT NULL DEFAULT 1,
    create_time DATETIME(3) NOT NULL,
    finish_time DATETIME(3) NULL,
    KEY idx_job_user (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
