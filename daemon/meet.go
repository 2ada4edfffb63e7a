package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/oneonone/oneonone/api"
	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/meet"
	"github.com/oneonone/oneonone/meet/sfu"
	"github.com/oneonone/oneonone/meet/signal"
	"github.com/oneonone/oneonone/store"
)

// rooms hands the metrics layer the rooms' gauges before the rooms exist:
// metrics is built first because the rooms report meetings to it.
type rooms struct{ svc atomic.Pointer[meet.Service] }

func (r *rooms) stats() (int, int) {
	if s := r.svc.Load(); s != nil {
		return s.Stats()
	}
	return 0, 0
}

// startMeet opens the media ports and builds the rooms. A port that is
// taken is an error naming its configuration key.
func startMeet(cfg config.Config, st *store.Store, ident meet.Identities, observe func(string, time.Duration), ag *agendaParts, logger *slog.Logger) (*meet.Service, error) {
	var ice []signal.ICEServer
	for _, u := range cfg.Media.STUNServers {
		ice = append(ice, signal.ICEServer{URLs: []string{u}})
	}
	for _, t := range cfg.Media.TURN {
		ice = append(ice, signal.ICEServer{URLs: t.URLs, Username: t.Username, Credential: t.Password.Reveal()})
	}
	svc, err := meet.New(meet.Options{
		Store:    st,
		Identity: ident,
		Media: sfu.Config{
			UDPPort:    cfg.Media.UDPPort,
			TCPPort:    cfg.Media.TCPPort,
			PublicIP:   cfg.Media.PublicIP,
			ICEServers: ice,
			OnMessage:  ag.room.OnMessage, // agenda.* messages of the room's WebSocket
		},
		Signal:         signal.Options{Codec: ag.codec},
		PublicURL:      cfg.BaseURL(),
		MinHeld:        cfg.Attendance.MinHeld,
		ObserveMeeting: observe,
		Logger:         logger,
	})
	if err != nil {
		return nil, mediaPortError(cfg, err)
	}
	logger.Info("media listening", "udp", svc.SFU().UDPAddr().String(), "tcp", addrString(svc.SFU().TCPAddr()))
	return svc, nil
}

func addrString(a net.Addr) string {
	if a == nil || a == (*net.TCPAddr)(nil) {
		return ""
	}
	return a.String()
}

// mediaPortError names the configuration key of a media socket that could
// not be opened, so an operator knows what to change.
func mediaPortError(cfg config.Config, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		key, port := "media.udp_port", cfg.Media.UDPPort
		if op.Net == "tcp" || op.Net == "tcp4" || op.Net == "tcp6" {
			key, port = "media.tcp_port", cfg.Media.TCPPort
		}
		return fmt.Errorf("%s: cannot listen on port %d (in use by another program, or not allowed); choose another %s: %w", key, port, key, err)
	}
	return err
}

// meetAPI adapts the rooms to what the API serves.
type meetAPI struct{ svc *meet.Service }

func (m meetAPI) Links(ctx context.Context, seriesID string) (string, string, error) {
	return m.svc.Links(ctx, seriesID)
}

func (m meetAPI) Attendance(ctx context.Context, seriesID string, from, to time.Time) ([]api.Attendance, error) {
	rows, err := m.svc.Attendance(ctx, seriesID, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]api.Attendance, len(rows))
	for i, a := range rows {
		out[i] = api.Attendance{Occurrence: a.Occurrence, Email: a.Email, Role: a.Role, Joined: a.Joined, Left: a.Left}
	}
	return out, nil
}
