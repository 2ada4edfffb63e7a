-- The agenda: items of each occurrence (talking points, shared and private
-- notes, action items) and the log of every accepted operation, which is
-- both each occurrence's history and what makes a replayed operation
-- idempotent.
--
-- Ranks (position) are compared in Go, byte by byte, because PostgreSQL's
-- default collation does not order strings by bytes. Occurrence keys
-- (YYYYMMDDTHHMMSSZ) compare the same in any collation.
--
-- Items go with their series (ON DELETE CASCADE): the agenda is the pair's.

CREATE TABLE agenda_items (
    series_id    TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    occurrence   TEXT NOT NULL,                 -- the occurrence it belongs to
    kind         TEXT NOT NULL,                 -- topic|note|private_note|action
    text         TEXT NOT NULL,
    tag          TEXT NOT NULL DEFAULT '',
    parent_id    TEXT NOT NULL DEFAULT '',
    owner_email  TEXT NOT NULL DEFAULT '',
    due          TEXT NOT NULL DEFAULT '',      -- YYYY-MM-DD
    done         BOOLEAN NOT NULL DEFAULT FALSE,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE,
    closed_in    TEXT NOT NULL DEFAULT '',      -- action items: occurrence where done/dropped; '' = open
    author_email TEXT NOT NULL,
    author_role  TEXT NOT NULL,                 -- manager|report
    position     TEXT NOT NULL,
    version      BIGINT NOT NULL,
    -- the item version at which each field last changed
    text_v       BIGINT NOT NULL,
    tag_v        BIGINT NOT NULL,
    parent_v     BIGINT NOT NULL,
    owner_v      BIGINT NOT NULL,
    due_v        BIGINT NOT NULL,
    done_v       BIGINT NOT NULL,
    position_v   BIGINT NOT NULL,
    created      BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    PRIMARY KEY (series_id, id)
);

-- One occurrence's own items.
CREATE INDEX agenda_items_occurrence ON agenda_items (series_id, occurrence);
-- Carry-over (a series' action items by state and origin) and open action
-- items per team.
CREATE INDEX agenda_items_carry ON agenda_items (series_id, kind, done, occurrence);

CREATE TABLE agenda_ops (
    series_id   TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    occurrence  TEXT NOT NULL,                  -- where the op was applied
    seq         BIGINT NOT NULL,                -- order within the occurrence, from 1
    op_id       TEXT NOT NULL,                  -- the client's id, for idempotent replay
    kind        TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    field       TEXT NOT NULL DEFAULT '',
    actor_email TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    visible_to  TEXT NOT NULL DEFAULT '',       -- a private note's author, or '' for both
    result      TEXT NOT NULL,                  -- the result returned (JSON), replayed as is
    at          BIGINT NOT NULL,
    PRIMARY KEY (series_id, occurrence, seq),
    CONSTRAINT agenda_ops_op_id UNIQUE (series_id, occurrence, op_id)
);
