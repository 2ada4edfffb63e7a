-- Agenda reminders: one row per e-mail the daemon decided to send (a prep
-- nudge before an occurrence, a summary after it), so that each goes out
-- once even with several daemons sharing the database: a daemon claims the
-- row before sending and deletes it again if sending fails.

CREATE TABLE agenda_reminders (
    series_id  TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    occurrence TEXT NOT NULL,
    kind       TEXT NOT NULL,               -- prep|summary
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (series_id, occurrence, kind)
);
