package daemon

// Agenda wiring: the agenda service commits each operation in the store,
// then its Hub fans the change out to the agenda pages' sockets and,
// through the room bridge, to the room's participants over meet's
// WebSocket (the agenda.* types registered on the room's codec).

import (
	"log/slog"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/agenda/httpapi"
	"github.com/oneonone/oneonone/agenda/remind"
	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/meet/signal"
	"github.com/oneonone/oneonone/metrics"
	"github.com/oneonone/oneonone/store"
	"github.com/oneonone/oneonone/web/home"
)

// agendaParts are the agenda pieces the rooms and the mux need.
type agendaParts struct {
	svc   *agenda.Service
	hub   *httpapi.Hub
	room  *httpapi.Room
	http  *httpapi.Handler
	codec *signal.Codec // the room's codec, with the agenda.* types
	pages *home.Handler
}

// routes are the agenda's REST, WebSocket and page routes, for the mux.
func (a *agendaParts) routes() []httpapi.Route {
	rts := a.http.Routes()
	for _, rt := range a.pages.Routes() {
		rts = append(rts, httpapi.Route{Method: rt.Method, Pattern: rt.Pattern, Handler: rt.Handler})
	}
	return rts
}

// newAgenda builds the agenda service and its live-update plumbing. The
// room bridge sends through rms, which holds the rooms once they exist.
func newAgenda(cfg config.Config, st *store.Store, ident *identity.Service, m *metrics.Metrics, rms *rooms, logger *slog.Logger) (*agendaParts, error) {
	hub := httpapi.NewHub()
	svc, err := agenda.New(agenda.Options{Store: st, Series: st, Broadcaster: hub, Observer: m, Logger: logger})
	if err != nil {
		return nil, err
	}
	codec := signal.NewCodec()
	if err := httpapi.RegisterCodec(codec); err != nil {
		return nil, err
	}
	room := httpapi.NewRoom(httpapi.RoomOptions{
		Agenda: svc, Series: st, Hub: hub, Logger: logger,
		Capability: ident.Mode() == identity.ModeCapability,
		Send: func(roomID, role string, msg signal.Message) error {
			if s := rms.svc.Load(); s != nil {
				return s.SFU().Send(roomID, role, msg)
			}
			return nil
		},
	})
	h := httpapi.New(httpapi.Options{Agenda: svc, Identity: ident, Series: st, Hub: hub,
		PublicURL: cfg.BaseURL(), MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: logger})
	pages, err := home.New(home.Options{Agenda: svc, Identity: ident, Store: st, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &agendaParts{svc: svc, hub: hub, room: room, http: h, codec: codec, pages: pages}, nil
}

// startReminders runs the agenda's e-mail reminders among the daemon's
// background loops when an SMTP relay is configured.
func startReminders(w *workers, cfg config.Config, st *store.Store, ag *agendaParts, ident *identity.Service, logger *slog.Logger) {
	if !cfg.SMTP.Enabled() {
		logger.Info("no smtp relay configured: agenda reminders are not mailed")
		return
	}
	m := cfg.SMTP
	r := remind.New(remind.Options{
		Store: st, Agenda: ag.svc, PersonalLink: ident.PersonalLink, Before: cfg.Agenda.ReminderBefore, Logger: logger,
		Mailer: &identity.SMTPMailer{Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password.Reveal(), From: m.From, StartTLS: m.StartTLS},
	})
	w.run("agenda reminders", r.Run)
}
