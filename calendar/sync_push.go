package calendar

// Push: what changed on our side goes to the calendar.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// push writes every series whose version differs from the one last
// written, deletes the events of paused and removed series, and leaves
// detached ones alone. A fault that is not about one series (the server
// is down, our credentials are refused) ends the push.
func (r *Reconciler) push(ctx context.Context, rs *roundState) error {
	for _, id := range sortedIDs(rs.series) {
		s, st := rs.series[id], rs.states[id]
		var err error
		switch s.State {
		case StateActive:
			if st != nil && st.WrittenVersion == s.Version && (st.Remote == RemoteDetached || (st.Href != "" && st.Remote == RemoteSynced)) {
				if err := r.seriesFault(ctx, st, r.notifyPending(ctx, st)); err != nil {
					return err
				}
				continue
			}
			if st == nil {
				st = &SyncState{SeriesID: id, UID: EventUID(id), Remote: RemotePending}
				rs.states[id] = st
			}
			err = r.pushSeries(ctx, s, st)
		case StateDetached:
			continue
		default: // paused
			if st == nil || (st.Href == "" && st.Remote != RemotePending) {
				continue
			}
			err = r.deleteEvent(ctx, st, false)
		}
		if err = r.seriesFault(ctx, st, err); err != nil {
			return err
		}
	}
	for _, id := range sortedIDs(rs.states) {
		if _, ok := rs.series[id]; ok {
			continue
		}
		// Removed, or moved to another calendar.
		if err := r.seriesFault(ctx, rs.states[id], r.deleteEvent(ctx, rs.states[id], true)); err != nil {
			return err
		}
	}
	return nil
}

// seriesFault decides whether err stops the round: faults of the calendar
// or of the store do; a calendar's refusal of one series' event is
// recorded on that series, logged, and the round goes on.
func (r *Reconciler) seriesFault(ctx context.Context, st *SyncState, err error) error {
	if err == nil {
		return nil
	}
	pe, isProvider := AsProviderError(err)
	var inv *errs.Invalid
	perSeries := (isProvider && pe.Reason == ReasonRejected) || errors.As(err, &inv)
	if !perSeries || st == nil {
		return err
	}
	r.log.WarnContext(ctx, "calendar refused the event of a series; skipped until it changes", "series", st.SeriesID, "err", err)
	st.LastError = err.Error()
	return r.putState(ctx, st)
}

// pushSeries creates or updates the event of an active series.
func (r *Reconciler) pushSeries(ctx context.Context, s *Series, st *SyncState) error {
	if st.Remote == RemotePending || st.Href == "" {
		// The UID is on disk before the calendar sees it: a crash after
		// the write is healed by adopting what is there.
		st.Remote = RemotePending
		if err := r.putState(ctx, st); err != nil {
			return err
		}
	}
	ours, err := r.ourEvent(ctx, s, st)
	if err != nil {
		return err
	}
	var remote *Event
	// created: we meant to create it and found it there; a cancelled one
	// (Google keeps deleted events) is revived by our write, not detached.
	created := false
	if st.Href == "" {
		ours.Sequence = st.Sequence
		if st.WrittenVersion > 0 {
			ours.Sequence++ // a recreated event: attendees must take it over the old one
		}
		ref, err := r.cfg.Provider.PutEvent(ctx, ours, "")
		switch {
		case err == nil:
			r.log.InfoContext(ctx, "calendar event created", "series", s.ID)
			return r.written(ctx, s, st, ours, ref)
		case !errors.Is(err, ErrEventExists):
			return fmt.Errorf("calendar %s: series %s: create event: %w", r.cfg.CalendarID, s.ID, err)
		}
		// An earlier attempt (before a crash) or another daemon got there
		// first: adopt that event, never make a second one.
		ev, err := r.cfg.Provider.GetEvent(ctx, EventRef{UID: st.UID})
		if err != nil {
			return fmt.Errorf("calendar %s: series %s: read back existing event: %w", r.cfg.CalendarID, s.ID, err)
		}
		r.log.InfoContext(ctx, "calendar event already there; adopted", "series", s.ID)
		st.Href, st.Seen = ev.Href, ""
		remote, created = &ev, true
	}
	for attempt := 0; ; attempt++ {
		if remote == nil {
			ev, err := r.cfg.Provider.GetEvent(ctx, st.ref())
			if errors.Is(err, errs.ErrNotFound) {
				return r.detach(ctx, s, st)
			}
			if err != nil {
				return fmt.Errorf("calendar %s: series %s: read event: %w", r.cfg.CalendarID, s.ID, err)
			}
			remote = &ev
		}
		if remote.Status == EventCancelled && !created {
			return r.detach(ctx, s, st)
		}
		// What we just read may hold changes the feed has not shown us
		// yet: take them in first, so the merged write carries them and
		// the store knows them (our own write is skipped when read back).
		if err := r.adoptShape(ctx, s, st, *remote); err != nil {
			return err
		}
		if err := r.pullExceptions(ctx, s, st, *remote); err != nil {
			return err
		}
		if ours, err = r.ourEvent(ctx, s, st); err != nil {
			return err
		}
		weChangedShape := !s.shape().equal(st.written())
		merged := mergeEvent(ours, *remote, weChangedShape, remoteKeySet(st))
		merged.Sequence = max(remote.Sequence, st.Sequence) + 1
		ref, err := r.cfg.Provider.PutEvent(ctx, merged, remote.ETag)
		switch {
		case err == nil:
			r.log.InfoContext(ctx, "calendar event updated", "series", s.ID)
			return r.written(ctx, s, st, merged, ref)
		case errors.Is(err, errs.ErrNotFound):
			return r.detach(ctx, s, st)
		case errors.Is(err, ErrPreconditionFailed) && attempt == 0:
			// Someone edited it since we read it: read, merge, retry once.
			remote, created = nil, false
			continue
		}
		return fmt.Errorf("calendar %s: series %s: update event: %w", r.cfg.CalendarID, s.ID, err)
	}
}

