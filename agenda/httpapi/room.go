package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/signal"
)

// RoomOptions configure the room bridge.
type RoomOptions struct {
	Agenda *agenda.Service
	Series Series
	// Send delivers a message to the participant of role in room without
	// blocking (meet's SFU().Send).
	Send func(room, role string, m signal.Message) error
	// Capability is true when the daemon runs without sign-in: whoever
	// holds a room link may claim a place, so private notes stay off.
	Capability bool
	Hub        *Hub
	Logger     *slog.Logger
	Now        func() time.Time
}

// Room carries the agenda over the room's WebSocket: an agenda.op from a
// participant is applied as that participant (the series' person of that
// role), answered with agenda.result; agenda.sync gets the missed events or
// a snapshot; agenda.typing goes to the other participant only; committed
// events reach each participant Event.For allows. The room id is the
// series id.
type Room struct {
	opt RoomOptions

	mu    sync.Mutex
	rooms map[string]*roomState
}

type roomState struct {
	emails [2]string // manager, report
	keys   [2]string // the occurrence each participant follows
}

// NewRoom returns the bridge and makes hub publish to it.
func NewRoom(opt RoomOptions) *Room {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Room{opt: opt, rooms: map[string]*roomState{}}
	if opt.Hub != nil {
		opt.Hub.SetRoom(r)
	}
	return r
}

func slot(role string) int {
	if role == string(agenda.RoleReport) {
		return 1
	}
	return 0
}

// OnMessage is meet's Media.OnMessage: it runs in the participant's read
// loop, so one participant's ops are applied in the order sent.
func (b *Room) OnMessage(room, role string, m signal.Message) {
	if role != string(agenda.RoleManager) && role != string(agenda.RoleReport) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	ser, err := b.opt.Series.GetSeries(ctx, room)
	if err != nil {
		b.opt.Logger.Warn("agenda: room series", "room", room, "err", err)
		return
	}
	st := b.state(ser)
	actor := agenda.Actor{Email: st.emails[slot(role)], Role: agenda.Role(role)}
	switch d := m.Data.(type) {
	case *agenda.Sync:
		key := d.Occurrence
		if key == "" {
			key, err = CurrentOccurrence(ctx, b.opt.Series, ser, b.opt.Now())
			if err != nil || key == "" {
				b.send(room, role, signal.Message{Type: MsgError, ID: m.ID, Data: &OpError{Code: "not_found", Message: "this series has no occurrence"}})
				return
			}
		}
		if _, err := calendar.ParseOccurrenceKey(key); err != nil {
			b.send(room, role, signal.Message{Type: MsgError, ID: m.ID, Data: &OpError{Code: "invalid_argument", Message: "not an occurrence key", Field: "occurrence"}})
			return
		}
		b.mu.Lock()
		st.keys[slot(role)] = key
		b.mu.Unlock()
		b.sync(ctx, room, role, actor, key, d.AfterSeq, m.ID)
	case *agenda.WireOp:
		key := b.key(ctx, ser, role)
		op, err := d.Op()
		ownerByRole(&op, ser)
		if err == nil && op.Kind == agenda.OpAdd && op.Add.Kind == agenda.KindPrivateNote && b.opt.Capability {
			err = errs.Invalidf("add.kind", "private notes are off while the daemon runs without sign-in (capability mode)")
		}
		var res agenda.Result
		if err == nil {
			if key == "" {
				err = errs.ErrNotFound
			} else {
				res, err = b.opt.Agenda.Apply(ctx, actor, room, key, op)
			}
		}
		if err != nil {
			b.send(room, role, signal.Message{Type: MsgError, ID: m.ID, Data: opErrorLog(d.ID, err, b.opt.Logger)})
			return
		}
		b.send(room, role, signal.Message{Type: agenda.MsgResult, ID: m.ID, Data: res})
	case *agenda.Typing:
		if d.Item == "" {
			return
		}
		msg := signal.Message{Type: agenda.MsgTyping, Data: agenda.Typing{Item: d.Item, Role: agenda.Role(role)}}
		b.relayTyping(room, role, msg)
		if b.opt.Hub != nil {
			b.opt.Hub.typingFromRoom(room, agenda.Role(role), msg)
		}
	default:
		b.send(room, role, signal.ErrorMessage(&signal.ProtocolError{Code: signal.CodeBadState, ID: m.ID,
			Message: string(m.Type) + " is sent by the server"}))
	}
}

