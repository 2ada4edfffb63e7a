package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeSeries throws arbitrary bodies at POST /api/v1/series: the
// server must never panic and never answer 5xx, and every answer is either
// a created series or a JSON error.
func FuzzDecodeSeries(f *testing.F) {
	seeds := []string{
		`{"manager":{"email":"aiko@example.com","name":"Aiko"},"report":{"email":"ren@example.com"},"start":"2026-12-01T10:00","timezone":"Asia/Tokyo"}`,
		`{"manager":{"email":"a@example.com"},"report":{"email":"b@example.com"},"start":"2026-03-29T02:30","timezone":"Europe/Berlin","cadence":"FREQ=WEEKLY;INTERVAL=3","duration":"1h30m"}`,
		`{"manager":{"email":"a@example.com"},"report":{"email":"b@example.com"},"start":"2026-12-01T10:00","timezone":"UTC","cadence":"FREQ=MONTHLY;BYDAY=1TU","state":"paused"}`,
		`{"manager":{"email":"a@example.com"},"report":{"email":"b@example.com"},"start":"9999-12-31T23:59","timezone":"Local","duration":"-1s"}`,
		`{"manager":{"email":"a@example.com"},"report":{"email":"b@example.com"},"start":"2026-12-01T10:00","timezone":"Asia/Tokyo","cadence":"RRULE:FREQ=SECONDLY","team":"\u0000"}`,
		`{"manager":null,"report":[],"start":1,"timezone":true}`,
		`{"manager":{"email":"a@example.com","phone":1}}`,
		`[{}]`, `null`, `"x"`, `{`, ``, `{"team":"` + strings.Repeat("é", 100) + `"}`,
		`{"manager":{"email":"a@example.com"},"report":{"email":"b@example.com"},"start":"2026-12-01T10:00","timezone":"Asia/Tokyo"}{}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	fx := newFixture(f, func(o *Options) { o.MaxBodyBytes = 64 << 10 })
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fx.with(t)
		res := fx.do("POST", "/api/v1/series", body)
		switch res.Code {
		case http.StatusCreated:
			var s seriesJSON
			res.json(t, &s)
			if s.ID == "" {
				t.Fatalf("created without id: %s", res.Body)
			}
			// Whatever was accepted reads back and expands.
			for _, p := range []string{"/api/v1/series/" + s.ID, "/api/v1/series/" + s.ID + "/occurrences?from=2026-01-01&to=2028-01-01"} {
				if r := fx.do("GET", p, nil); r.Code >= 500 {
					t.Fatalf("GET %s after creating from %q: %d %s", p, body, r.Code, r.Body)
				}
			}
			if r := fx.do("DELETE", "/api/v1/series/"+s.ID, nil); r.Code != http.StatusNoContent {
				t.Fatalf("delete: %d", r.Code)
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			res.apiError(t)
		default:
			t.Fatalf("body %q: status %d %s", body, res.Code, res.Body)
		}
	})
}

// FuzzOccurrenceQuery: any from/to query is a 200 or a 400 naming a field.
func FuzzOccurrenceQuery(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-12-01", "2027-03-01"}, {"", ""}, {"2026-12-01T10:00:00+09:00", "2026-12-08T00:00:00Z"},
		{"0001-01-01", "9999-12-31"}, {"2026-02-30", "x"}, {"2026-12-01", "2028-12-01"},
	} {
		f.Add(s[0], s[1])
	}
	fx := newFixture(f)
	s := fx.create(seriesBody("aiko@example.com", "ren@example.com"))
	f.Fuzz(func(t *testing.T, from, to string) {
		fx := fx.with(t)
		q := url.Values{}
		if from != "" {
			q.Set("from", from)
		}
		if to != "" {
			q.Set("to", to)
		}
		res := fx.do("GET", fmt.Sprintf("/api/v1/series/%s/occurrences?%s", s.ID, q.Encode()), nil)
		switch res.Code {
		case 200:
		case 400:
			if e := res.apiError(t); e.Error.Field != "from" && e.Error.Field != "to" {
				t.Fatalf("from=%q to=%q: field %q", from, to, e.Error.Field)
			}
		default:
			t.Fatalf("from=%q to=%q: %d %s", from, to, res.Code, res.Body)
		}
	})
}
