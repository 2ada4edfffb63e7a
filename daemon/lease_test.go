package daemon

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/internal/davtest"
	"github.com/oneonone/oneonone/internal/pgtest"
)

// TestOneDaemonSyncsACalendar: of two daemons sharing one PostgreSQL, one
// holds a calendar's sync lease and the other stands by; when the holder
// stops, the other takes over.
func TestOneDaemonSyncsACalendar(t *testing.T) {
	s := davtest.Radicale(t)
	dsn := pgtest.DSN(t)
	shared := func(c *config.Config) {
		c.Store.DSN = dsn
		c.Calendars = []config.CalendarConfig{{ID: "team", CalDAV: &config.CalDAVConfig{
			URL: s.URL, Username: s.Username, Password: config.NewSecret(s.Password)}}}
		c.Sync.Interval = 100 * time.Millisecond
	}
	a := startWith(t, filepath.Join(t.TempDir(), "a"), shared)
	b := startWith(t, filepath.Join(t.TempDir(), "b"), shared)

	waitLog := func(d *running, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(d.logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in logs:\n%s", want, d.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const standBy = "another daemon holds the sync lease"
	holder, other := a, b
	deadline := time.Now().Add(10 * time.Second)
	for {
		aWaits, bWaits := strings.Contains(a.logs.String(), standBy), strings.Contains(b.logs.String(), standBy)
		if aWaits && bWaits {
			t.Fatalf("both daemons stand by:\n%s\n%s", a.logs, b.logs)
		}
		if aWaits || bWaits {
			if aWaits {
				holder, other = b, a
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither daemon stands by: both sync the calendar\n%s\n%s", a.logs, b.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := holder.stop(); err != nil {
		t.Fatal(err)
	}
	waitLog(other, "sync lease taken over")
}
