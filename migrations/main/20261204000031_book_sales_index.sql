-- book.sales is recounted by the income rollup for the books it touched: an index-only count of
-- each book's unrefunded buy records.
ALTER TABLE user_buy_record ADD KEY idx_buy_book_refund (book_id, refund_status);
