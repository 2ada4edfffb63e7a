package icsfeed

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// A person's feed carries their personal link where the room URL would
// be; the event shared with calendars never does.
func TestJoinURLOnlyInTheFeed(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Tokyo")
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, loc)
	s := calendar.Series{ID: "s_1", Manager: calendar.Person{Email: "aiko@example.com", Name: "Aiko"},
		Report: calendar.Person{Email: "ren@example.com", Name: "Ren"}, Start: start, Timezone: "Asia/Tokyo",
		Cadence: calendar.CadenceWeekly, Duration: 30 * time.Minute, State: calendar.StateActive}
	moved := calendar.Override{SeriesID: "s_1", OriginalStart: start.AddDate(0, 0, 7).UTC(),
		Start: start.AddDate(0, 0, 8), End: start.AddDate(0, 0, 8).Add(30 * time.Minute)}
	const room, personal = "http://x/r/s_1", "http://x/r/s_1?t=v1.personal-token.sig"
	entry := Entry{Series: s, Overrides: []calendar.Override{moved}, RoomURL: room, JoinURL: personal}

	var buf bytes.Buffer
	if err := Write(&buf, s.Report, []Entry{entry}, start.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	feed := strings.ReplaceAll(buf.String(), "\r\n ", "")
	// The master and the moved instance both point at the personal link,
	// in URL, LOCATION and DESCRIPTION.
	for _, prop := range []string{"URL:", "LOCATION:", "DESCRIPTION:"} {
		if n := strings.Count(feed, "\r\n"+prop); n != 2 {
			t.Errorf("%d %s lines, want 2", n, prop)
		}
	}
	if got := strings.Count(feed, personal); got != 6 {
		t.Errorf("personal link appears %d times, want 6 (3 properties × 2 events):\n%s", got, feed)
	}
	if strings.Contains(strings.ReplaceAll(feed, personal, ""), room) {
		t.Errorf("the bare room URL is still in the feed:\n%s", feed)
	}

	ev, err := SeriesEvent(entry, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{ev.URL, ev.Location, ev.Description} {
		if strings.Contains(v, "?t=") || !strings.Contains(v, room) {
			t.Errorf("shared event carries %q", v)
		}
	}
}
