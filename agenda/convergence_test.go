package agenda_test

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
)

// client simulates one browser: a local copy of the agenda built only from
// the results of its own operations and the events it receives, and a
// random stream of operations based on that copy (so it edits stale
// versions whenever the other side got there first).
type client struct {
	actor agenda.Actor
	rng   *rand.Rand

	mu    sync.Mutex
	items map[string]agenda.Item // tombstones kept so an old event cannot revive an item
	inbox []agenda.Item          // events received but not yet read: the network's delay

	conflicts, applied int
}

// merge keeps the newest version of an item.
func (c *client) merge(it agenda.Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.items[it.ID]; !ok || it.Version > cur.Version {
		c.items[it.ID] = it
	}
}

// receive queues an event's item, as a socket buffers a frame.
func (c *client) receive(it agenda.Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inbox = append(c.inbox, it)
}

// drain reads every queued event.
func (c *client) drain() {
	c.mu.Lock()
	inbox := c.inbox
	c.inbox = nil
	c.mu.Unlock()
	for _, it := range inbox {
		c.merge(it)
	}
}

func (c *client) view(key string) []agenda.Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []agenda.Item
	for _, it := range c.items {
		if !it.Deleted {
			out = append(out, it)
		}
	}
	// The order List uses: carried items first, then by rank.
	slices.SortFunc(out, func(a, b agenda.Item) int {
		ca, cb := a.Occurrence != key, b.Occurrence != key
		if ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Occurrence, b.Occurrence), strings.Compare(a.Position, b.Position),
			strings.Compare(a.ID, b.ID))
	})
	return out
}

// nextOp picks a random operation on the client's current view.
func (c *client) nextOp(key string, n int) agenda.Op {
	if c.rng.IntN(3) == 0 {
		c.drain() // otherwise the client acts on what it knew before
	}
	view := c.view(key)
	id := fmt.Sprintf("%s-%d", c.actor.Email[:3], n)
	pick := func(ok func(agenda.Item) bool) (agenda.Item, bool) {
		var cands []agenda.Item
		for _, it := range view {
			if ok(it) {
				cands = append(cands, it)
			}
		}
		if len(cands) == 0 {
			return agenda.Item{}, false
		}
		if len(cands) > 3 && c.rng.IntN(2) == 0 {
			cands = cands[:3] // a few hot items, so both sides collide often
		}
		return cands[c.rng.IntN(len(cands))], true
	}
	any := func(agenda.Item) bool { return true }
	switch r := c.rng.IntN(100); {
	case r < 25 || len(view) < 3:
		kinds := []agenda.Kind{agenda.KindTopic, agenda.KindTopic, agenda.KindNote, agenda.KindPrivateNote, agenda.KindAction}
		n := agenda.NewItem{Kind: kinds[c.rng.IntN(len(kinds))], Text: "text " + id}
		if n.Kind == agenda.KindNote || n.Kind == agenda.KindPrivateNote {
			if p, ok := pick(func(it agenda.Item) bool { return it.Kind == agenda.KindTopic && it.Occurrence == key }); ok && c.rng.IntN(2) == 0 {
				n.Parent = p.ID
			}
		}
		return agenda.Op{ID: id, Kind: agenda.OpAdd, Item: "i-" + id, Add: &n}
	case r < 55:
		it, _ := pick(any)
		return agenda.Op{ID: id, Kind: agenda.OpEdit, Item: it.ID, Field: agenda.FieldText, Value: "edit " + id, BaseVersion: it.Version}
	case r < 65:
		it, ok := pick(func(it agenda.Item) bool { return it.Kind == agenda.KindTopic })
		if !ok {
			it, _ = pick(any)
			return agenda.Op{ID: id, Kind: agenda.OpEdit, Item: it.ID, Field: agenda.FieldText, Value: "edit " + id, BaseVersion: it.Version}
		}
		tags := agenda.Tags()
		return agenda.Op{ID: id, Kind: agenda.OpEdit, Item: it.ID, Field: agenda.FieldTag, Value: string(tags[c.rng.IntN(len(tags))]), BaseVersion: it.Version}
	case r < 80:
		it, _ := pick(func(it agenda.Item) bool { return it.Occurrence == key })
		after, _ := pick(func(x agenda.Item) bool { return x.ID != it.ID && x.Occurrence == key })
		if c.rng.IntN(4) == 0 {
			after.ID = ""
		}
		return agenda.Op{ID: id, Kind: agenda.OpMove, Item: it.ID, Value: after.ID}
	case r < 92:
		it, ok := pick(func(it agenda.Item) bool { return it.Kind == agenda.KindTopic || it.Kind == agenda.KindAction })
		if !ok {
			it, _ = pick(any)
		}
		return agenda.Op{ID: id, Kind: agenda.OpCheck, Item: it.ID, Value: fmt.Sprint(!it.Done), BaseVersion: it.Version}
	default:
		it, _ := pick(any)
		return agenda.Op{ID: id, Kind: agenda.OpDelete, Item: it.ID, BaseVersion: it.Version}
	}
}

