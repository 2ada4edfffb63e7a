package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestPeopleAndFeeds(t *testing.T) {
	f := newFixture(t)
	s1 := f.create(seriesBody("aiko@example.com", "ren@example.com"))
	s2 := f.create(seriesBody("ren@example.com", "kai@example.com"))
	f.create(seriesBody("mei@example.com", "sora@example.com"))

	var all peopleList
	f.do("GET", "/api/v1/people", nil).json(t, &all)
	if len(all.People) != 5 {
		t.Fatalf("%d people, want 5: %+v", len(all.People), all.People)
	}

	res := f.do("GET", "/api/v1/people?email=Ren@Example.com", nil)
	if res.Code != 200 {
		t.Fatalf("people: %d %s", res.Code, res.Body)
	}
	var one peopleList
	res.json(t, &one)
	if len(one.People) != 1 || one.People[0].Email != "ren@example.com" {
		t.Fatalf("people?email = %+v", one.People)
	}
	feedURL := one.People[0].FeedURL
	if !strings.HasPrefix(feedURL, testPublicURL+"/ical/") || !strings.HasSuffix(feedURL, ".ics") {
		t.Fatalf("feed_url = %q", feedURL)
	}
	var again peopleList
	f.do("GET", "/api/v1/people?email=ren@example.com", nil).json(t, &again)
	if again.People[0].FeedURL != feedURL {
		t.Errorf("feed URL changed between reads: %q, %q", feedURL, again.People[0].FeedURL)
	}
	var none peopleList
	f.do("GET", "/api/v1/people?email=nobody@example.com", nil).json(t, &none)
	if len(none.People) != 0 {
		t.Errorf("unknown e-mail lists %+v", none.People)
	}

	// The feed is public: the URL is the credential.
	path := strings.TrimPrefix(feedURL, testPublicURL)
	feed := f.do("GET", path, nil, "Authorization", "")
	if feed.Code != 200 {
		t.Fatalf("feed: %d %s", feed.Code, feed.Body)
	}
	if ct := feed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("feed Content-Type = %q", ct)
	}
	body := string(feed.Body)
	if !strings.Contains(body, "BEGIN:VCALENDAR") {
		t.Errorf("feed is not iCalendar:\n%s", body)
	}
	// Ren is in two series, as report and as manager; both are in the feed.
	for _, s := range []seriesJSON{s1, s2} {
		if !strings.Contains(unfold(body), s.RoomURL) {
			t.Errorf("feed lacks the room of %s (%s):\n%s", s.ID, s.RoomURL, body)
		}
	}

	for _, p := range []string{"/ical/not-a-token.ics", "/ical/.ics", strings.TrimSuffix(path, ".ics"), path + "x"} {
		if res := f.do("GET", p, nil, "Authorization", ""); res.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.Code)
		}
	}

	rot := f.do("POST", "/api/v1/people/ren@example.com/feed/rotate", nil)
	if rot.Code != 200 {
		t.Fatalf("rotate: %d %s", rot.Code, rot.Body)
	}
	var rotated personJSON
	rot.json(t, &rotated)
	if rotated.Email != "ren@example.com" || rotated.FeedURL == feedURL || !strings.HasSuffix(rotated.FeedURL, ".ics") {
		t.Fatalf("rotated = %+v (old %q)", rotated, feedURL)
	}
	if res := f.do("GET", path, nil, "Authorization", ""); res.Code != http.StatusNotFound {
		t.Errorf("old feed after rotation: %d, want 404", res.Code)
	}
	if res := f.do("GET", strings.TrimPrefix(rotated.FeedURL, testPublicURL), nil, "Authorization", ""); res.Code != 200 {
		t.Errorf("new feed: %d", res.Code)
	}
	if res := f.do("POST", "/api/v1/people/nobody@example.com/feed/rotate", nil); res.Code != http.StatusNotFound {
		t.Errorf("rotate unknown person: %d %s, want 404", res.Code, res.Body)
	}
	if res := f.do("POST", "/api/v1/people/ren@example.com/feed/rotate", nil, "Authorization", ""); res.Code != http.StatusUnauthorized {
		t.Errorf("rotate without token: %d, want 401", res.Code)
	}
}

// unfold undoes iCalendar line folding (RFC 5545 §3.1).
func unfold(s string) string {
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(s)
}

