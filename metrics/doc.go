// Package metrics owns what /metrics says about 1on1s and about the daemon:
// the definitions below, the Finalizer that decides each occurrence's
// outcome exactly once, the Collector that serves precomputed aggregates,
// and the hooks through which calendar sync, meet and agenda report events.
// It ships the Grafana dashboard (grafana/) and the Prometheus rules
// (alerts.yml) that read those metrics.
//
// It must not write domain data: the only rows it causes to be written are
// its own outcome and aggregate tables, through the Finalizer. A scrape must
// not touch the store; its cost follows the number of org units, never the
// number of series. No label carries a person, an e-mail, a series id or
// any text a person typed.
//
// # Definitions
//
// These are the rules the metrics, the dashboard and the alert rules use.
//
// Outcome. An occurrence is decided once, by the first Finalizer pass after
// its end (its moved end when it was moved) plus a settle time (default
// 1h, so that attendance and calendar changes seen a little late still
// count). Its outcome is its status at that moment under calendar.DeriveStatus:
// held, cancelled, rescheduled or missed. The decision is a row keyed by
// (series id, original start), inserted with ON CONFLICT DO NOTHING, so
// restarts and several daemons sharing one PostgreSQL count it once; later
// changes to that occurrence do not change its outcome.
//
// Expected occurrences. Every decided occurrence of an active series whose
// original start is not before the series was created. Occurrences of a
// paused series are not expected (pausing says "we do not owe these");
// occurrences before the series existed are not owed either. A cancelled
// occurrence is expected and not held: cancelling erodes adherence, which
// is the erosion the metrics exist to show. A rescheduled occurrence is
// expected, and held when both participants attended it at its new time.
//
// Held. A decided occurrence whose status is held, or rescheduled and then
// attended by both participants (the override's Held).
//
// Adherence window. metrics.window, default 90 days: the occurrences that
// were decided and whose end lies in [now - window, now).
// oneonone_cadence_adherence_ratio{org_unit} = held ÷ expected over that
// window; it is absent for a unit with no expected occurrence in the window
// (oneonone_window_occurrences_expected says 0 then), because 0 would read
// as "nothing held".
//
// Overdue. An active series whose last held occurrence ended — or, when
// none was ever held, whose first occurrence started — more than twice its
// cadence interval before now. Intervals: weekly 7 days, biweekly 14 days,
// monthly 31 days; a raw RRULE uses FREQ × INTERVAL with DAILY 1 day,
// WEEKLY 7 days, MONTHLY 31 days, YEARLY 366 days. A series that has not
// started yet is not overdue.
//
// Cancellation notice. For a cancelled occurrence, its start (the moved
// start when it had been moved) minus the time the cancellation was seen
// (the override's CancelledAt), floored at 0 for a cancellation after the
// start. An occurrence cancelled without a known time is counted in
// oneonone_occurrences_total but not observed in the histogram.
//
// Who cancelled. The override's CancelledBy: "manager" or "report" when
// the calendar tells who removed the occurrence, "unknown" otherwise.
//
// # Org units
//
// org_unit is a series' team ("unassigned" for a series without one). A
// team with fewer than metrics.min_series_per_unit series (default 3, any
// state) is reported as "other", so that no metric describes one pair.
// The mapping is recomputed with the aggregates; a team that grows past the
// minimum moves out of "other", which Prometheus sees as a counter reset
// of "other".
//
// # Several daemons
//
// Metrics read from the store (series, outcomes, adherence, overdue,
// cancellation notice, action items, pairs) are the same on every daemon
// sharing a database: aggregate them with max, not sum. Event metrics
// (meeting duration, agenda items added, calendar sync, rooms) are per
// daemon: sum them.
package metrics
