package meet

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/oneonone/oneonone/meet/signal"
)

// sent is one message handed to a participant.
type sent struct {
	room, role string
	m          signal.Message
}

// recorder stands in for sfu.Server.Send.
type recorder struct {
	mu   sync.Mutex
	msgs []sent
}

func (r *recorder) send(room, role string, m signal.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, sent{room, role, m})
	return nil
}

func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// fakeConn records what the SFU would write to a browser.
type fakeConn struct {
	mu   sync.Mutex
	msgs []signal.Message
}

func (c *fakeConn) Send(m signal.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *fakeConn) Receive(ctx context.Context) (signal.Message, error) {
	<-ctx.Done()
	return signal.Message{}, ctx.Err()
}
func (c *fakeConn) Close(string) error    { return nil }
func (c *fakeConn) Done() <-chan struct{} { return nil }

func (c *fakeConn) types() []signal.Type {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []signal.Type
	for _, m := range c.msgs {
		ts = append(ts, m.Type)
	}
	return ts
}

func (c *fakeConn) last(t signal.Type) *signal.MediaState {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Type == t {
			return c.msgs[i].Data.(*signal.MediaState)
		}
	}
	return nil
}

func TestMediaStateRelayedToThePeerOnly(t *testing.T) {
	rec := &recorder{}
	ms := newMediaStates(rec.send, slog.New(slog.DiscardHandler))

	// The client's own claim of a role is overwritten with its real one.
	ms.update("r1", "manager", signal.MediaState{Role: "report", Camera: false, Microphone: true})
	want := []sent{{"r1", "report", signal.Message{Type: signal.TypeMediaState, Data: &signal.MediaState{Role: "manager", Microphone: true}}}}
	if got := rec.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("relayed %+v, want %+v", got, want)
	}

	// Sent again unchanged (a page reloaded): nothing to tell.
	ms.update("r1", "manager", signal.MediaState{Camera: false, Microphone: true})
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("unchanged state relayed: %+v", got)
	}

	// The report mutes: only the manager of r1 hears of it.
	ms.update("r1", "report", signal.MediaState{Camera: true, Microphone: false})
	ms.update("r2", "manager", signal.MediaState{Camera: true, Microphone: true})
	got := rec.take()
	if len(got) != 2 || got[0].room != "r1" || got[0].role != "manager" || got[1].room != "r2" || got[1].role != "report" {
		t.Fatalf("relayed %+v", got)
	}
	for _, s := range got {
		if st := s.m.Data.(*signal.MediaState); st.Role == s.role {
			t.Errorf("%s of %s got its own state back: %+v", s.role, s.room, st)
		}
	}

	// Not a role: dropped.
	ms.update("r1", "admin", signal.MediaState{})
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("state of an unknown role relayed: %+v", got)
	}
}

func TestJoinerLearnsPeerState(t *testing.T) {
	rec := &recorder{}
	ms := newMediaStates(rec.send, slog.New(slog.DiscardHandler))
	ms.update("r1", "manager", signal.MediaState{Camera: false, Microphone: true})

	// The report joins r1: the manager's state follows "joined", and
	// only "joined".
	report := &fakeConn{}
	rc := ms.conn("r1", 1, report)
	rc.Send(signal.Message{Type: signal.TypeOffer, Data: &signal.SessionDescription{SDP: "v=0"}})
	rc.Send(signal.Message{Type: signal.TypeJoined, Data: &signal.Joined{Role: "report", Peer: "manager"}})
	if got, want := report.types(), []signal.Type{signal.TypeOffer, signal.TypeJoined, signal.TypeMediaState}; !reflect.DeepEqual(got, want) {
		t.Fatalf("report got %v, want %v", got, want)
	}
	if st := report.last(signal.TypeMediaState); *st != (signal.MediaState{Role: "manager", Microphone: true}) {
		t.Fatalf("report learned %+v", st)
	}

	// The manager (re)joins: the report has said nothing, so nothing follows.
	manager := &fakeConn{}
	ms.conn("r1", 0, manager).Send(signal.Message{Type: signal.TypeJoined, Data: &signal.Joined{Role: "manager"}})
	// A joiner of another room learns nothing of r1.
	other := &fakeConn{}
	ms.conn("r2", 1, other).Send(signal.Message{Type: signal.TypeJoined, Data: &signal.Joined{Role: "report"}})
	for name, c := range map[string]*fakeConn{"manager": manager, "r2's report": other} {
		if got := c.types(); !reflect.DeepEqual(got, []signal.Type{signal.TypeJoined}) {
			t.Errorf("%s got %v, want joined only", name, got)
		}
	}

	// The manager leaves: its state goes with it.
	ms.reset("r1", "manager")
	again := &fakeConn{}
	ms.conn("r1", 1, again).Send(signal.Message{Type: signal.TypeJoined, Data: &signal.Joined{Role: "report"}})
	if got := again.types(); !reflect.DeepEqual(got, []signal.Type{signal.TypeJoined}) {
		t.Fatalf("report joining after the manager left got %v", got)
	}
	ms.reset("r1", "report")
	if len(ms.rooms) != 0 {
		t.Fatalf("states of an empty room kept: %v", ms.rooms)
	}
}

// A change made while the peer joins is never lost: whichever comes
// first, the joiner's last media-state is the current one.
func TestJoinerNeverMissesAChange(t *testing.T) {
	for range 50 {
		joiner := &fakeConn{}
		var ms *mediaStates
		wrapped := &mediaStateConn{}
		// As in the SFU: the joiner holds its slot before "joined" is
		// sent, so relays reach it through its (wrapped) connection.
		ms = newMediaStates(func(room, role string, m signal.Message) error {
			if role == "report" {
				return wrapped.Send(m)
			}
			return nil
		}, slog.New(slog.DiscardHandler))
		*wrapped = *ms.conn("r", 1, joiner).(*mediaStateConn)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 20 {
				ms.update("r", "manager", signal.MediaState{Camera: i%2 == 1, Microphone: true})
			}
		})
		wg.Go(func() { wrapped.Send(signal.Message{Type: signal.TypeJoined, Data: &signal.Joined{Role: "report"}}) })
		wg.Wait()
		if st := joiner.last(signal.TypeMediaState); st == nil || !st.Camera {
			t.Fatalf("joiner's last state %+v, want the camera on", st)
		}
	}
}
