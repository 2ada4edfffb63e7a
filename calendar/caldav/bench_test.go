package caldav_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/davtest"
)

// BenchmarkNoChangePoll measures a poll of a calendar where nothing
// changed, with 100 and 1,000 series events, on both servers: our
// Changes (sync-collection), and for comparison the way a client without
// sync does it (an ETag listing, as vdirsyncer). Seeding happens once per
// calendar, outside the timer, straight into the server's storage. Run it short:
//
//	go test -run '^$' -bench NoChangePoll -benchtime 5x ./calendar/caldav/
func BenchmarkNoChangePoll(b *testing.B) {
	servers := []struct {
		name  string
		start func(testing.TB) davtest.Server
	}{{"radicale", davtest.Radicale}, {"xandikos", davtest.Xandikos}}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			s := srv.start(b)
			trimmed := strings.TrimSuffix(s.URL, "/")
			parent := trimmed[:strings.LastIndex(trimmed, "/")+1]
			for _, n := range []int{100, 1000} {
				ctx := context.Background()
				url := fmt.Sprintf("%sbench%d/", parent, n)
				if err := s.MakeCalendar(ctx, url); err != nil {
					b.Fatal(err)
				}
				counter := &caldav.RequestCounter{}
				cal, err := caldav.Open(ctx, caldav.Config{URL: url, Username: s.Username, Password: s.Password,
					HTTPClient: &http.Client{Transport: counter, Timeout: time.Minute}}, "")
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				seed(b, s, cal, n)
				seeded := time.Since(t0)
				counter.Reset()
				t0 = time.Now()
				full, err := cal.Changes(ctx, "")
				if err != nil || len(full.Updated) != n {
					b.Fatalf("full listing: %d events, %v", len(full.Updated), err)
				}
				b.Logf("%s, %d events: seeding %v; full listing %v in %d requests", srv.name, n, seeded.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), counter.Count())

				b.Run(fmt.Sprintf("events=%d/sync", n), func(b *testing.B) {
					counter.Reset()
					for b.Loop() {
						ch, err := cal.Changes(ctx, full.Cursor)
						if err != nil || len(ch.Updated)+len(ch.Deleted) != 0 {
							b.Fatalf("no-change poll: %+v, %v", ch, err)
						}
					}
					b.ReportMetric(float64(counter.Count())/float64(b.N), "requests/op")
				})
				b.Run(fmt.Sprintf("events=%d/etag-listing", n), func(b *testing.B) {
					for b.Loop() {
						if got, err := s.ListETags(ctx, url); err != nil || got != n {
							b.Fatalf("listing: %d objects, %v", got, err)
						}
					}
					b.ReportMetric(1, "requests/op")
				})
			}
		})
	}
}

// seed stores n series events straight into the server's storage (a PUT
// costs ~30 ms on both servers, one at a time).
func seed(b *testing.B, s davtest.Server, cal *caldav.Calendar, n int) {
	b.Helper()
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	objects := make(map[string]string, n)
	for i := range n {
		ev := calendar.Event{UID: fmt.Sprintf("s_bench%05d@oneonone", i), Start: time.Date(2026, 12, 1, 9+i%8, 0, 0, 0, tokyo),
			Duration: 30 * time.Minute, RRule: "FREQ=WEEKLY", Summary: "1on1", Sequence: 1,
			Organizer: calendar.Attendee{Email: "aiko@example.com"},
			Attendees: []calendar.Attendee{{Email: fmt.Sprintf("r%d@example.com", i)}}}
		ical, err := icsfeed.EventCalendar(ev, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := icsfeed.Encode(&buf, ical); err != nil {
			b.Fatal(err)
		}
		href := cal.Href(ev.UID)
		objects[href[strings.LastIndex(href, "/")+1:]] = buf.String()
	}
	s.Seed(b, cal.URL(), objects)
}
