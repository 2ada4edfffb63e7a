-- Google OAuth consent flow: one refresh token per configured calendar,
-- sealed (AES-GCM) by the daemon with the key from the config before it
-- gets here, so the store never holds a usable secret. Base64 text keeps
-- one definition for both engines.

CREATE TABLE oauth_tokens (
    calendar_id TEXT NOT NULL PRIMARY KEY,
    sealed      TEXT NOT NULL,
    updated     BIGINT NOT NULL
);
