-- visit_flush: every batch of visit counts folded into book.visit_count, recorded in the same
-- transaction, so a run after a crash sees the batch applied and only deletes its Redis key.
CREATE TABLE visit_batch (
    batch_id CHAR(26) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    books INT NOT NULL,
    visits BIGINT NOT NULL,
    create_time DATETIME(3) NOT NULL,
    KEY idx_visit_batch_time (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
