-- The calendar domain: people, series, and what happened to single
-- occurrences (overrides).
--
-- Conventions for this and later migrations (both engines run the same SQL
-- unless a NNNN_name.sqlite.sql / NNNN_name.postgres.sql pair replaces it):
--   * an instant is BIGINT Unix nanoseconds, UTC; NULL means "not set";
--   * a series' start is its wall clock (start_local, YYYY-MM-DDTHH:MM:SS)
--     in its IANA time zone, so DST rules stay those of the zone database;
--   * e-mail addresses are stored lower-case;
--   * booleans are BOOLEAN (SQLite stores 0/1).

CREATE TABLE people (
    email             TEXT NOT NULL PRIMARY KEY CHECK (email <> '' AND email = lower(email)),
    name              TEXT NOT NULL DEFAULT '',
    timezone          TEXT NOT NULL DEFAULT '',
    -- The ICS feed token is kept in clear because FeedToken hands it back;
    -- lookups go through its SHA-256 (hex) so an index walk does not time
    -- the secret itself.
    feed_token        TEXT,
    feed_token_sha256 TEXT UNIQUE,
    created           BIGINT NOT NULL
);

CREATE TABLE series (
    id               TEXT NOT NULL PRIMARY KEY,
    manager_email    TEXT NOT NULL REFERENCES people (email),
    report_email     TEXT NOT NULL REFERENCES people (email),
    start_local      TEXT NOT NULL,
    timezone         TEXT NOT NULL,
    cadence          TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    team             TEXT NOT NULL DEFAULT '',
    calendar         TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    created          BIGINT NOT NULL,
    updated          BIGINT NOT NULL,
    version          BIGINT NOT NULL,
    CONSTRAINT series_pair_unique UNIQUE (manager_email, report_email)
);

-- ListSeries with a team filter; the pair constraint's index serves lookups
-- by manager.
CREATE INDEX series_team_id ON series (team, id);
CREATE INDEX series_report_email ON series (report_email);

CREATE TABLE overrides (
    series_id      TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    original_start BIGINT NOT NULL,
    moved_start    BIGINT,
    moved_end      BIGINT,
    cancelled      BOOLEAN NOT NULL DEFAULT FALSE,
    cancelled_by   TEXT NOT NULL DEFAULT '',
    cancelled_at   BIGINT,
    held           BOOLEAN NOT NULL DEFAULT FALSE,
    updated        BIGINT NOT NULL,
    PRIMARY KEY (series_id, original_start)
);
