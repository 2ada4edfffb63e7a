package calendar

// Pull: what people did in their calendars comes back into the store.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/oneonone/oneonone/internal/errs"
)

// shape is a series' or event's series-level timing: the fields whose
// change moves every future occurrence.
type shape struct {
	start    time.Time
	rule     string // normalised
	duration time.Duration
}

func (a shape) equal(b shape) bool {
	return a.start.Equal(b.start) && a.rule == b.rule && a.duration == b.duration
}

func (s Series) shape() shape {
	rule, err := s.RRule()
	if err != nil {
		rule = s.Cadence
	}
	d := s.Duration
	if d <= 0 {
		d = DefaultDuration
	}
	return shape{start: s.Start, rule: normRule(rule, s.Start.Location()), duration: d}
}

func eventShape(e Event) shape {
	d := e.Duration
	if d <= 0 {
		d = DefaultDuration
	}
	return shape{start: e.Start, rule: normRule(e.RRule, e.Start.Location()), duration: d}
}

func (st SyncState) written() shape {
	return shape{start: st.WrittenStart, rule: st.WrittenRule, duration: st.WrittenDuration}
}

func (st *SyncState) setWritten(sh shape) {
	st.WrittenStart, st.WrittenRule, st.WrittenDuration = sh.start, sh.rule, sh.duration
}

