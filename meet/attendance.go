package meet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// Attendance is one stay of one participant in a series' room: from the
// moment the SFU admitted them to the moment they left. A reload does not
// end a stay. Left is zero while they are in the room (or when the daemon
// stopped without seeing them leave).
type Attendance struct {
	ID         string
	SeriesID   string
	Occurrence string // the occurrence key whose window held the join; "" = ad hoc
	Email      string
	Role       string // manager | report
	Joined     time.Time
	Left       time.Time
}

// AttendanceStore keeps attendance rows; package store implements it.
type AttendanceStore interface {
	// AddAttendance stores a new stay (Left zero) and returns its id.
	AddAttendance(ctx context.Context, a Attendance) (string, error)
	// EndAttendance sets the Left of a stay.
	EndAttendance(ctx context.Context, id string, left time.Time) error
	// ListAttendance returns the stays of a series that joined in
	// [from, to), ordered by Joined.
	ListAttendance(ctx context.Context, seriesID string, from, to time.Time) ([]Attendance, error)
}

// Store is what the room needs from storage.
type Store interface {
	calendar.Store
	AttendanceStore
}

// Window slack: a stay counts for an occurrence when it happens from
// DefaultEarly before its start to DefaultLate after its end.
const (
	DefaultMinHeld = 5 * time.Minute
	DefaultEarly   = 15 * time.Minute
	DefaultLate    = 30 * time.Minute
)

// overrideMargin widens override queries so that an occurrence moved far
// from its original time is still found (as api does).
const overrideMargin = 62 * 24 * time.Hour

// window is the span of an occurrence during which presence counts.
type window struct {
	key           string
	originalStart time.Time
	start, end    time.Time // the occurrence itself (moved time included)
	from, to      time.Time // with the slack
}

func (w window) overlap(a, b time.Time) time.Duration {
	if a.Before(w.from) {
		a = w.from
	}
	if b.After(w.to) {
		b = w.to
	}
	if !b.After(a) {
		return 0
	}
	return b.Sub(a)
}

// attendance turns the SFU's join/leave callbacks into stored stays and
// decides "held". The callbacks only enqueue; one goroutine does the
// storage work in order, so the SFU never waits on the database and a
// leave is never written before its join.
type attendance struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	minHeld time.Duration
	early   time.Duration
	late    time.Duration
	observe func(team string, together time.Duration)

	mu      sync.Mutex
	queue   []event
	wake    chan struct{}
	stopped bool
	done    chan struct{}

	// Owned by the run goroutine.
	rooms map[string]*roomState
}

type eventKind int

const (
	evJoin eventKind = iota
	evLeave
	evCheck
)

type event struct {
	kind eventKind
	room string
	slot int
	at   time.Time
	gen  int // evCheck: the together period it was scheduled for
}

// roomState is what the run goroutine knows of one room.
type roomState struct {
	series   calendar.Series
	stay     [2]string // attendance ids of the present participants
	present  [2]bool
	together time.Time // when both were last admitted together; zero when apart
	win      window    // the occurrence window of the together period ("" key: ad hoc)
	gen      int
	timer    *time.Timer
	acc      map[string]time.Duration // together time per occurrence key
	held     map[string]bool
	observed map[string]bool
	idleAt   time.Time // when the room last became empty
}

func newAttendance(st Store, log *slog.Logger, now func() time.Time, minHeld, early, late time.Duration, observe func(string, time.Duration)) *attendance {
	a := &attendance{store: st, log: log, now: now, minHeld: minHeld, early: early, late: late, observe: observe,
		wake: make(chan struct{}, 1), done: make(chan struct{}), rooms: map[string]*roomState{}}
	go a.run()
	return a
}

func (a *attendance) push(e event) {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.queue = append(a.queue, e)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *attendance) onJoin(room, role string, at time.Time) {
	a.push(event{kind: evJoin, room: room, slot: slotOf(role), at: at})
}

func (a *attendance) onLeave(room, role string, at time.Time) {
	a.push(event{kind: evLeave, room: room, slot: slotOf(role), at: at})
}

