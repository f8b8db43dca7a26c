-- An admin credit sent with an Idempotency-Key: the key is kept with the request's fingerprint
-- and the balance it answered, so a retry answers the same and never credits twice.
CREATE TABLE admin_credit (
    admin_id BIGINT NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    fingerprint CHAR(64) NOT NULL,
    user_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    create_time DATETIME(3) NOT NULL,
    PRIMARY KEY (admin_id, idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
