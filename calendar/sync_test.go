package calendar_test

import (
	"testing"

	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/internal/davtest"
)

// The reconciler's scenario suite on real CalDAV servers. The Google
// provider runs the same suite from its own package:
// synctest.Run(t, func(t testing.TB) synctest.Backend { … googlefake … }).
func TestSyncRadicale(t *testing.T) {
	synctest.Run(t, func(t testing.TB) synctest.Backend { return synctest.CalDAV(t, davtest.Radicale(t)) })
}

func TestSyncXandikos(t *testing.T) {
	synctest.Run(t, func(t testing.TB) synctest.Backend { return synctest.CalDAV(t, davtest.Xandikos(t)) })
}