// close processes what is queued (the leaves the SFU reported while
// closing) and stops the goroutine.
func (a *attendance) close() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	<-a.done
}

func (a *attendance) run() {
	defer close(a.done)
	for {
		a.mu.Lock()
		q, stopped := a.queue, a.stopped
		a.queue = nil
		a.mu.Unlock()
		for _, e := range q {
			a.handle(e)
		}
		if stopped && len(q) == 0 {
			for _, rs := range a.rooms {
				if rs.timer != nil {
					rs.timer.Stop()
				}
			}
			return
		}
		if len(q) == 0 {
			<-a.wake
		}
	}
}

// storeTimeout bounds one attendance write, so a stuck database cannot
// hold the queue forever.
const storeTimeout = 10 * time.Second

func (a *attendance) handle(e event) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	switch e.kind {
	case evJoin:
		a.join(ctx, e)
	case evLeave:
		a.leave(ctx, e)
	case evCheck:
		rs := a.rooms[e.room]
		if rs != nil && rs.gen == e.gen && !rs.together.IsZero() {
			a.check(ctx, rs, a.now())
		}
	}
}

func (a *attendance) join(ctx context.Context, e event) {
	rs := a.rooms[e.room]
	if rs == nil || !rs.present[0] && !rs.present[1] {
		// Reload the series on every first join: people or times may
		// have changed since the room was last used.
		se, err := a.store.GetSeries(ctx, e.room)
		if err != nil {
			a.log.Warn("meet: attendance: load series", "room", e.room, "err", err)
			return
		}
		if rs == nil {
			rs = &roomState{acc: map[string]time.Duration{}, held: map[string]bool{}, observed: map[string]bool{}}
			a.rooms[e.room] = rs
		}
		rs.series = se
	}
	a.prune(e.at)
	w, err := a.occurrenceAt(ctx, rs.series, e.at)
	if err != nil {
		a.log.Warn("meet: attendance: find occurrence", "room", e.room, "err", err)
	}
	person := rs.series.Manager
	if e.slot == 1 {
		person = rs.series.Report
	}
	id, err := a.store.AddAttendance(ctx, Attendance{SeriesID: e.room, Occurrence: w.key, Email: person.Email,
		Role: roleNames[e.slot], Joined: e.at})
	if err != nil {
		a.log.Warn("meet: attendance: store join", "room", e.room, "role", roleNames[e.slot], "err", err)
	}
	rs.stay[e.slot] = id
	rs.present[e.slot] = true
	if rs.present[0] && rs.present[1] {
		rs.together = e.at
		rs.win = w
		rs.gen++
		a.schedule(e.room, rs, e.at)
	}
}

func (a *attendance) leave(ctx context.Context, e event) {
	rs := a.rooms[e.room]
	if rs == nil || !rs.present[e.slot] {
		return
	}
	if id := rs.stay[e.slot]; id != "" {
		if err := a.store.EndAttendance(ctx, id, e.at); err != nil {
			a.log.Warn("meet: attendance: store leave", "room", e.room, "role", roleNames[e.slot], "err", err)
		}
	}
	if !rs.together.IsZero() {
		a.check(ctx, rs, e.at)
		key := rs.win.key
		rs.acc[key] += rs.win.overlap(rs.together, e.at)
		rs.together = time.Time{}
		rs.gen++
		if rs.timer != nil {
			rs.timer.Stop()
			rs.timer = nil
		}
		// The meeting's length is observed once per occurrence, when the
		// pair first separates after it was held.
		if key != "" && rs.held[key] && !rs.observed[key] && a.observe != nil {
			rs.observed[key] = true
			a.observe(rs.series.Team, rs.acc[key])
		}
	}
	rs.present[e.slot] = false
	rs.stay[e.slot] = ""
	if !rs.present[0] && !rs.present[1] {
		rs.idleAt = e.at
	}
}

