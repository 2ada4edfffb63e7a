package calendar_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/store"
)

// feedProvider serves one event as the calendar's only change and takes
// every write: what a server that stores anything would look like.
type feedProvider struct{ ev calendar.Event }

func (p *feedProvider) PutEvent(_ context.Context, e calendar.Event, _ string) (calendar.EventRef, error) {
	return calendar.EventRef{UID: e.UID, Href: "/c/" + e.UID + ".ics", ETag: "ours"}, nil
}
func (p *feedProvider) DeleteEvent(context.Context, calendar.EventRef, string) error { return nil }
func (p *feedProvider) GetEvent(context.Context, calendar.EventRef) (calendar.Event, error) {
	return p.ev, nil
}
func (p *feedProvider) Changes(context.Context, string) (calendar.Changes, error) {
	return calendar.Changes{Updated: []calendar.Event{p.ev}, Cursor: "c"}, nil
}

// Whatever event a server hands back for one of our series (fuzzed
// iCalendar, read by the real parser), a round neither panics nor fails:
// values we cannot keep are skipped, so the calendar is never stuck.
func FuzzPullEvent(f *testing.F) {
	seeds := []string{
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Asia/Tokyo:20261201T140000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Asia/Tokyo:20261215T140000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=Asia/Tokyo:20261208T140000\r\nDTSTART;TZID=Asia/Tokyo:20261209T110000\r\nDTEND;TZID=Asia/Tokyo:20261209T113000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:99991231T235959Z\r\nDURATION:PT30M\r\nRRULE:FREQ=YEARLY;COUNT=1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:00010101T000000Z\r\nDURATION:PT0S\r\nRRULE:FREQ=SECONDLY\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20261201\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261201\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID:20261201T010000Z\r\nDTSTART:20261201T010000Z\r\nATTENDEE;PARTSTAT=DECLINED:mailto:ren@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(f.TempDir(), "db.sqlite"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := caldav.ParseEvent(data)
		if err != nil {
			return // a BadObject: reported and skipped before the reconciler sees it
		}
		ctx := context.Background()
		i := n.Add(1)
		id := fmt.Sprintf("s_%d", i)
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		if err := st.CreateSeries(ctx, calendar.Series{ID: id, Manager: calendar.Person{Email: fmt.Sprintf("m%d@example.com", i)},
			Report: calendar.Person{Email: "ren@example.com"}, Start: time.Date(2026, 12, 1, 14, 0, 0, 0, tokyo),
			Timezone: "Asia/Tokyo", Cadence: "weekly", Duration: 30 * time.Minute, Calendar: "fuzz-" + id,
			State: calendar.StateActive}); err != nil {
			t.Fatal(err)
		}
		ev.UID, ev.Href, ev.ETag = calendar.EventUID(id), "/c/"+calendar.EventUID(id)+".ics", "theirs"
		p := &feedProvider{ev: ev}
		rec, err := calendar.NewReconciler(calendar.ReconcilerConfig{CalendarID: "fuzz-" + id, Provider: p,
			Store: st, SyncStore: st, BuildEvent: synctest.BuildEvent, Now: func() time.Time { return synctest.Now }})
		if err != nil {
			t.Fatal(err)
		}
		for round := range 3 {
			began := time.Now()
			if err := rec.SyncOnce(ctx); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Fatalf("round %d took %v", round, d)
			}
		}
	})
}
