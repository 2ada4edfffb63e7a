-- Identity: how people prove who they are to reach their room.
--
--   * link_generations: a per-person counter; a personal join link carries
--     the generation it was signed under, and bumping the counter revokes
--     every link issued before (all of that person's series at once).
--   * person_sessions: signed-in browsers. Only the SHA-256 (hex) of the
--     random session id is stored, so a database dump lets nobody in; the
--     rows live here (not in memory) so that sign-out and revocation hold
--     across several daemons sharing one PostgreSQL.
--   * signin_tokens: e-mailed one-time sign-in links, stored hashed, deleted
--     on first use.
--
-- A person's rows go with the person (ON DELETE CASCADE).

CREATE TABLE link_generations (
    email      TEXT NOT NULL PRIMARY KEY REFERENCES people (email) ON DELETE CASCADE,
    generation BIGINT NOT NULL
);

CREATE TABLE person_sessions (
    id_sha256 TEXT NOT NULL PRIMARY KEY,
    email     TEXT NOT NULL CHECK (email <> '' AND email = lower(email)),
    via       TEXT NOT NULL,                  -- link|oidc|email|capability
    created   BIGINT NOT NULL,
    expires   BIGINT NOT NULL
);

CREATE INDEX person_sessions_email ON person_sessions (email);
CREATE INDEX person_sessions_expires ON person_sessions (expires);

CREATE TABLE signin_tokens (
    token_sha256 TEXT NOT NULL PRIMARY KEY,
    email        TEXT NOT NULL REFERENCES people (email) ON DELETE CASCADE,
    next         TEXT NOT NULL DEFAULT '',   -- a same-origin path to land on
    created      BIGINT NOT NULL,
    expires      BIGINT NOT NULL
);

CREATE INDEX signin_tokens_expires ON signin_tokens (expires);
