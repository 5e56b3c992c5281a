-- API keys identify callers for rate limiting. Only a SHA-256 hash of each
-- key is stored, so a database dump does not reveal usable keys.
CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Hex SHA-256 of the whole key.
    key_hash    text NOT NULL UNIQUE,
    -- First characters of the key, to tell keys apart in listings.
    key_prefix  text NOT NULL,
    user_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id);
