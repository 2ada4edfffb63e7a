-- iMIP: the last message the daemon sent to an event's attendees
-- (request|cancel and its SEQUENCE), so an e-mail that could not be sent
-- is sent on a later round and one that was sent is never sent twice.
-- '' / 0 = none sent yet.

ALTER TABLE series_sync ADD COLUMN notified_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE series_sync ADD COLUMN notified_sequence BIGINT NOT NULL DEFAULT 0;