// schedule arms a check for the moment the together time of the current
// occurrence reaches minHeld, if that moment lies inside its window.
func (a *attendance) schedule(room string, rs *roomState, at time.Time) {
	if rs.timer != nil {
		rs.timer.Stop()
		rs.timer = nil
	}
	key := rs.win.key
	if key == "" || rs.held[key] {
		return
	}
	start := at
	if start.Before(rs.win.from) {
		start = rs.win.from
	}
	due := start.Add(a.minHeld - rs.acc[key])
	if due.After(rs.win.to) {
		return
	}
	gen := rs.gen
	rs.timer = time.AfterFunc(due.Sub(at), func() {
		a.push(event{kind: evCheck, room: room, gen: gen})
	})
}

// check marks the occurrence held once the pair's together time inside
// its window reaches minHeld.
func (a *attendance) check(ctx context.Context, rs *roomState, now time.Time) {
	key := rs.win.key
	if key == "" || rs.held[key] {
		return
	}
	if rs.acc[key]+rs.win.overlap(rs.together, now) < a.minHeld {
		return
	}
	if err := a.markHeld(ctx, rs.series.ID, rs.win.originalStart, now); err != nil {
		a.log.Warn("meet: attendance: mark held", "room", rs.series.ID, "occurrence", key, "err", err)
		return
	}
	rs.held[key] = true
}

// markHeld sets Held on the occurrence's override, keeping whatever else
// it records (a move, a cancellation seen later).
func (a *attendance) markHeld(ctx context.Context, seriesID string, originalStart, now time.Time) error {
	orig := originalStart.UTC()
	existing, err := a.store.ListOverrides(ctx, seriesID, orig, orig.Add(time.Second))
	if err != nil {
		return err
	}
	o := calendar.Override{SeriesID: seriesID, OriginalStart: orig}
	for _, x := range existing {
		if x.OriginalStart.Equal(orig) {
			o = x
		}
	}
	if o.Held {
		return nil
	}
	o.Held = true
	o.Updated = now
	return a.store.PutOverride(ctx, o)
}

// prune forgets rooms that have been empty for a day, so a long-running
// daemon does not keep every series it ever saw.
func (a *attendance) prune(now time.Time) {
	for id, rs := range a.rooms {
		if !rs.present[0] && !rs.present[1] && !rs.idleAt.IsZero() && now.Sub(rs.idleAt) > 24*time.Hour {
			delete(a.rooms, id)
		}
	}
}

// occurrenceAt returns the window of the occurrence of se that contains
// at (moved times included), or a window with an empty key: ad hoc.
func (a *attendance) occurrenceAt(ctx context.Context, se calendar.Series, at time.Time) (window, error) {
	overrides, err := a.store.ListOverrides(ctx, se.ID, at.Add(-overrideMargin), at.Add(overrideMargin))
	if err != nil {
		return window{}, err
	}
	dur := se.Duration
	if dur <= 0 {
		dur = calendar.DefaultDuration
	}
	now := a.now()
	occs, err := se.Occurrences(at.Add(-dur-a.late-24*time.Hour), at.Add(a.early+24*time.Hour), overrides, now)
	if err != nil {
		return window{}, fmt.Errorf("expand series %s: %w", se.ID, err)
	}
	// A moved occurrence can land far from its original time.
	for _, o := range overrides {
		if o.Moved() {
			moved, err := se.Occurrences(o.OriginalStart, o.OriginalStart.Add(time.Second), overrides, now)
			if err == nil {
				occs = append(occs, moved...)
			}
		}
	}
	var best window
	bestDist := time.Duration(-1)
	for _, o := range occs {
		if o.Status == calendar.StatusCancelled {
			continue
		}
		w := window{key: o.Key, originalStart: o.OriginalStart, start: o.Start, end: o.End, from: o.Start.Add(-a.early), to: o.End.Add(a.late)}
		if at.Before(w.from) || !at.Before(w.to) {
			continue
		}
		// Back-to-back windows overlap: the occurrence whose own
		// [start, end) is nearest wins.
		var dist time.Duration
		switch {
		case at.Before(o.Start):
			dist = o.Start.Sub(at)
		case !at.Before(o.End):
			dist = at.Sub(o.End)
		}
		if bestDist < 0 || dist < bestDist {
			best, bestDist = w, dist
		}
	}
	return best, nil
}
