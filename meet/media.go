package meet

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/oneonone/oneonone/meet/signal"
)

// mediaStates relays "media-state" (camera and microphone on or off)
// between the two participants of a room and remembers each one's last
// state, so the one who joins second learns it too. The SFU only routes
// the message here (sfu.Config.OnMessage): it forwards media and knows
// nothing of what the pages show on their tiles.
//
// A state lives while its participant is in the room: a reload keeps it
// until the new page sends its own, leaving resets it.
type mediaStates struct {
	// send delivers a message to the participant of role in room without
	// blocking (sfu.Server.Send).
	send func(room, role string, m signal.Message) error
	log  *slog.Logger

	// mu also orders the sends: a relay and the state a joiner is sent
	// after "joined" never overtake each other.
	mu    sync.Mutex
	rooms map[string]*[2]*signal.MediaState // by slot: manager, report
}

func newMediaStates(send func(room, role string, m signal.Message) error, log *slog.Logger) *mediaStates {
	return &mediaStates{send: send, log: log, rooms: map[string]*[2]*signal.MediaState{}}
}

// update stores the state the participant of role sent and relays it to
// the other participant of the room, and to no one else. An unchanged
// state is not relayed again.
func (ms *mediaStates) update(room, role string, st signal.MediaState) {
	slot := slotOf(role)
	if slot < 0 {
		return
	}
	st.Role = role // whose it is is the server's to say, not the client's
	ms.mu.Lock()
	defer ms.mu.Unlock()
	r := ms.rooms[room]
	if r == nil {
		r = new([2]*signal.MediaState)
		ms.rooms[room] = r
	}
	if r[slot] != nil && *r[slot] == st {
		return
	}
	r[slot] = &st
	peer := roleNames[1-slot]
	if err := ms.send(room, peer, signal.Message{Type: signal.TypeMediaState, Data: &st}); err != nil && !errors.Is(err, signal.ErrSlow) {
		ms.log.Debug("meet: relay media state", "room", room, "role", peer, "err", err)
	}
}

// reset forgets the state of the participant of role, who left the room.
func (ms *mediaStates) reset(room, role string) {
	slot := slotOf(role)
	if slot < 0 {
		return
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	r := ms.rooms[room]
	if r == nil {
		return
	}
	r[slot] = nil
	if r[0] == nil && r[1] == nil {
		delete(ms.rooms, room)
	}
}

// conn wraps the connection of the participant in slot of room so that
// the peer's current state follows "joined" on it. The SFU sends "joined"
// once it has given the participant its slot, so from then on every
// change of the peer's reaches it through update: no change falls between
// the two.
func (ms *mediaStates) conn(room string, slot int, c signal.Conn) signal.Conn {
	return &mediaStateConn{Conn: c, states: ms, room: room, peer: 1 - slot}
}

type mediaStateConn struct {
	signal.Conn
	states *mediaStates
	room   string
	peer   int // the other participant's slot
}

func (c *mediaStateConn) Send(m signal.Message) error {
	if m.Type != signal.TypeJoined {
		return c.Conn.Send(m)
	}
	c.states.mu.Lock()
	defer c.states.mu.Unlock()
	if err := c.Conn.Send(m); err != nil {
		return err
	}
	if r := c.states.rooms[c.room]; r != nil && r[c.peer] != nil {
		return c.Conn.Send(signal.Message{Type: signal.TypeMediaState, Data: r[c.peer]})
	}
	return nil
}
