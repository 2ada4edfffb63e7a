-- Attendance: one row per stay of one participant in a series' room, from
-- the moment the media server admitted them to the moment they left. A
-- reload does not end a stay. occurrence is the key of the occurrence whose
-- window held the join, '' for a meeting outside every window (ad hoc).
-- left_at is NULL while the person is in the room, or when the daemon
-- stopped without seeing them leave.
--
-- Rows go with their series (ON DELETE CASCADE): attendance is the pair's.

CREATE TABLE attendance (
    id         TEXT NOT NULL PRIMARY KEY,
    series_id  TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    occurrence TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,               -- manager|report
    joined_at  BIGINT NOT NULL,
    left_at    BIGINT
);

CREATE INDEX attendance_series_joined ON attendance (series_id, joined_at);
