package calendar_test

import (
	"testing"

	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/internal/davtest"
)

// The reconciler's scenario suite, the same on real CalDAV servers and
// on the Google fake.
func TestSyncRadicale(t *testing.T) {
	synctest.Run(t, func(t testing.TB) synctest.Backend { return synctest.CalDAV(t, davtest.Radicale(t)) })
}

func TestSyncXandikos(t *testing.T) {
	synctest.Run(t, func(t testing.TB) synctest.Backend { return synctest.CalDAV(t, davtest.Xandikos(t)) })
}

func TestSyncGoogleFake(t *testing.T) {
	synctest.Run(t, synctest.Google)
}
