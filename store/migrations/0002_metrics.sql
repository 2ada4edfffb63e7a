-- Metrics: what became of each occurrence, decided once, and the running
-- aggregates /metrics reads so that a scrape never scans series.
--
-- occurrence_outcomes has no foreign key to series on purpose: a counter
-- must not go down when a series is deleted.

CREATE TABLE occurrence_outcomes (
    series_id      TEXT NOT NULL,
    original_start BIGINT NOT NULL,
    status         TEXT NOT NULL,            -- held|cancelled|missed|rescheduled
    held           BOOLEAN NOT NULL,         -- both attended (also for a rescheduled one)
    org_unit       TEXT NOT NULL,            -- the series' team when decided ('' = none)
    ended_at       BIGINT NOT NULL,          -- the (moved) end
    cancelled_by   TEXT NOT NULL DEFAULT '', -- manager|report|unknown for cancelled
    notice_seconds BIGINT,                   -- start - cancelled_at, for cancelled
    decided_at     BIGINT NOT NULL,
    PRIMARY KEY (series_id, original_start)
);

-- The adherence window: expected and held per unit among outcomes that
-- ended in [now - window, now), read from the index alone.
CREATE INDEX occurrence_outcomes_window ON occurrence_outcomes (ended_at, org_unit, held);

-- All-time counts per unit and status (oneonone_occurrences_total),
-- incremented in the transaction that inserts the outcome.
CREATE TABLE outcome_totals (
    org_unit TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (org_unit, status)
);

-- The cancellation-notice histogram: non-cumulative bucket counts (le_seconds
-- -1 is +Inf) and the count and sum per unit and canceller.
CREATE TABLE notice_buckets (
    org_unit     TEXT NOT NULL,
    cancelled_by TEXT NOT NULL,
    le_seconds   BIGINT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (org_unit, cancelled_by, le_seconds)
);

CREATE TABLE notice_totals (
    org_unit     TEXT NOT NULL,
    cancelled_by TEXT NOT NULL,
    n            BIGINT NOT NULL,
    sum_seconds  BIGINT NOT NULL,
    PRIMARY KEY (org_unit, cancelled_by)
);

-- The end of each series' last held occurrence, for overdue and the
-- per-pair gauge. Read joined from series, so a deleted series' row is
-- ignored (no foreign key: an outcome may be recorded as its series goes).
CREATE TABLE series_last_held (
    series_id TEXT NOT NULL PRIMARY KEY,
    ended_at  BIGINT NOT NULL
);

-- Small named values: the finalizer's watermark (value, Unix ns) and the
-- key that makes per-pair labels opaque (text, hex).
CREATE TABLE metrics_state (
    name  TEXT NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL DEFAULT 0,
    text  TEXT NOT NULL DEFAULT ''
);

-- Moved occurrences are found by their moved end.
CREATE INDEX overrides_moved_end ON overrides (moved_end);
