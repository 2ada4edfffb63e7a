package sfu

import (
	"testing"
	"time"

	"github.com/oneonone/oneonone/meet/signal"
)

func TestTwoParticipantsExchangeMedia(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r1", RoleManager, 1, clientOpts{})
	if j := a.waitMsg(signal.TypeJoined, 5*time.Second).Data.(*signal.Joined); j.Role != RoleManager || j.Peer != "" {
		t.Fatalf("joined %+v", j)
	}
	b := h.join("r1", RoleReport, 2, clientOpts{})
	if j := b.waitMsg(signal.TypeJoined, 5*time.Second).Data.(*signal.Joined); j.Peer != RoleManager {
		t.Fatalf("joined %+v, want the manager as peer", j)
	}
	a.waitMsg(signal.TypePeerJoined, 5*time.Second)
	a.waitMedia(2, 25, 10*time.Second)
	b.waitMedia(1, 25, 10*time.Second)
	if st := h.srv.Stats(); st.RoomsActive != 1 || st.Participants != 2 {
		t.Fatalf("stats %+v", st)
	}
	if a.offers.Load() != 1 || b.offers.Load() != 1 {
		t.Fatalf("offers: manager %d report %d, want one each", a.offers.Load(), b.offers.Load())
	}
	b.leave()
	a.waitMsg(signal.TypePeerLeft, 5*time.Second)
	a.leave()
	if err := waitFor(5*time.Second, func() bool { return h.srv.Stats() == Stats{} }); err != nil {
		t.Fatalf("stats after leaving: %+v", h.srv.Stats())
	}
	want := []string{"join r1 manager", "join r1 report", "leave r1 report", "leave r1 manager"}
	if got := h.eventsSnapshot(); len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("attendance %v, want %v", got, want)
	}
}