// Two clients editing one occurrence at once, each from its own possibly
// stale copy, end with the same agenda as each other and as the server.
func TestConvergence(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { testConvergence(t, seed) })
	}
}

func testConvergence(t *testing.T, seed uint64) {
	f := newFixture(t)
	// An action item of the previous occurrence is carried in.
	f.add(t, aiko, occ0, "carried", agenda.NewItem{Kind: agenda.KindAction, Text: "from last time"})
	clients := []*client{
		{actor: aiko, rng: rand.New(rand.NewPCG(seed, 1)), items: map[string]agenda.Item{}},
		{actor: ren, rng: rand.New(rand.NewPCG(seed, 2)), items: map[string]agenda.Item{}},
	}
	// Events are delivered to each client the meet layer's way: by For.
	f.bc.on = func(ev agenda.Event) {
		for _, c := range clients {
			if ev.For(c.actor.Email) {
				c.receive(ev.Item)
			}
		}
	}
	for _, c := range clients {
		for _, it := range f.list(t, c.actor, occ1).Items {
			c.merge(it)
		}
	}
	const ops = 80
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for n := range ops {
				op := c.nextOp(occ1, n)
				res, err := f.svc.Apply(ctx, c.actor, "s_1", occ1, op)
				var inv *errs.Invalid
				switch {
				case errors.Is(err, errs.ErrNotFound), errors.As(err, &inv):
					// The item was deleted, or a parent went, under the
					// client's feet: a real client drops the op too.
					continue
				case err != nil:
					t.Errorf("%s: %v", c.actor.Email, err)
					return
				}
				if res.Status == agenda.StatusConflict {
					c.conflicts++
				} else {
					c.applied++
				}
				c.merge(*res.Item)
			}
		})
	}
	wg.Wait()
	for _, c := range clients {
		c.drain()
	}

	shared := func(items []agenda.Item) []string {
		var out []string
		for _, it := range items {
			if it.Kind != agenda.KindPrivateNote {
				out = append(out, fmt.Sprintf("%s v%d %q %s %t %s %s", it.ID, it.Version, it.Text, it.Tag, it.Done, it.Position, it.Parent))
			}
		}
		return out
	}
	full := func(items []agenda.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s v%d %q %t %s", it.ID, it.Version, it.Text, it.Done, it.Position))
		}
		return out
	}
	for _, c := range clients {
		server := f.list(t, c.actor, occ1)
		if got, want := full(c.view(occ1)), full(server.Items); !slices.Equal(got, want) {
			t.Errorf("%s's copy differs from List:\n got %v\nwant %v", c.actor.Email, got, want)
		}
		for _, it := range server.Items {
			if it.Kind == agenda.KindPrivateNote && it.AuthorEmail != c.actor.Email {
				t.Errorf("%s sees the other's private note %s", c.actor.Email, it.ID)
			}
		}
		t.Logf("%s: %d applied, %d conflicts, %d items", c.actor.Email, c.applied, c.conflicts, len(server.Items))
	}
	if a, r := shared(clients[0].view(occ1)), shared(clients[1].view(occ1)); !slices.Equal(a, r) {
		t.Errorf("the two clients differ:\nAiko %v\nRen  %v", a, r)
	}
	if clients[0].conflicts+clients[1].conflicts == 0 {
		t.Log("no conflicts happened; the test did not exercise them")
	}
}
