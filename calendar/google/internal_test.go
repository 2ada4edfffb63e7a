package google

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"

	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"

	"github.com/oneonone/oneonone/calendar"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"timeout", &url.Error{Op: "Get", URL: "x", Err: timeoutErr{}}, calendar.ReasonTimeout},
		{"refused", &url.Error{Op: "Get", URL: "x", Err: errors.New("connection refused")}, calendar.ReasonNetwork},
		{"bad JSON", &json.SyntaxError{}, calendar.ReasonProtocol},
		{"401", &googleapi.Error{Code: 401, Errors: []googleapi.ErrorItem{{Reason: "authError"}}}, calendar.ReasonUnauthorized},
		{"403 quota", &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "quotaExceeded"}}}, calendar.ReasonRateLimited},
		{"502", &googleapi.Error{Code: 502, Header: http.Header{"Retry-After": {"3"}}}, calendar.ReasonUnavailable},
	} {
		pe, ok := calendar.AsProviderError(classify(ctx, "op", tc.err))
		if !ok || pe.Reason != tc.want {
			t.Errorf("%s: %#v, want reason %s", tc.name, pe, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := classify(cancelled, "op", &url.Error{Err: context.Canceled}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	} else if _, ok := calendar.AsProviderError(err); ok {
		t.Errorf("a cancelled call is not a provider fault: %v", err)
	}
}

// FuzzParseEvent feeds arbitrary JSON as a Google event (master and
// exception): reading it must never panic, and what it accepts is sane.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"abcde","iCalUID":"u","start":{"dateTime":"2026-12-01T10:00:00+09:00","timeZone":"Asia/Tokyo"},"end":{"dateTime":"2026-12-01T10:30:00+09:00","timeZone":"Asia/Tokyo"},"recurrence":["RRULE:FREQ=WEEKLY","EXDATE;TZID=Asia/Tokyo:20261208T100000,20261215T100000"]}`))
	f.Add([]byte(`{"id":"abcde_20261208T010000Z","recurringEventId":"abcde","status":"cancelled","originalStartTime":{"dateTime":"2026-12-08T10:00:00+09:00","timeZone":"Asia/Tokyo"}}`))
	f.Add([]byte(`{"id":"x1234","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"},"recurrence":["EXDATE;VALUE=DATE:20261208","RDATE:20261209T000000Z"]}`))
	f.Add([]byte(`{"id":"x1234","start":{"dateTime":"2026-12-01T10:00:00Z","timeZone":"Mars/Base"},"end":{"dateTime":"2026-12-01T09:00:00Z"},"attendees":[null,{"email":"a@b","responseStatus":"declined"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var g gcal.Event
		if json.Unmarshal(data, &g) != nil {
			return
		}
		ev, err := fromGoogle(&g)
		if err != nil {
			return
		}
		if ev.Href == "" || ev.Duration < 0 {
			t.Fatalf("accepted %s as %+v", data, ev)
		}
		if _, err := toGoogle(ev); err != nil && ev.UID != "" && !ev.Start.IsZero() && ev.RRule == "" {
			t.Fatalf("cannot write back what was read: %v", err)
		}
		_, _ = exceptionOf(&g, ev)
	})
}
