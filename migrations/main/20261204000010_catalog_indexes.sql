-- v1.1 catalog: every filter and sort of GET /api/books and every ranking is an index range over
-- published books (status = 1), read in order (descending, ties by id: InnoDB appends the primary
-- key to every secondary index), so no request scans all books. `updated` is served by the
-- existing idx_book_status_update (status, last_index_update_time).

ALTER TABLE book
    ADD KEY idx_book_status_new (status, create_time),
    ADD KEY idx_book_status_words (status, word_count),
    ADD KEY idx_book_status_visits (status, visit_count),
    ADD KEY idx_book_status_sales (status, sales),
    ADD KEY idx_book_category_update (status, category_id, last_index_update_time),
    ADD KEY idx_book_category_new (status, category_id, create_time),
    ADD KEY idx_book_category_words (status, category_id, word_count),
    ADD KEY idx_book_category_visits (status, category_id, visit_count),
    ADD KEY idx_book_category_sales (status, category_id, sales),
    ADD KEY idx_book_state_update (status, book_status, last_index_update_time),
    ADD KEY idx_book_vip_update (status, has_vip, last_index_update_time);
