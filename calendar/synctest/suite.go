package synctest

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/store"
)

// CalendarID is the configured calendar id the suite syncs.
const CalendarID = "team"

// Now is the suite's clock: the day before the first series starts.
var Now = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// Run runs the scenario suite; newBackend starts a fresh server (and
// provider) for each scenario.
func Run(t *testing.T, newBackend func(t testing.TB) Backend) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, b Backend)
	}{
		{"PeopleUseTheirCalendars", testPeopleUseTheirCalendars},
		{"CrashBetweenWriteAndCommit", testCrashBetweenWriteAndCommit},
		{"CrashThenCreateMeetsTheEvent", testCrashThenCreateMeetsTheEvent},
		{"ServerFailsForAWhile", testServerFailsForAWhile},
		{"BrokenObjectIsSkipped", testBrokenObjectIsSkipped},
		{"RefusedCredentialsNeedReauth", testRefusedCredentials},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newBackend(t)) })
	}
}

// Env is one store and reconciler against one backend.
type Env struct {
	T        testing.TB
	B        Backend
	Store    *store.Store
	Observer *Observer
	Rec      *calendar.Reconciler
}

// NewEnv opens a fresh SQLite store and a reconciler for b.
func NewEnv(t testing.TB, b Backend) *Env {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "db.sqlite"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &Env{T: t, B: b, Store: st, Observer: &Observer{}}
	e.Rec = e.Reconciler(nil)
	return e
}

// BuildEvent renders a series as the daemon does (icsfeed's text).
func BuildEvent(s calendar.Series, overrides []calendar.Override, roomURL string) (calendar.Event, error) {
	return icsfeed.SeriesEvent(icsfeed.Entry{Series: s, Overrides: overrides, RoomURL: roomURL}, Now)
}

