-- Calendar sync: what the reconciler remembers about each series' event in
-- each configured calendar, and about each calendar's change feed.
--
-- series_sync has no foreign key to series on purpose: when a series is
-- removed, its row must outlive it until the reconciler has deleted the
-- calendar event. The UID is written before the first calendar write, so a
-- crash between the write and the commit is healed by adopting the event.

CREATE TABLE series_sync (
    calendar_id              TEXT NOT NULL,
    series_id                TEXT NOT NULL,
    uid                      TEXT NOT NULL,
    href                     TEXT NOT NULL DEFAULT '',
    seen                     TEXT NOT NULL DEFAULT '',   -- the event as last read or written (ETag + digest)
    sequence                 BIGINT NOT NULL DEFAULT 0,
    written_version          BIGINT NOT NULL DEFAULT 0,  -- series version last written or adopted
    written_start            BIGINT,                     -- series-level shape last written (Unix ns)
    written_rule             TEXT NOT NULL DEFAULT '',
    written_duration_seconds BIGINT NOT NULL DEFAULT 0,
    remote_state             TEXT NOT NULL DEFAULT 'pending', -- pending|synced|detached
    remote_keys              TEXT NOT NULL DEFAULT '',   -- occurrence keys whose overrides came from the calendar
    last_error               TEXT NOT NULL DEFAULT '',
    updated                  BIGINT NOT NULL,
    PRIMARY KEY (calendar_id, series_id)
);

CREATE UNIQUE INDEX series_sync_uid ON series_sync (calendar_id, uid);

CREATE TABLE calendar_sync (
    calendar_id  TEXT NOT NULL PRIMARY KEY,
    sync_cursor  TEXT NOT NULL DEFAULT '',
    last_attempt BIGINT,
    last_success BIGINT,
    last_error   TEXT NOT NULL DEFAULT '',
    needs_reauth BOOLEAN NOT NULL DEFAULT FALSE,
    updated      BIGINT NOT NULL
);
