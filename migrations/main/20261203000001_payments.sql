-- v1.1 coins in and author income: recharge orders, the payment events kept once, the time a buy
-- record was refunded, and income folded per book and UTC day.

-- A recharge order. Coins move only when a verified success event is applied by the `recharge`
-- job (pending, expired or failed -> paid, one ledger row `recharge` with ref_id = id). An event
-- whose amount or currency differs marks it `flagged`; an admin resolves it: credit (-> paid,
-- resolution `credited`) or reject (stays flagged, resolution `rejected`, so no later event
-- credits it). `note` says why it was flagged and how it was resolved.
CREATE TABLE order_pay (
    id BIGINT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    package_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    -- In minor units (fen, cents) of `currency` (ISO 4217, upper case).
    amount BIGINT NOT NULL,
    currency CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    coins BIGINT NOT NULL,
    bonus_coins BIGINT NOT NULL DEFAULT 0,
    provider VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    -- The provider's handle on the payment (sandbox: the order id; Stripe: the Checkout Session
    -- id cs_...) and where the payer goes; null until the checkout exists.
    provider_ref VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
    checkout_url VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NULL,
    status ENUM('pending', 'paid', 'expired', 'failed', 'flagged') NOT NULL DEFAULT 'pending',
    create_time DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    paid_at DATETIME(3) NULL,
    update_time DATETIME(3) NOT NULL,
    note VARCHAR(255) NULL,
    resolution ENUM('credited', 'rejected') NULL,
    resolved_by BIGINT NULL,
    resolved_time DATETIME(3) NULL,
    UNIQUE KEY uk_order_provider_ref (provider, provider_ref),
    KEY idx_order_user_time (user_id, create_time, id),
    KEY idx_order_status_time (status, create_time, id),
    KEY idx_order_time (create_time, id),
    KEY idx_order_expiry (status, expires_at),
    CONSTRAINT ck_order_amounts CHECK (amount > 0 AND coins > 0 AND bonus_coins >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Every verified event, kept once per provider and event id: a duplicate delivery finds its row.
CREATE TABLE payment_event (
    provider VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_id VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    order_id BIGINT NOT NULL,
    type VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    amount BIGINT NULL,
    currency CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NULL,
    received_at DATETIME(3) NOT NULL,
    PRIMARY KEY (provider, event_id),
    KEY idx_event_order (order_id, received_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A refund counts on the day it was made. Records refunded before this column existed count
-- on their purchase day (their refund time is unknown; the day's net stays right).
ALTER TABLE user_buy_record
    ADD COLUMN refund_time DATETIME(3) NULL,
    ADD KEY idx_buy_time (create_time),
    ADD KEY idx_buy_refund_time (refund_time);

UPDATE user_buy_record SET refund_time = create_time WHERE refund_status = 1;

-- Written only by the `income_rollup` job: a re-run rewrites a day's rows from buy records.
-- `sales` and `refunds` count chapters (buy records).
CREATE TABLE author_income_daily (
    author_id BIGINT NOT NULL,
    book_id BIGINT NOT NULL,
    day DATE NOT NULL,
    sales BIGINT NOT NULL DEFAULT 0,
    coins BIGINT NOT NULL DEFAULT 0,
    refunds BIGINT NOT NULL DEFAULT 0,
    refunded_coins BIGINT NOT NULL DEFAULT 0,
    update_time DATETIME(3) NOT NULL,
    PRIMARY KEY (book_id, day),
    KEY idx_income_author_day (author_id, day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
