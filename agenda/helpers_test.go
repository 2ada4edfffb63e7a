package agenda_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/store"
)

var ctx = context.Background()

// A weekly series, Tuesdays 10:00 in Tokyo: occurrences 01:00 UTC.
const (
	occ0 = "20261201T010000Z"
	occ1 = "20261208T010000Z"
	occ2 = "20261215T010000Z"
	occ3 = "20261222T010000Z"
)

var (
	aiko     = agenda.Actor{Email: "aiko@example.com"} // the manager
	ren      = agenda.Actor{Email: "ren@example.com"}  // the report
	stranger = agenda.Actor{Email: "mallory@example.com"}
)

// recorder is a Broadcaster that keeps every event, in publish order.
type recorder struct {
	mu     sync.Mutex
	events []agenda.Event
	keys   []string
	on     func(ev agenda.Event) // called for each event, outside mu
}

func (r *recorder) Publish(seriesID, key string, ev agenda.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.keys = append(r.keys, key)
	on := r.on
	r.mu.Unlock()
	if on != nil {
		on(ev)
	}
}

// to returns the events the person with email would receive.
func (r *recorder) to(email string) []agenda.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []agenda.Event
	for _, ev := range r.events {
		if ev.For(email) {
			out = append(out, ev)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// counter is an Observer that counts added items by team and role.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) AgendaItemAdded(team, role string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[team+"/"+role]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

type fixture struct {
	svc   *agenda.Service
	store *store.Store
	bc    *recorder
	obs   *counter
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "oneonone.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if err := st.CreateSeries(ctx, calendar.Series{
		ID: "s_1", Manager: calendar.Person{Email: aiko.Email}, Report: calendar.Person{Email: ren.Email},
		Start: time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo), Timezone: "Asia/Tokyo", Cadence: calendar.CadenceWeekly,
		Duration: 30 * time.Minute, Team: "platform", State: calendar.StateActive,
	}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, bc: &recorder{}, obs: &counter{}}
	f.svc, err = agenda.New(agenda.Options{Store: st, Series: st, Broadcaster: f.bc, Observer: f.obs,
		Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) apply(t testing.TB, actor agenda.Actor, key string, op agenda.Op) agenda.Result {
	t.Helper()
	res, err := f.svc.Apply(ctx, actor, "s_1", key, op)
	if err != nil {
		t.Fatalf("Apply(%s %s %s): %v", actor.Email, op.Kind, op.ID, err)
	}
	return res
}

// add adds an item with a given id and returns it.
func (f *fixture) add(t testing.TB, actor agenda.Actor, key, id string, n agenda.NewItem) agenda.Item {
	t.Helper()
	res := f.apply(t, actor, key, agenda.Op{ID: "add-" + id, Kind: agenda.OpAdd, Item: id, Add: &n})
	if res.Status != agenda.StatusApplied || res.Item == nil {
		t.Fatalf("add %s: %+v", id, res)
	}
	return *res.Item
}

func (f *fixture) list(t testing.TB, actor agenda.Actor, key string) agenda.Agenda {
	t.Helper()
	a, err := f.svc.List(ctx, actor, "s_1", key)
	if err != nil {
		t.Fatalf("List(%s, %s): %v", actor.Email, key, err)
	}
	return a
}

func itemIDs(items []agenda.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func find(items []agenda.Item, id string) (agenda.Item, bool) {
	i := slices.IndexFunc(items, func(it agenda.Item) bool { return it.ID == id })
	if i < 0 {
		return agenda.Item{}, false
	}
	return items[i], true
}

func topic(text string) agenda.NewItem { return agenda.NewItem{Kind: agenda.KindTopic, Text: text} }

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func wantInvalid(t testing.TB, err error, field, what string) {
	t.Helper()
	inv, ok := errs.AsInvalid(err)
	if !ok || inv.Field != field {
		t.Errorf("%s: err = %v, want *errs.Invalid on %q", what, err, field)
	}
}
