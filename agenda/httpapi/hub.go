package httpapi

import (
	"strings"
	"sync"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/meet/signal"
)

// Hub is the agenda's Broadcaster: it hands each committed change to the
// agenda-page sockets watching its occurrence and to the room bridge. It
// never blocks: signal.Conn.Send queues or drops a slow client.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{} // series id → sockets
	room *Room
}

type subscriber struct {
	key   string
	email string
	role  agenda.Role
	conn  signal.Conn
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[*subscriber]struct{}{}} }

// SetRoom makes the hub also publish to the room's participants.
func (h *Hub) SetRoom(r *Room) {
	h.mu.Lock()
	h.room = r
	h.mu.Unlock()
}

func (h *Hub) add(seriesID string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[seriesID]
	if m == nil {
		m = map[*subscriber]struct{}{}
		h.subs[seriesID] = m
	}
	m[s] = struct{}{}
}

func (h *Hub) remove(seriesID string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[seriesID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, seriesID)
		}
	}
}

// Subscribers counts the agenda-page sockets (tests, metrics).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// Publish implements agenda.Broadcaster.
func (h *Hub) Publish(seriesID, key string, ev agenda.Event) {
	msg := signal.Message{Type: agenda.MsgEvent, Data: ev}
	h.mu.Lock()
	room := h.room
	for s := range h.subs[seriesID] {
		if s.key == key && ev.For(s.email) {
			s.conn.Send(msg) // a full queue closes that client, not us
		}
	}
	h.mu.Unlock()
	if room != nil {
		room.publish(seriesID, ev)
	}
}

// typing relays "X is typing" to the other person's page sockets of the
// same occurrence, and to the room.
func (h *Hub) typing(seriesID, key string, from *subscriber, t agenda.Typing) {
	msg := signal.Message{Type: agenda.MsgTyping, Data: t}
	h.mu.Lock()
	room := h.room
	for s := range h.subs[seriesID] {
		if s != from && s.key == key && !strings.EqualFold(s.email, from.email) {
			s.conn.Send(msg)
		}
	}
	h.mu.Unlock()
	if room != nil {
		room.relayTyping(seriesID, string(t.Role), msg)
	}
}

// typingFromRoom relays a room participant's typing to the other person's
// page sockets.
func (h *Hub) typingFromRoom(seriesID string, fromRole agenda.Role, msg signal.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[seriesID] {
		if s.role != fromRole {
			s.conn.Send(msg)
		}
	}
}