// state caches the series' two e-mails for publishing (which must not
// touch the store), refreshed at every message.
func (b *Room) state(ser calendar.Series) *roomState {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.rooms[ser.ID]
	if st == nil {
		st = &roomState{}
		b.rooms[ser.ID] = st
	}
	st.emails = [2]string{strings.ToLower(ser.Manager.Email), strings.ToLower(ser.Report.Email)}
	return st
}

// Forget drops a room's cached state (when the room closes).
func (b *Room) Forget(room string) {
	b.mu.Lock()
	delete(b.rooms, room)
	b.mu.Unlock()
}

func (b *Room) key(ctx context.Context, ser calendar.Series, role string) string {
	b.mu.Lock()
	k := b.rooms[ser.ID].keys[slot(role)]
	b.mu.Unlock()
	if k != "" {
		return k
	}
	k, err := CurrentOccurrence(ctx, b.opt.Series, ser, b.opt.Now())
	if err != nil {
		return ""
	}
	return k
}

func (b *Room) send(room, role string, m signal.Message) {
	if b.opt.Send == nil {
		return
	}
	if err := b.opt.Send(room, role, m); err != nil && !errors.Is(err, signal.ErrSlow) {
		b.opt.Logger.Debug("agenda: send to room", "room", room, "role", role, "err", err)
	}
}

func (b *Room) sync(ctx context.Context, room, role string, actor agenda.Actor, key string, after int64, msgID string) {
	const maxReplay = 500
	if after > 0 {
		evs, err := b.opt.Agenda.History(ctx, actor, room, key, after, maxReplay+1)
		if err == nil && len(evs) <= maxReplay {
			for _, ev := range evs {
				if ev.VisibleTo != "" && b.opt.Capability {
					continue
				}
				b.send(room, role, signal.Message{Type: agenda.MsgEvent, Data: ev})
			}
			return
		}
	}
	snap, err := b.opt.Agenda.List(ctx, actor, room, key)
	if err != nil {
		b.send(room, role, signal.Message{Type: MsgError, ID: msgID, Data: opErrorLog("", err, b.opt.Logger)})
		return
	}
	if b.opt.Capability {
		items := snap.Items[:0]
		for _, it := range snap.Items {
			if it.Kind != agenda.KindPrivateNote {
				items = append(items, it)
			}
		}
		snap.Items = items
	}
	b.send(room, role, signal.Message{Type: agenda.MsgSnapshot, ID: msgID, Data: snap})
}

// publish hands a committed event to the room's participants that may
// see it. Called from Hub.Publish, under the series' lock: no store access.
func (b *Room) publish(seriesID string, ev agenda.Event) {
	if ev.VisibleTo != "" && b.opt.Capability {
		return
	}
	b.mu.Lock()
	st := b.rooms[seriesID]
	var emails [2]string
	if st != nil {
		emails = st.emails
	}
	b.mu.Unlock()
	if st == nil {
		return // nobody in the room has asked for the agenda
	}
	msg := signal.Message{Type: agenda.MsgEvent, Data: ev}
	for i, role := range []string{string(agenda.RoleManager), string(agenda.RoleReport)} {
		if emails[i] != "" && ev.For(emails[i]) {
			b.send(seriesID, role, msg)
		}
	}
}

// relayTyping sends msg to the participant who is not fromRole.
func (b *Room) relayTyping(room, fromRole string, msg signal.Message) {
	other := string(agenda.RoleReport)
	if fromRole == string(agenda.RoleReport) {
		other = string(agenda.RoleManager)
	}
	b.mu.Lock()
	_, known := b.rooms[room]
	b.mu.Unlock()
	if known {
		b.send(room, other, msg)
	}
}

func opErrorLog(opID string, err error, log *slog.Logger) *OpError {
	return opError(opID, err, &Handler{log: log})
}

// ownerByRole lets a client name an action item's owner by role
// ("manager", "report") when it does not know the e-mails (the room
// page): the e-mail of that person of the series replaces it.
func ownerByRole(op *agenda.Op, ser calendar.Series) {
	conv := func(v string) string {
		switch v {
		case string(agenda.RoleManager):
			return ser.Manager.Email
		case string(agenda.RoleReport):
			return ser.Report.Email
		}
		return v
	}
	if op.Add != nil && op.Add.Kind == agenda.KindAction {
		op.Add.Owner = conv(op.Add.Owner)
	}
	if op.Kind == agenda.OpEdit && op.Field == agenda.FieldOwner {
		op.Value = conv(op.Value)
	}
}