// normRule writes a rule in one canonical form, so that a server that
// reorders or re-cases the parts is not mistaken for a change.
func normRule(rule string, loc *time.Location) string {
	if rule == "" {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	opt, err := parseRawRule(rule, loc)
	if err != nil {
		return rule
	}
	return opt.RRuleString()
}

// cadenceFor names a rule the way a series stores it: weekly, biweekly or
// monthly when it is exactly that rhythm for start, else the raw rule.
func cadenceFor(rule string, start time.Time) (string, error) {
	loc := start.Location()
	opt, err := parseRawRule(rule, loc)
	if err != nil {
		return "", err
	}
	want := opt.RRuleString()
	for _, c := range []string{CadenceWeekly, CadenceBiweekly, CadenceMonthly} {
		if o, err := ruleOptions(c, start, loc); err == nil && o.RRuleString() == want {
			return c, nil
		}
	}
	if _, err := rrule.StrToROption(want); err != nil {
		return "", err
	}
	return want, nil
}

// pull applies one Changes answer to the store.
func (r *Reconciler) pull(ctx context.Context, rs *roundState, ch Changes) error {
	byUID := make(map[string]*SyncState, len(rs.states))
	byHref := make(map[string]*SyncState, len(rs.states))
	for _, st := range rs.states {
		byUID[st.UID] = st
		if st.Href != "" {
			byHref[st.Href] = st
		}
	}
	seen := map[*SyncState]bool{}
	for _, b := range ch.Bad {
		// Never the object's text, nor a parser message quoting it.
		r.log.WarnContext(ctx, "calendar object could not be read; skipped", "href", b.Href)
		if st := byHref[b.Href]; st != nil {
			seen[st] = true // it is there, just unreadable: not deleted
		}
	}
	for _, ev := range ch.Updated {
		st := byUID[ev.UID]
		if st == nil {
			continue // not ours
		}
		seen[st] = true
		s := rs.series[st.SeriesID]
		if s == nil {
			continue // removed or moved to another calendar: push deletes it
		}
		if st.Href != "" && st.Seen == EventTag(ev) && ev.Status != EventCancelled {
			continue // what we wrote or read last
		}
		if err := r.pullEvent(ctx, s, st, ev); err != nil {
			if _, bad := errs.AsInvalid(err); !bad {
				return err
			}
			// A value we cannot store (a year 9999 start…): skip it, or
			// the calendar would be stuck on this change for ever.
			r.log.WarnContext(ctx, "calendar event holds a value we cannot keep; skipped", "series", s.ID, "err", err)
		}
	}
	for _, ref := range ch.Deleted {
		st := byHref[ref.Href]
		if st == nil && ref.UID != "" {
			st = byUID[ref.UID]
		}
		if st == nil || st.Href == "" {
			continue
		}
		if err := r.detach(ctx, rs.series[st.SeriesID], st); err != nil {
			return err
		}
	}
	if ch.Full || len(ch.FullFor) > 0 {
		for _, id := range sortedIDs(rs.states) {
			st := rs.states[id]
			if seen[st] || st.Href == "" || st.Remote != RemoteSynced {
				continue
			}
			if !ch.Full && !slices.ContainsFunc(ch.FullFor, func(p string) bool { return strings.HasPrefix(st.Href, p) }) {
				continue // listed as a delta: missing says nothing
			}
			if err := r.detach(ctx, rs.series[st.SeriesID], st); err != nil {
				return err
			}
		}
	}
	return nil
}

// detach records that someone deleted the event in the calendar. An
// active series becomes detached and is not recreated until someone sets
// it active again.
func (r *Reconciler) detach(ctx context.Context, s *Series, st *SyncState) error {
	st.Href, st.Seen = "", ""
	st.RemoteKeys = nil
	if s == nil || s.State != StateActive {
		// Paused or gone: nothing is lost, nothing to flag.
		st.Remote = RemoteSynced
		return r.putState(ctx, st)
	}
	ns := *s
	ns.State = StateDetached
	updated, err := r.cfg.Store.UpdateSeries(ctx, ns)
	if err != nil {
		return fmt.Errorf("calendar %s: series %s: detach: %w", r.cfg.CalendarID, s.ID, err)
	}
	if st.WrittenVersion == s.Version {
		st.WrittenVersion = updated.Version // our bookkeeping, not a change to push
	}
	*s = updated
	st.Remote = RemoteDetached
	r.log.InfoContext(ctx, "calendar event deleted in the calendar; series detached", "series", s.ID)
	return r.putState(ctx, st)
}

// pullEvent applies one changed event of a known series.
func (r *Reconciler) pullEvent(ctx context.Context, s *Series, st *SyncState, ev Event) error {
	log := r.log.With("series", s.ID)
	if ev.Status == EventCancelled {
		// A cancelled master (Google keeps deleted events so) is a deletion.
		return r.detach(ctx, s, st)
	}
	if s.State == StateDetached {
		// It came back (restored from a trash, re-imported): track it again.
		st.Remote = RemoteSynced
	}
	if err := r.adoptShape(ctx, s, st, ev); err != nil {
		return err
	}
	if err := r.pullExceptions(ctx, s, st, ev); err != nil {
		return err
	}
	st.Href = ev.Href
	st.Seen = EventTag(ev)
	st.pulledSequence(ev.Sequence)
	if st.Remote != RemoteDetached {
		st.Remote = RemoteSynced
	}
	log.DebugContext(ctx, "calendar event read back")
	return r.putState(ctx, st)
}

// adoptShape takes a series-level change made in the calendar (new time,
// rule or length) into the series — unless we changed the shape ourselves
// since the last write, in which case ours wins and push rewrites it.
func (r *Reconciler) adoptShape(ctx context.Context, s *Series, st *SyncState, ev Event) error {
	if ev.Start.IsZero() {
		return nil
	}
	remote, written, ours := eventShape(ev), st.written(), s.shape()
	if written.start.IsZero() {
		// Never written by us (adopted after a crash): nothing to compare.
		st.setWritten(remote)
		written = remote
	}
	if remote.equal(written) || remote.equal(ours) {
		st.setWritten(remote)
		return nil
	}
	if !ours.equal(written) {
		r.log.InfoContext(ctx, "series time changed both here and in the calendar; keeping ours", "series", s.ID)
		return nil
	}
	loc, err := s.location()
	if err != nil {
		return nil
	}
	ns := *s
	ns.Start = ev.Start.In(loc)
	ns.Duration = remote.duration
	if ev.RRule != "" {
		c, err := cadenceFor(ev.RRule, ns.Start)
		if err != nil {
			r.log.WarnContext(ctx, "series rule changed in the calendar to one we cannot keep; not adopted", "series", s.ID, "err", err)
			st.setWritten(remote) // do not re-examine it every round
			return nil
		}
		ns.Cadence = c
	}
	// Their value must be one a series may have (years, whole minutes,
	// a rule with occurrences), as if it came through the API.
	state := ns.State
	ns.State = StateActive
	if err := ns.Normalize(); err != nil {
		r.log.WarnContext(ctx, "series time changed in the calendar to one we cannot keep; not adopted", "series", s.ID, "err", err)
		st.setWritten(remote)
		return nil
	}
	ns.State = state
	updated, err := r.cfg.Store.UpdateSeries(ctx, ns)
	if err != nil {
		return fmt.Errorf("calendar %s: series %s: adopt new time: %w", r.cfg.CalendarID, s.ID, err)
	}
	if st.WrittenVersion == s.Version {
		st.WrittenVersion = updated.Version // their change: nothing to push back
	}
	*s = updated
	st.setWritten(s.shape())
	r.log.InfoContext(ctx, "series time changed in the calendar; adopted", "series", s.ID)
	return nil
}

// pullExceptions turns the event's exceptions into overrides: a moved
// occurrence is rescheduled, a cancelled one (STATUS:CANCELLED, EXDATE) is
// cancelled by the manager (the organizer), one the report declined is
// cancelled by the report. Overrides that came from the calendar and are
// gone from it are cleared; held is never touched.
func (r *Reconciler) pullExceptions(ctx context.Context, s *Series, st *SyncState, ev Event) error {
	now := r.cfg.Now()
	cancelledAt := now
	if !ev.Modified.IsZero() && !ev.Modified.After(now) {
		cancelledAt = ev.Modified
	}
	type want struct {
		orig        time.Time
		start, end  time.Time
		cancelledBy string // "" = not cancelled
	}
	desired := map[string]want{}
	for _, d := range ev.ExDates {
		desired[OccurrenceKey(d)] = want{orig: d, cancelledBy: "manager"}
	}
	for _, x := range ev.Exceptions {
		w := want{orig: x.RecurrenceID}
		switch {
		case x.Cancelled:
			w.cancelledBy = "manager"
		case ev.PartStat(x, s.Report.Email) == PartStatDeclined:
			w.cancelledBy = "report"
		case x.Moved():
			w.start, w.end = x.Start, x.End
		default:
			continue // answered or retitled only: the occurrence stands
		}
		desired[OccurrenceKey(x.RecurrenceID)] = w
	}
	existing, err := r.cfg.Store.ListOverrides(ctx, s.ID, time.Time{}, time.Time{})
	if err != nil {
		return fmt.Errorf("calendar %s: series %s: list overrides: %w", r.cfg.CalendarID, s.ID, err)
	}
	byKey := make(map[string]Override, len(existing))
	for _, o := range existing {
		byKey[OccurrenceKey(o.OriginalStart)] = o
	}
	var keys []string
	for _, key := range sortedIDs(desired) {
		w := desired[key]
		if occ, err := s.Occurrences(w.orig, w.orig.Add(time.Second), nil, now); err != nil || len(occ) != 1 {
			continue // not an occurrence of the series (any more)
		}
		keys = append(keys, key)
		cur, ok := byKey[key]
		next := cur
		if !ok {
			next = Override{SeriesID: s.ID, OriginalStart: w.orig.UTC()}
		}
		if w.cancelledBy != "" {
			if cur.Cancelled && cur.CancelledBy == w.cancelledBy {
				continue
			}
			next.Cancelled, next.CancelledBy, next.CancelledAt = true, w.cancelledBy, cancelledAt
		} else {
			if !cur.Cancelled && cur.Start.Equal(w.start) && cur.End.Equal(w.end) && ok {
				continue
			}
			next.Cancelled, next.CancelledBy, next.CancelledAt = false, "", time.Time{}
			next.Start, next.End = w.start.UTC(), w.end.UTC()
		}
		next.Updated = now
		if err := r.cfg.Store.PutOverride(ctx, next); err != nil {
			return fmt.Errorf("calendar %s: series %s: %w", r.cfg.CalendarID, s.ID, err)
		}
		r.log.InfoContext(ctx, "occurrence changed in the calendar", "series", s.ID, "occurrence", key,
			"cancelled_by", next.CancelledBy, "moved", next.Moved())
	}
	for _, key := range st.RemoteKeys {
		if _, still := desired[key]; still {
			continue
		}
		cur, ok := byKey[key]
		if !ok || (!cur.Cancelled && !cur.Moved()) {
			continue
		}
		// Someone undid their move or cancellation in the calendar.
		cur.Cancelled, cur.CancelledBy, cur.CancelledAt = false, "", time.Time{}
		cur.Start, cur.End = time.Time{}, time.Time{}
		cur.Updated = now
		if err := r.cfg.Store.PutOverride(ctx, cur); err != nil {
			return fmt.Errorf("calendar %s: series %s: %w", r.cfg.CalendarID, s.ID, err)
		}
	}
	st.RemoteKeys = keys
	return nil
}

// remoteKeySet is st.RemoteKeys as a set.
func remoteKeySet(st *SyncState) map[string]bool {
	m := make(map[string]bool, len(st.RemoteKeys))
	for _, k := range st.RemoteKeys {
		m[k] = true
	}
	return m
}

func containsTime(ts []time.Time, t time.Time) bool {
	return slices.ContainsFunc(ts, func(u time.Time) bool { return u.Equal(t) })
}

// EventTag identifies what an event looks like: its ETag and a digest of
// what pull reads from it beyond the master (EXDATEs, exceptions and the
// answers in them), since Google keeps a master's ETag when one instance
// changes. Two reads with equal tags need no work.
func EventTag(ev Event) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%s|%d|%s|%d|%s\n", ev.ETag, ev.Start.Unix(), ev.RRule, ev.Duration, ev.Status, ev.Sequence, ev.Href)
	ex := slices.Clone(ev.ExDates)
	slices.SortFunc(ex, time.Time.Compare)
	for _, d := range ex {
		fmt.Fprintf(h, "x%d\n", d.Unix())
	}
	xs := slices.Clone(ev.Exceptions)
	slices.SortFunc(xs, func(a, b Exception) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
	for _, x := range xs {
		start, end := x.Start, x.End
		if start.IsZero() {
			start = x.RecurrenceID
		}
		if end.IsZero() || !end.After(start) {
			end = start.Add(ev.Duration)
		}
		fmt.Fprintf(h, "r%d|%d|%d|%t", x.RecurrenceID.Unix(), start.Unix(), end.Unix(), x.Cancelled)
		for _, a := range ev.Attendees {
			fmt.Fprintf(h, "|%s=%s", strings.ToLower(a.Email), ev.PartStat(x, a.Email))
		}
		fmt.Fprintln(h)
	}
	return ev.ETag + "/" + hex.EncodeToString(h.Sum(nil)[:8])
}