// ourEvent renders the series with the overrides we originated (those not
// read from the calendar).
func (r *Reconciler) ourEvent(ctx context.Context, s *Series, st *SyncState) (Event, error) {
	overrides, err := r.cfg.Store.ListOverrides(ctx, s.ID, time.Time{}, time.Time{})
	if err != nil {
		return Event{}, fmt.Errorf("calendar %s: series %s: list overrides: %w", r.cfg.CalendarID, s.ID, err)
	}
	remote := remoteKeySet(st)
	ours := overrides[:0]
	for _, o := range overrides {
		if !remote[OccurrenceKey(o.OriginalStart)] {
			ours = append(ours, o)
		}
	}
	ev, err := r.cfg.BuildEvent(*s, ours, r.cfg.RoomURL(s.ID))
	if err != nil {
		return Event{}, fmt.Errorf("calendar %s: series %s: build event: %w", r.cfg.CalendarID, s.ID, err)
	}
	ev.UID, ev.Href, ev.ETag = st.UID, st.Href, ""
	return ev, nil
}

// written records a successful write.
func (r *Reconciler) written(ctx context.Context, s *Series, st *SyncState, ev Event, ref EventRef) error {
	st.Href = ref.Href
	if st.Href == "" {
		st.Href = ev.Href
	}
	ev.ETag = ref.ETag
	st.Seen = EventTag(ev)
	st.Sequence = ev.Sequence
	st.WrittenVersion = s.Version
	st.setWritten(eventShape(ev))
	st.Remote = RemoteSynced
	st.LastError = ""
	r.notifyWritten(ctx, st, ev)
	return r.putState(ctx, st)
}

// deleteEvent removes the event of a paused (forget = false) or removed
// (forget = true) series; attendees hear of it through the provider, or
// the Notifier first.
func (r *Reconciler) deleteEvent(ctx context.Context, st *SyncState, forget bool) error {
	if st.Href != "" || st.Remote == RemotePending {
		if ok, err := r.notifyCancel(ctx, st); !ok || err != nil {
			return err
		}
		err := r.cfg.Provider.DeleteEvent(ctx, EventRef{UID: st.UID, Href: st.Href}, "")
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return fmt.Errorf("calendar %s: series %s: delete event: %w", r.cfg.CalendarID, st.SeriesID, err)
		}
		r.log.InfoContext(ctx, "calendar event deleted", "series", st.SeriesID)
	}
	if forget {
		if err := r.cfg.SyncStore.DeleteSyncState(ctx, r.cfg.CalendarID, st.SeriesID); err != nil {
			return fmt.Errorf("calendar %s: series %s: forget sync state: %w", r.cfg.CalendarID, st.SeriesID, err)
		}
		return nil
	}
	st.Href, st.Seen, st.RemoteKeys = "", "", nil
	st.Remote = RemoteSynced
	return r.putState(ctx, st)
}

// mergeEvent combines our event with the one in the calendar: their
// single-occurrence edits win (exceptions, EXDATEs, answers), ours are
// added where they have none; our series-level timing wins only when we
// changed it since the last write.
func mergeEvent(ours, remote Event, weChangedShape bool, remoteKeys map[string]bool) Event {
	m := ours
	m.Href = remote.Href
	if !weChangedShape && !remote.Start.IsZero() {
		m.Start, m.Duration, m.RRule = remote.Start.In(ours.Start.Location()), remote.Duration, remote.RRule
	}
	// Answers: keep each attendee's PARTSTAT from the calendar.
	m.Attendees = append([]Attendee(nil), ours.Attendees...)
	for i, a := range m.Attendees {
		for _, ra := range remote.Attendees {
			if strings.EqualFold(a.Email, ra.Email) && ra.PartStat != "" {
				m.Attendees[i].PartStat = ra.PartStat
			}
		}
	}
	valid := func(t time.Time) bool { return true }
	if weChangedShape {
		// Their exceptions belong to the old slots; keep the ones that are
		// still occurrences of the new rule.
		probe := Series{ID: "probe", Start: m.Start, Timezone: m.Start.Location().String(), Cadence: m.RRule, Duration: m.Duration}
		valid = func(t time.Time) bool {
			occ, err := probe.Occurrences(t, t.Add(time.Second), nil, t)
			return err == nil && len(occ) == 1
		}
	}
	m.Exceptions, m.ExDates = nil, nil
	theirs := map[int64]bool{}
	for _, x := range remote.Exceptions {
		if valid(x.RecurrenceID) {
			m.Exceptions = append(m.Exceptions, x)
			theirs[x.RecurrenceID.Unix()] = true
		}
	}
	for _, d := range remote.ExDates {
		if valid(d) && !containsTime(m.ExDates, d) {
			m.ExDates = append(m.ExDates, d)
			theirs[d.Unix()] = true
		}
	}
	for _, x := range ours.Exceptions {
		if valid(x.RecurrenceID) && !theirs[x.RecurrenceID.Unix()] && !remoteKeys[OccurrenceKey(x.RecurrenceID)] {
			m.Exceptions = append(m.Exceptions, x)
		}
	}
	for _, d := range ours.ExDates {
		if valid(d) && !theirs[d.Unix()] && !remoteKeys[OccurrenceKey(d)] && !containsTime(m.ExDates, d) {
			m.ExDates = append(m.ExDates, d)
		}
	}
	return m
}
