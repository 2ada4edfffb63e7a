package browsertest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/daemontest"

	"github.com/oneonone/oneonone/config"
)

// server is a real daemon (internal/daemontest) with the names these
// tests use.
type server struct {
	*daemontest.Server
	t       *testing.T
	url     string
	dataDir string
	token   string
	stop    func() error // shut the daemon down as SIGTERM does
}

func wrap(d *daemontest.Server) *server {
	return &server{Server: d, t: d.T, url: d.URL, dataDir: d.DataDir, token: d.Token, stop: d.Stop}
}

// startDaemon runs the daemon in-process, in e-mail sign-in mode by
// default, so a personal link is the only way in and strangers are refused.
func startDaemon(t *testing.T, change func(*config.Config)) *server {
	t.Helper()
	return wrap(daemontest.Start(t, change))
}

// startDaemonOn is startDaemon with the web server on host (an address of
// this machine), which is also the public URL's host.
func startDaemonOn(t *testing.T, host string, change func(*config.Config)) *server {
	t.Helper()
	return wrap(daemontest.StartOn(t, host, change))
}

func (s *server) api(method, path string, body any, out any) {
	s.t.Helper()
	s.API(method, path, body, out)
}

// pair is a series whose occurrence is under way, and its personal links.
type pair struct {
	ID           string
	Manager      string // personal link
	Report       string
	ManagerEmail string
	ReportEmail  string
	ManagerName  string
	ReportName   string
}

// createPair adds a weekly series that started five minutes ago (so the
// page counts down a real slot) and fetches its personal links.
func (s *server) createPair(manager, report string) pair {
	s.t.Helper()
	tz := "Asia/Tokyo"
	loc, err := time.LoadLocation(tz)
	if err != nil {
		s.t.Fatal(err)
	}
	start := time.Now().Add(-5 * time.Minute).In(loc).Format("2006-01-02T15:04:05")
	p := pair{ManagerName: manager, ReportName: report,
		ManagerEmail: strings.ToLower(manager) + "@example.com", ReportEmail: strings.ToLower(report) + "@example.com"}
	var se struct {
		ID string `json:"id"`
	}
	s.api("POST", "/api/v1/series", map[string]any{
		"manager": map[string]string{"email": p.ManagerEmail, "name": manager},
		"report":  map[string]string{"email": p.ReportEmail, "name": report},
		"start":   start, "timezone": tz, "cadence": "weekly", "duration": "30m",
	}, &se)
	p.ID = se.ID
	var links struct {
		Manager string `json:"manager"`
		Report  string `json:"report"`
	}
	s.api("GET", "/api/v1/series/"+se.ID+"/links", nil, &links)
	if !strings.Contains(links.Manager, "/r/"+se.ID) || !strings.Contains(links.Report, "/r/"+se.ID) {
		s.t.Fatalf("links %+v for series %s", links, se.ID)
	}
	p.Manager, p.Report = links.Manager, links.Report
	return p
}

func (p pair) String() string {
	return fmt.Sprintf("series %s (%s, %s)", p.ID, p.ManagerName, p.ReportName)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, port, _ := net.SplitHostPort(c.LocalAddr().String())
		return port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
