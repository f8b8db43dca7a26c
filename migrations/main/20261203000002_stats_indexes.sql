-- The admin's daily figures (`jobs::income::daily_stats`) read new accounts by `create_time` and
-- paid orders by `paid_at` over a range of days: without these they scanned every user and
-- every paid order on each /admin page view.
ALTER TABLE user ADD KEY idx_user_create_time (create_time);
ALTER TABLE order_pay ADD KEY idx_order_paid (status, paid_at);
