package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/signal"
)

// applyTimeout bounds one operation sent over a socket.
const applyTimeout = 10 * time.Second

// ws serves the agenda page's live updates: GET /agenda/ws?series=&key=
// with the person's session. It sends a snapshot first, then every change
// the person may see; the client sends agenda.op, agenda.sync and
// agenda.typing in the room's envelope.
func (h *Handler) ws(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	seriesID, key := r.URL.Query().Get("series"), r.URL.Query().Get("key")
	role, err := h.ag.Role(r.Context(), actor.Email, seriesID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	actor.Role = role
	snap, err := h.snapshot(r.Context(), actor, seriesID, key)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	wsc, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.origins})
	if err != nil {
		h.log.Info("agenda: websocket refused", "err", err)
		return
	}
	conn := signal.NewWSConn(wsc, signal.Options{Codec: h.wsCodec, QueueSize: 256, Logger: h.log})
	sub := &subscriber{key: key, email: actor.Email, role: role, conn: conn}
	// Subscribe before the snapshot is sent: an event committed between the
	// two arrives after it with a higher seq, and the client skips seqs it
	// already has.
	h.hub.add(seriesID, sub)
	defer h.hub.remove(seriesID, sub)
	conn.Send(signal.Message{Type: agenda.MsgSnapshot, Data: snap})
	h.serve(r.Context(), conn, actor, seriesID, key, sub)
	conn.Close("bye")
}

func (h *Handler) snapshot(ctx context.Context, actor agenda.Actor, seriesID, key string) (agenda.Agenda, error) {
	a, err := h.ag.List(ctx, actor, seriesID, key)
	if err != nil {
		return agenda.Agenda{}, err
	}
	a.Items = h.visible(a.Items)
	return a, nil
}

func (h *Handler) serve(ctx context.Context, conn *signal.WSConn, actor agenda.Actor, seriesID, key string, sub *subscriber) {
	for {
		m, err := conn.Receive(ctx)
		var pe *signal.ProtocolError
		if errors.As(err, &pe) {
			conn.Send(signal.ErrorMessage(pe))
			continue
		}
		if err != nil {
			return
		}
		switch d := m.Data.(type) {
		case *agenda.WireOp:
			h.applyOp(ctx, conn, actor, seriesID, key, m.ID, d)
		case *agenda.Sync:
			if d.Occurrence != "" && d.Occurrence != key {
				conn.Send(signal.Message{Type: MsgError, ID: m.ID, Data: &OpError{Code: "invalid_argument",
					Message: "this socket follows occurrence " + key, Field: "occurrence"}})
				continue
			}
			h.sync(ctx, conn, actor, seriesID, key, d.AfterSeq, m.ID)
		case *agenda.Typing:
			if d.Item == "" {
				continue
			}
			h.hub.typing(seriesID, key, sub, agenda.Typing{Item: d.Item, Role: actor.Role})
		default:
			conn.Send(signal.ErrorMessage(&signal.ProtocolError{Code: signal.CodeBadState, ID: m.ID,
				Message: string(m.Type) + " is not accepted on the agenda socket"}))
		}
	}
}

// applyOp applies one op and answers its sender with the Result (a
// conflict included) or an agenda.error.
func (h *Handler) applyOp(ctx context.Context, conn signal.Conn, actor agenda.Actor, seriesID, key, msgID string, w *agenda.WireOp) {
	op, err := w.Op()
	if err == nil && (op.Add != nil && op.Add.Kind == agenda.KindAction || op.Field == agenda.FieldOwner) {
		if ser, serr := h.series.GetSeries(ctx, seriesID); serr == nil {
			ownerByRole(&op, ser)
		}
	}
	if err == nil && op.Kind == agenda.OpAdd && op.Add.Kind == agenda.KindPrivateNote && !h.privateOK {
		err = errs.Invalidf("add.kind", "private notes are off while the daemon runs without sign-in (capability mode)")
	}
	var res agenda.Result
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		res, err = h.ag.Apply(ctx, actor, seriesID, key, op)
		cancel()
	}
	if err != nil {
		conn.Send(signal.Message{Type: MsgError, ID: msgID, Data: opError(w.ID, err, h)})
		return
	}
	conn.Send(signal.Message{Type: agenda.MsgResult, ID: msgID, Data: res})
}

// opError describes a refused op without echoing item text.
func opError(opID string, err error, h *Handler) *OpError {
	e := &OpError{OpID: opID}
	switch inv, ok := errs.AsInvalid(err); {
	case ok:
		e.Code, e.Message, e.Field = "invalid_argument", inv.Message, inv.Field
	case errors.Is(err, errs.ErrNotFound):
		e.Code, e.Message = "not_found", "no such item in this occurrence"
	case errors.Is(err, errs.ErrConflict):
		e.Code, e.Message = "conflict", "that id is already taken"
	case errors.Is(err, errs.ErrForbidden), errors.Is(err, errs.ErrUnauthorized):
		e.Code, e.Message = "forbidden", "only the two people of this 1on1 change its agenda"
	default:
		h.log.Error("agenda: op failed", "op", opID, "err", err)
		e.Code, e.Message = "internal", "the change could not be saved; try again"
	}
	return e
}

// sync sends what a client missed after seq, or a snapshot when it has
// nothing (seq 0) or missed too much.
func (h *Handler) sync(ctx context.Context, conn signal.Conn, actor agenda.Actor, seriesID, key string, after int64, msgID string) {
	const maxReplay = 500
	if after > 0 {
		evs, err := h.ag.History(ctx, actor, seriesID, key, after, maxReplay+1)
		if err == nil && len(evs) <= maxReplay {
			for _, ev := range evs {
				if ev.Item.Kind == agenda.KindPrivateNote && !h.privateOK {
					continue
				}
				conn.Send(signal.Message{Type: agenda.MsgEvent, Data: ev})
			}
			return
		}
	}
	snap, err := h.snapshot(ctx, actor, seriesID, key)
	if err != nil {
		conn.Send(signal.Message{Type: MsgError, ID: msgID, Data: opError("", err, h)})
		return
	}
	conn.Send(signal.Message{Type: agenda.MsgSnapshot, ID: msgID, Data: snap})
}