// Reconciler returns a new reconciler on the env's store (a restart),
// with mod applied to its config.
func (e *Env) Reconciler(mod func(*calendar.ReconcilerConfig)) *calendar.Reconciler {
	e.T.Helper()
	cfg := calendar.ReconcilerConfig{
		CalendarID: CalendarID, ProviderName: e.B.ProviderName, Provider: e.B.Provider,
		Store: e.Store, SyncStore: e.Store, BuildEvent: BuildEvent,
		RoomURL:  func(id string) string { return "http://localhost:8080/r/" + id },
		Interval: time.Minute, Logger: testLogger(e.T), Observer: e.Observer,
		Now: func() time.Time { return Now },
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := calendar.NewReconciler(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Sync runs one round, which must succeed.
func (e *Env) Sync() {
	e.T.Helper()
	if err := e.Rec.SyncOnce(context.Background()); err != nil {
		e.T.Fatalf("SyncOnce: %v", err)
	}
}

// AddSeries stores a weekly 30-minute series in Asia/Tokyo starting
// 2026-12-01 10:00 (a Tuesday), of manager and report, in the suite's
// calendar.
func (e *Env) AddSeries(id, manager, report string) calendar.Series {
	e.T.Helper()
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	s := calendar.Series{ID: id, Manager: calendar.Person{Email: manager, Name: "M"},
		Report: calendar.Person{Email: report, Name: "R"}, Start: time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo),
		Timezone: "Asia/Tokyo", Cadence: calendar.CadenceWeekly, Duration: 30 * time.Minute,
		Calendar: CalendarID, State: calendar.StateActive}
	if err := e.Store.CreateSeries(context.Background(), s); err != nil {
		e.T.Fatal(err)
	}
	got, err := e.Store.GetSeries(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	return got
}

// Series reads one series back.
func (e *Env) Series(id string) calendar.Series {
	e.T.Helper()
	s, err := e.Store.GetSeries(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	return s
}

// Update changes a series through the store, as the API does.
func (e *Env) Update(id string, f func(*calendar.Series)) calendar.Series {
	e.T.Helper()
	s := e.Series(id)
	f(&s)
	out, err := e.Store.UpdateSeries(context.Background(), s)
	if err != nil {
		e.T.Fatal(err)
	}
	return out
}

// Count is how many events with the series' UID the server holds.
func (e *Env) Count(id string) int {
	e.T.Helper()
	n, err := e.B.Remote.Count(context.Background(), calendar.EventUID(id))
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Occurrences returns the series' occurrences in December 2026 by key,
// through the store and Series.Occurrences, as the API computes them.
func (e *Env) Occurrences(id string) (map[string]calendar.Occurrence, map[string]calendar.Override) {
	e.T.Helper()
	s := e.Series(id)
	from, to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	overrides, err := e.Store.ListOverrides(context.Background(), id, time.Time{}, time.Time{})
	if err != nil {
		e.T.Fatal(err)
	}
	occ, err := s.Occurrences(from, to, overrides, Now)
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]calendar.Occurrence{}
	for _, o := range occ {
		out[o.Key] = o
	}
	byKey := map[string]calendar.Override{}
	for _, o := range overrides {
		byKey[calendar.OccurrenceKey(o.OriginalStart)] = o
	}
	return out, byKey
}

// State is the series' sync state (zero when none).
func (e *Env) State(id string) calendar.SyncState {
	e.T.Helper()
	states, err := e.Store.SyncStates(context.Background(), CalendarID)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, st := range states {
		if st.SeriesID == id {
			return st
		}
	}
	return calendar.SyncState{}
}

func tokyo(day, hour, minute int) time.Time {
	loc, _ := time.LoadLocation("Asia/Tokyo")
	return time.Date(2026, 12, day, hour, minute, 0, 0, loc)
}

func key(t time.Time) string { return calendar.OccurrenceKey(t) }

func testPeopleUseTheirCalendars(t *testing.T, b Backend) {
	ctx := context.Background()
	e := NewEnv(t, b)
	s := e.AddSeries("s_pair", "aiko@example.com", "ren@example.com")
	uid := calendar.EventUID(s.ID)

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("series becomes one event", func(t *testing.T) {
		e.Sync()
		if n := e.Count(s.ID); n != 1 {
			t.Fatalf("server holds %d events with UID %s, want 1", n, uid)
		}
		start, d, err := b.Remote.Timing(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if !start.Equal(tokyo(1, 10, 0)) || d != 30*time.Minute {
			t.Fatalf("event timing = %v for %v, want %v for 30m", start, d, tokyo(1, 10, 0))
		}
		if st := e.State(s.ID); st.Remote != calendar.RemoteSynced || st.WrittenVersion != s.Version || st.Href == "" {
			t.Fatalf("sync state = %+v, want synced at version %d", st, s.Version)
		}
	})
	step("a round with nothing changed costs one request", func(t *testing.T) {
		if b.Requests == nil {
			t.Skip("backend does not count requests")
		}
		e.Sync() // reads back our own write
		before := b.Requests()
		e.Sync()
		if n := b.Requests() - before; n != 1 {
			t.Fatalf("a no-change round made %d requests, want 1", n)
		}
	})
	step("moved, cancelled and declined occurrences come back", func(t *testing.T) {
		if err := b.Remote.MoveOccurrence(ctx, uid, tokyo(8, 10, 0), tokyo(9, 11, 0), 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.Remote.CancelOccurrence(ctx, uid, tokyo(15, 10, 0)); err != nil {
			t.Fatal(err)
		}
		if err := b.Remote.DeclineOccurrence(ctx, uid, tokyo(22, 10, 0), "ren@example.com"); err != nil {
			t.Fatal(err)
		}
		version := e.Series(s.ID).Version
		e.Sync()
		occ, ov := e.Occurrences(s.ID)
		want := []struct {
			key    string
			status calendar.Status
			start  time.Time
			by     string
		}{
			{key(tokyo(1, 10, 0)), calendar.StatusScheduled, tokyo(1, 10, 0), ""},
			{key(tokyo(8, 10, 0)), calendar.StatusRescheduled, tokyo(9, 11, 0), ""},
			{key(tokyo(15, 10, 0)), calendar.StatusCancelled, tokyo(15, 10, 0), "manager"},
			{key(tokyo(22, 10, 0)), calendar.StatusCancelled, tokyo(22, 10, 0), "report"},
			{key(tokyo(29, 10, 0)), calendar.StatusScheduled, tokyo(29, 10, 0), ""},
		}
		for _, w := range want {
			o, ok := occ[w.key]
			if !ok {
				t.Errorf("occurrence %s missing", w.key)
				continue
			}
			if o.Status != w.status || !o.Start.Equal(w.start) || ov[w.key].CancelledBy != w.by {
				t.Errorf("occurrence %s = %s at %v (cancelled by %q), want %s at %v (by %q)",
					w.key, o.Status, o.Start, ov[w.key].CancelledBy, w.status, w.start, w.by)
			}
			if w.by != "" && ov[w.key].CancelledAt.IsZero() {
				t.Errorf("occurrence %s: cancelled without a time", w.key)
			}
		}
		if v := e.Series(s.ID).Version; v != version {
			t.Errorf("series version %d → %d: occurrence changes must not touch the series", version, v)
		}
		// Reading the same changes again (a second round) changes nothing.
		cancelledAt := ov[key(tokyo(15, 10, 0))].Updated
		e.Sync()
		if _, ov2 := e.Occurrences(s.ID); !ov2[key(tokyo(15, 10, 0))].Updated.Equal(cancelledAt) {
			t.Errorf("a second round rewrote an override")
		}
		if n := e.Count(s.ID); n != 1 {
			t.Fatalf("server holds %d events, want 1", n)
		}
	})
	step("a new series time made in the calendar is adopted, not pushed back", func(t *testing.T) {
		if err := b.Remote.MoveSeries(ctx, uid, tokyo(1, 14, 0)); err != nil {
			t.Fatal(err)
		}
		e.Sync()
		got := e.Series(s.ID)
		if !got.Start.Equal(tokyo(1, 14, 0)) || got.Cadence != calendar.CadenceWeekly || got.State != calendar.StateActive {
			t.Fatalf("series = start %v cadence %s state %s, want start %v weekly active", got.Start, got.Cadence, got.State, tokyo(1, 14, 0))
		}
		if st := e.State(s.ID); st.WrittenVersion != got.Version {
			t.Fatalf("written version %d, series version %d: an adopted change must not be pushed back", st.WrittenVersion, got.Version)
		}
		occ, _ := e.Occurrences(s.ID)
		if o, ok := occ[key(tokyo(29, 14, 0))]; !ok || o.Status != calendar.StatusScheduled {
			t.Fatalf("occurrence on the 29th at 14:00 = %+v, %v; want scheduled", o, ok)
		}
		if b.Requests != nil {
			e.Sync()
			before := b.Requests()
			e.Sync()
			if n := b.Requests() - before; n != 1 {
				t.Fatalf("after adopting, a no-change round made %d requests, want 1", n)
			}
		}
	})
	step("our change reaches the calendar and keeps their occurrence edits", func(t *testing.T) {
		if err := b.Remote.MoveOccurrence(ctx, uid, tokyo(15, 14, 0), tokyo(16, 9, 0), 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		e.Sync()
		e.Update(s.ID, func(s *calendar.Series) { s.Duration = 45 * time.Minute })
		// Someone edits the event between our read and our write: the
		// conditional write fails, we read again, merge and retry.
		e.Rec = e.Reconciler(func(c *calendar.ReconcilerConfig) {
			c.Provider = &editBeforeUpdate{Provider: b.Provider, edit: func() error {
				return b.Remote.DeclineOccurrence(ctx, uid, tokyo(22, 14, 0), "ren@example.com")
			}}
		})
		e.Sync()
		e.Rec = e.Reconciler(nil)
		start, d, err := b.Remote.Timing(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if !start.Equal(tokyo(1, 14, 0)) || d != 45*time.Minute {
			t.Fatalf("event timing = %v for %v, want %v for 45m", start, d, tokyo(1, 14, 0))
		}
		if n := e.Count(s.ID); n != 1 {
			t.Fatalf("server holds %d events, want 1", n)
		}
		e.Sync() // read back what we merged
		occ, ov := e.Occurrences(s.ID)
		if o := occ[key(tokyo(15, 14, 0))]; o.Status != calendar.StatusRescheduled || !o.Start.Equal(tokyo(16, 9, 0)) {
			t.Errorf("occurrence moved before our update = %s at %v, want rescheduled at %v", o.Status, o.Start, tokyo(16, 9, 0))
		}
		if o := occ[key(tokyo(22, 14, 0))]; o.Status != calendar.StatusCancelled || ov[o.Key].CancelledBy != "report" {
			t.Errorf("occurrence declined during our update = %s (by %q), want cancelled by report", o.Status, ov[o.Key].CancelledBy)
		}
		if got := e.Series(s.ID); got.Duration != 45*time.Minute {
			t.Errorf("series duration = %v, want ours (45m)", got.Duration)
		}
	})
	step("pause deletes the event, resume recreates it", func(t *testing.T) {
		e.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StatePaused })
		e.Sync()
		if n := e.Count(s.ID); n != 0 {
			t.Fatalf("paused: server holds %d events, want 0", n)
		}
		e.Sync() // our own deletion comes back: the series stays paused
		if st := e.Series(s.ID).State; st != calendar.StatePaused {
			t.Fatalf("state after our own deletion = %s, want paused", st)
		}
		e.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StateActive })
		e.Sync()
		if n := e.Count(s.ID); n != 1 {
			t.Fatalf("resumed: server holds %d events, want 1", n)
		}
	})
	step("a series deleted in the calendar is detached, not recreated", func(t *testing.T) {
		e.Sync()
		if err := b.Remote.DeleteSeries(ctx, uid); err != nil {
			t.Fatal(err)
		}
		e.Sync()
		if st := e.Series(s.ID).State; st != calendar.StateDetached {
			t.Fatalf("state = %s, want detached", st)
		}
		e.Sync()
		if n := e.Count(s.ID); n != 0 {
			t.Fatalf("detached: server holds %d events, want 0 (not recreated)", n)
		}
		e.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StateActive })
		e.Sync()
		if n := e.Count(s.ID); n != 1 {
			t.Fatalf("set active again: server holds %d events, want 1", n)
		}
	})
	step("a removed series' event is deleted", func(t *testing.T) {
		if err := e.Store.DeleteSeries(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		e.Sync()
		if n := e.Count(s.ID); n != 0 {
			t.Fatalf("removed: server holds %d events, want 0", n)
		}
		if st := e.State(s.ID); st.UID != "" {
			t.Fatalf("sync state kept after removal: %+v", st)
		}
	})
}

// crashingSyncStore fails the first commit that records a written event,
// as a crash between the calendar write and the store commit would.
type crashingSyncStore struct {
	calendar.SyncStore
	crashed bool
}

var errCrash = errors.New("synctest: crash before commit")

func (c *crashingSyncStore) PutSyncState(ctx context.Context, st calendar.SyncState) error {
	if st.Href != "" && !c.crashed {
		c.crashed = true
		return errCrash
	}
	return c.SyncStore.PutSyncState(ctx, st)
}

func testCrashBetweenWriteAndCommit(t *testing.T, b Backend) {
	e := NewEnv(t, b)
	s := e.AddSeries("s_crash", "aiko@example.com", "ren@example.com")
	crashing := &crashingSyncStore{SyncStore: e.Store}
	first := e.Reconciler(func(c *calendar.ReconcilerConfig) { c.SyncStore = crashing })
	if err := first.SyncOnce(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("SyncOnce = %v, want the crash", err)
	}
	if st := e.State(s.ID); st.UID != calendar.EventUID(s.ID) || st.Href != "" || st.Remote != calendar.RemotePending {
		t.Fatalf("after the crash the store holds %+v; want the UID reserved, pending", st)
	}
	if n := e.Count(s.ID); n != 1 {
		t.Fatalf("after the crash the server holds %d events, want 1", n)
	}
	// Restart: a new reconciler on the same store.
	e.Rec = e.Reconciler(nil)
	e.Sync()
	e.Sync()
	if n := e.Count(s.ID); n != 1 {
		t.Fatalf("after the restart the server holds %d events, want exactly 1", n)
	}
	if st := e.State(s.ID); st.Remote != calendar.RemoteSynced || st.Href == "" || st.WrittenVersion != s.Version {
		t.Fatalf("after the restart the state is %+v, want synced", st)
	}
}

// editBeforeUpdate makes a raw edit on the server right before the first
// conditional update goes out, so that update meets a 412.
type editBeforeUpdate struct {
	calendar.Provider
	edit func() error
	done bool
}

func (p *editBeforeUpdate) PutEvent(ctx context.Context, e calendar.Event, ifMatch string) (calendar.EventRef, error) {
	if ifMatch != "" && !p.done {
		p.done = true
		if err := p.edit(); err != nil {
			return calendar.EventRef{}, err
		}
	}
	return p.Provider.PutEvent(ctx, e, ifMatch)
}

// laggingFeed hides every event from the change feed, as a feed that has
// not caught up yet would: the only way to learn of an event is to meet it.
type laggingFeed struct{ calendar.Provider }

func (p laggingFeed) Changes(ctx context.Context, cursor string) (calendar.Changes, error) {
	ch, err := p.Provider.Changes(ctx, cursor)
	ch.Updated, ch.Full = nil, false
	return ch, err
}

func testCrashThenCreateMeetsTheEvent(t *testing.T, b Backend) {
	e := NewEnv(t, b)
	s := e.AddSeries("s_crash2", "aiko@example.com", "ren@example.com")
	first := e.Reconciler(func(c *calendar.ReconcilerConfig) {
		c.SyncStore = &crashingSyncStore{SyncStore: e.Store}
		c.Provider = laggingFeed{b.Provider}
	})
	if err := first.SyncOnce(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("SyncOnce = %v, want the crash", err)
	}
	// The restart creates again, meets the event (If-None-Match / a
	// duplicate id) and adopts it.
	e.Rec = e.Reconciler(func(c *calendar.ReconcilerConfig) { c.Provider = laggingFeed{b.Provider} })
	e.Sync()
	if n := e.Count(s.ID); n != 1 {
		t.Fatalf("after the restart the server holds %d events, want exactly 1", n)
	}
	if st := e.State(s.ID); st.Remote != calendar.RemoteSynced || st.Href == "" || st.WrittenVersion != s.Version {
		t.Fatalf("after the restart the state is %+v, want synced", st)
	}
}

func testServerFailsForAWhile(t *testing.T, b Backend) {
	if b.FailNext == nil {
		t.Skip("backend cannot inject faults")
	}
	e := NewEnv(t, b)
	ids := []string{"s_a", "s_b", "s_c"}
	for i, id := range ids {
		e.AddSeries(id, "aiko@example.com", "r"+string(rune('0'+i))+"@example.com")
	}
	e.Rec = e.Reconciler(func(c *calendar.ReconcilerConfig) {
		c.Interval, c.MinBackoff, c.MaxBackoff = 20*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond
	})
	b.FailNext(6)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Rec.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		synced := 0
		for _, id := range ids {
			if st := e.State(id); st.Remote == calendar.RemoteSynced && st.Href != "" {
				synced++
			}
		}
		if synced == len(ids) && e.Rec.Health() == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("did not converge: %d of %d synced, health %v, rounds %v", synced, len(ids), e.Rec.Health(), e.Observer.Seen())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	reasons := e.Observer.Seen()
	if !slices.Contains(reasons, "network") || reasons[len(reasons)-1] != "" {
		t.Fatalf("rounds reported %q; want failures (network) then a success", reasons)
	}
	for _, id := range ids {
		if n := e.Count(id); n != 1 {
			t.Fatalf("series %s: server holds %d events, want 1", id, n)
		}
	}
	cs, err := e.Store.CalendarSync(context.Background(), CalendarID)
	if err != nil || cs.LastSuccess.IsZero() || cs.LastError != "" || cs.Cursor == "" {
		t.Fatalf("calendar sync state = %+v, %v; want a success recorded", cs, err)
	}
}

func testBrokenObjectIsSkipped(t *testing.T, b Backend) {
	e := NewEnv(t, b)
	if err := b.Remote.PutBroken(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := e.AddSeries("s_ok", "aiko@example.com", "ren@example.com")
	e.Sync()
	e.Sync()
	if n := e.Count(s.ID); n != 1 {
		t.Fatalf("server holds %d events, want 1", n)
	}
	// A new cursor-less start (a restart that lost its cursor) lists it again.
	if err := e.Store.PutCalendarSync(context.Background(), calendar.CalendarSync{CalendarID: CalendarID}); err != nil {
		t.Fatal(err)
	}
	e.Sync()
	if st := e.Series(s.ID).State; st != calendar.StateActive {
		t.Fatalf("state = %s after a full listing with a broken object, want active", st)
	}
}

func testRefusedCredentials(t *testing.T, b Backend) {
	if b.BadCredentials == nil {
		t.Skip("the server does not check credentials")
	}
	e := NewEnv(t, b)
	e.AddSeries("s_auth", "aiko@example.com", "ren@example.com")
	e.Rec = e.Reconciler(func(c *calendar.ReconcilerConfig) { c.Provider = b.BadCredentials(t) })
	err := e.Rec.SyncOnce(context.Background())
	if err == nil {
		t.Fatal("SyncOnce with a wrong password succeeded")
	}
	cs, _ := e.Store.CalendarSync(context.Background(), CalendarID)
	if !cs.NeedsReauth || !errors.Is(e.Rec.Health(), calendar.ErrNeedsReauth) || !errors.Is(e.Rec.Health(), errs.ErrUnauthorized) {
		t.Fatalf("needs reauth = %v, health %v; want flagged", cs.NeedsReauth, e.Rec.Health())
	}
	if r := e.Observer.Seen(); len(r) != 1 || r[0] != "auth" {
		t.Fatalf("reported %q, want [auth]", r)
	}
	// The right password again clears it.
	e.Rec = e.Reconciler(nil)
	e.Sync()
	if cs, _ := e.Store.CalendarSync(context.Background(), CalendarID); cs.NeedsReauth || e.Rec.Health() != nil {
		t.Fatalf("after a success: needs reauth %v, health %v", cs.NeedsReauth, e.Rec.Health())
	}
}
