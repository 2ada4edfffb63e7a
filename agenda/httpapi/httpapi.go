// Package httpapi owns the agenda's HTTP and WebSocket surface: the REST
// routes of one occurrence's agenda and its items (the pair's own session,
// never the admin token), the agenda page's WebSocket (/agenda/ws), the
// bridge that carries agenda.* messages over the room's WebSocket, and the
// Hub that fans each committed change out to every socket watching it.
//
// It decides nothing about the agenda itself (package agenda does) nor who
// a browser is (package identity does); it never logs item text, and it
// never hands a private note to anyone but its author.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/meet/signal"
)

// Identities says who a browser is (identity.Service satisfies it).
type Identities interface {
	Current(r *http.Request) (identity.Identity, bool)
	Mode() identity.Mode
}

// Series finds a series and its moved or cancelled occurrences
// (store.Store satisfies it).
type Series interface {
	GetSeries(ctx context.Context, id string) (calendar.Series, error)
	ListOverrides(ctx context.Context, seriesID string, from, to time.Time) ([]calendar.Override, error)
}

// Options configure a Handler.
type Options struct {
	Agenda   *agenda.Service
	Identity Identities
	Series   Series
	Hub      *Hub
	// PublicURL's host is accepted as a WebSocket origin beside the
	// request's own host.
	PublicURL    string
	MaxBodyBytes int64 // default 256 KiB
	Logger       *slog.Logger
	Now          func() time.Time
}

// Handler serves the agenda routes.
type Handler struct {
	ag        *agenda.Service
	id        Identities
	series    Series
	hub       *Hub
	origins   []string
	maxBody   int64
	log       *slog.Logger
	now       func() time.Time
	wsCodec   *signal.Codec
	privateOK bool
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 256 << 10
	}
	if opts.Hub == nil {
		opts.Hub = NewHub()
	}
	h := &Handler{ag: opts.Agenda, id: opts.Identity, series: opts.Series, hub: opts.Hub, maxBody: opts.MaxBodyBytes,
		log: opts.Logger, now: opts.Now, wsCodec: signal.NewCodec(),
		privateOK: opts.Identity.Mode() != identity.ModeCapability}
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
		h.origins = []string{u.Host}
	}
	if err := RegisterCodec(h.wsCodec); err != nil {
		panic(err) // a fresh codec has none of the agenda types: cannot happen
	}
	return h
}

// Route is one route to mount on the daemon's mux.
type Route struct {
	Method, Pattern string
	Handler         http.Handler
}

// Routes returns the REST and WebSocket routes. Their patterns are more
// specific than the API's "/" so that Go's ServeMux hands them here, and
// they take the person's session, not the admin token. They are documented
// in the project's one OpenAPI document, api/openapi.json (served at
// /api/v1/openapi.json); the tests of both packages hold the two together.
func (h *Handler) Routes() []Route {
	return []Route{
		{"GET", "/api/v1/series/{id}/occurrences/{key}/agenda", http.HandlerFunc(h.list)},
		{"POST", "/api/v1/series/{id}/occurrences/{key}/agenda", http.HandlerFunc(h.add)},
		{"POST", "/api/v1/series/{id}/occurrences/{key}/agenda/template", http.HandlerFunc(h.template)},
		{"GET", "/api/v1/series/{id}/occurrences/{key}/agenda/history", http.HandlerFunc(h.history)},
		{"GET", "/api/v1/series/{id}/agenda/occurrences", http.HandlerFunc(h.occurrences)},
		{"GET", "/api/v1/series/{id}/agenda/actions", http.HandlerFunc(h.actions)},
		{"PATCH", "/api/v1/series/{id}/agenda/items/{item}", http.HandlerFunc(h.patch)},
		{"DELETE", "/api/v1/series/{id}/agenda/items/{item}", http.HandlerFunc(h.delete)},
		{"GET", "/agenda/ws", http.HandlerFunc(h.ws)},
	}
}

// PrivateNotes reports whether private notes are on: off in capability
// mode, where whoever holds a room link may claim either place.
func (h *Handler) PrivateNotes() bool { return h.privateOK }

// RegisterCodec adds the agenda.* message types to a signaling codec (the
// room's, the agenda page's, or a test client's).
func RegisterCodec(c *signal.Codec) error {
	for t, f := range map[string]func() any{
		agenda.MsgOp:       func() any { return new(agenda.WireOp) },
		agenda.MsgResult:   func() any { return new(agenda.Result) },
		agenda.MsgEvent:    func() any { return new(agenda.Event) },
		agenda.MsgSnapshot: func() any { return new(agenda.Agenda) },
		agenda.MsgSync:     func() any { return new(agenda.Sync) },
		agenda.MsgTyping:   func() any { return new(agenda.Typing) },
		MsgError:           func() any { return new(OpError) },
	} {
		if err := c.Register(signal.Type(t), f); err != nil {
			return err
		}
	}
	return nil
}

// MsgError refuses an agenda.op the server could not apply at all (an
// invalid value, an unknown item, not allowed): the sender learns which
// op and which field. It is not a conflict, which comes as a Result.
const MsgError = "agenda.error"

// OpError is the data of an agenda.error message.
type OpError struct {
	OpID    string `json:"op_id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}
