-- v1.1 library and discovery: book details, categories, shelf, reading history.

CREATE TABLE book_category (
    id INT NOT NULL PRIMARY KEY,
    name VARCHAR(20) NOT NULL,
    channel ENUM('male', 'female') NOT NULL,
    sort INT NOT NULL,
    UNIQUE KEY uk_category_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The original's categories and channels (novel-plus book_category, work_direction 0 male / 1 female).
INSERT INTO book_category (id, name, channel, sort) VALUES
    (1, '玄幻奇幻', 'male', 10),
    (2, '武侠仙侠', 'male', 20),
    (3, '都市言情', 'male', 30),
    (4, '历史军事', 'male', 40),
    (5, '科幻灵异', 'male', 50),
    (6, '网游竞技', 'male', 60),
    (7, '女生频道', 'female', 70);

-- `status` stays draft (0) / published (1); `book_status` is the story's own state.
-- `has_vip` and `chapter_count` are kept by every chapter write, so the `vip` filter and the
-- chapter count need no scan; `sales` is derived by the income rollup, `visit_count` by
-- visit_flush: never bumped inside a purchase.
ALTER TABLE book
    ADD COLUMN description VARCHAR(2000) NOT NULL DEFAULT '',
    ADD COLUMN category_id INT NULL,
    ADD COLUMN book_status ENUM('ongoing', 'finished') NOT NULL DEFAULT 'ongoing',
    ADD COLUMN cover VARCHAR(80) CHARACTER SET ascii NULL,
    ADD COLUMN visit_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN sales BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN has_vip TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN chapter_count INT NOT NULL DEFAULT 0;

UPDATE book b SET
    b.chapter_count = (SELECT COUNT(*) FROM book_index i WHERE i.book_id = b.id),
    b.has_vip = EXISTS (SELECT 1 FROM book_index i WHERE i.book_id = b.id AND i.is_vip = 1),
    b.sales = (SELECT COUNT(*) FROM user_buy_record r WHERE r.book_id = b.id AND r.refund_status = 0);

CREATE TABLE user_bookshelf (
    user_id BIGINT NOT NULL,
    book_id BIGINT NOT NULL,
    last_read_index_id BIGINT NULL,
    last_read_time DATETIME(3) NULL,
    create_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_shelf_user_book (user_id, book_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE user_read_history (
    user_id BIGINT NOT NULL,
    book_id BIGINT NOT NULL,
    index_id BIGINT NOT NULL,
    read_time DATETIME(3) NOT NULL,
    UNIQUE KEY uk_history_user_book (user_id, book_id),
    KEY idx_history_user_time (user_id, read_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