func TestImportSeries(t *testing.T) {
	f := newFixture(t)
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
	csv := strings.Join([]string{
		"manager_email,report_email,manager_name,report_name,team,start,timezone,cadence,duration,calendar",
		"aiko@example.com,kai@example.com,Aiko,Kai,platform,2026-12-01T10:00,Asia/Tokyo,weekly,30m,",
		"aiko@example.com,ren@example.com,Aiko,Ren,platform,2026-12-01T11:00,Asia/Tokyo,weekly,30m,",
		"mei@example.com,sora@example.com,Mei,Sora,design,2026-12-02T09:00,Asia/Tokio,biweekly,45m,",
		"mei@example.com,yui@example.com,Mei,Yui,design,2026-12-02T09:30,Europe/Berlin,monthly,1h,",
		"mei@example.com,not-an-email,Mei,?,design,2026-12-02T09:30,Europe/Berlin,monthly,1h,",
	}, "\n") + "\n"

	res := f.do("POST", "/api/v1/series/import", csv, "Content-Type", "text/csv")
	if res.Code != 200 {
		t.Fatalf("import: %d %s", res.Code, res.Body)
	}
	var rep importReport
	res.json(t, &rep)
	if got := lines(rep.Created); got != "[2 5]" {
		t.Errorf("created lines %s, want [2 5]: %+v", got, rep)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Line != 3 || rep.Skipped[0].Reason != "already exists" {
		t.Errorf("skipped = %+v, want line 3 already exists", rep.Skipped)
	}
	if len(rep.Errors) != 2 || rep.Errors[0].Line != 4 || rep.Errors[0].Field != "timezone" || rep.Errors[1].Line != 6 {
		t.Errorf("errors = %+v, want line 4 (timezone) and line 6", rep.Errors)
	}
	for _, c := range rep.Created {
		var s seriesJSON
		if r := f.do("GET", "/api/v1/series/"+c.ID, nil); r.Code != 200 {
			t.Errorf("created %s: GET %d", c.ID, r.Code)
		} else {
			r.json(t, &s)
		}
		if c.Line == 5 && (s.Timezone != "Europe/Berlin" || s.Cadence != "monthly" || s.Duration != "1h" || s.Team != "design") {
			t.Errorf("line 5 stored as %+v", s)
		}
	}
	if n := f.count(); n != 3 {
		t.Errorf("%d series after import, want 3", n)
	}

	// Importing the same file again creates nothing.
	var second importReport
	f.do("POST", "/api/v1/series/import", csv, "Content-Type", "text/csv").json(t, &second)
	if len(second.Created) != 0 || len(second.Skipped) != 3 || len(second.Errors) != 2 {
		t.Errorf("re-import = %+v, want 0 created, 3 skipped, 2 errors", second)
	}
	if n := f.count(); n != 3 {
		t.Errorf("%d series after re-import, want 3", n)
	}
	if !strings.Contains(string(f.do("POST", "/api/v1/series/import", csv).Body), `"created":[]`) {
		t.Error("empty lists must be [] for clients, not null")
	}

	// Rows without a timezone take ?timezone=.
	var tz importReport
	f.do("POST", "/api/v1/series/import?timezone=America/New_York", "manager_email,report_email,start\nnao@example.com,rio@example.com,2026-12-03T16:00\n").json(t, &tz)
	if len(tz.Created) != 1 {
		t.Fatalf("import with default zone: %+v", tz)
	}
	var s seriesJSON
	f.do("GET", "/api/v1/series/"+tz.Created[0].ID, nil).json(t, &s)
	if s.Timezone != "America/New_York" || s.Start != "2026-12-03T16:00:00" {
		t.Errorf("default-zone row stored as %+v", s)
	}

	bad := []struct {
		name, path, body string
		status           int
	}{
		{"bad default zone", "/api/v1/series/import?timezone=Mars/Olympus", csv, 400},
		{"too large", "/api/v1/series/import", "manager_email,report_email,manager_name\n" + strings.Repeat("a@example.com,b@example.com,"+strings.Repeat("n", 1000)+"\n", (17<<20)/1000), 413},
	}
	for _, tc := range bad {
		before := f.count()
		res := f.do("POST", tc.path, tc.body, "Content-Type", "text/csv")
		if res.Code != tc.status {
			t.Errorf("%s: %d %.200s, want %d", tc.name, res.Code, res.Body, tc.status)
			continue
		}
		res.apiError(t)
		if after := f.count(); after != before {
			t.Errorf("%s: series count %d → %d", tc.name, before, after)
		}
	}
}

func lines(cs []importCreated) string {
	var ls []int
	for _, c := range cs {
		ls = append(ls, c.Line)
	}
	return fmt.Sprint(ls)
}
