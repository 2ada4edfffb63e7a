package calendar

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

func TestBackoff(t *testing.T) {
	r, err := NewReconciler(ReconcilerConfig{CalendarID: "c", Provider: struct{ Provider }{}, Store: struct{ Store }{},
		SyncStore: struct{ SyncStore }{}, BuildEvent: func(Series, []Override, string) (Event, error) { return Event{}, nil },
		Interval: time.Minute, MinBackoff: time.Second, MaxBackoff: 16 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	unavailable := &ProviderError{Provider: "caldav", Reason: ReasonUnavailable, Status: 500}
	tests := []struct {
		name     string
		n        int
		err      error
		min, max time.Duration
	}{
		{"first failure waits about the minimum", 1, unavailable, 500 * time.Millisecond, time.Second},
		{"doubles", 3, unavailable, 2 * time.Second, 4 * time.Second},
		{"capped", 30, unavailable, 8 * time.Second, 16 * time.Second},
		{"Retry-After longer than the backoff is honoured", 1,
			&ProviderError{Reason: ReasonRateLimited, Status: 429, RetryAfter: 40 * time.Second}, 40 * time.Second, 40 * time.Second},
		{"wrapped", 2, fmt.Errorf("changes: %w", &ProviderError{Reason: ReasonTimeout}), time.Second, 2 * time.Second},
		{"refused credentials wait an interval", 5, &ProviderError{Reason: ReasonUnauthorized, Status: 401}, 54 * time.Second, 66 * time.Second},
		{"a store error waits an interval", 5, errors.New("disk full"), 54 * time.Second, 66 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 {
				if d := r.backoff(tt.n, tt.err); d < tt.min || d > tt.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.n, d, tt.min, tt.max)
				}
			}
		})
	}
}

func TestSyncReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&ProviderError{Reason: ReasonUnauthorized}, "auth"},
		{fmt.Errorf("x: %w", &ProviderError{Reason: ReasonUnavailable}), "network"},
		{&ProviderError{Reason: ReasonTimeout}, "network"},
		{&ProviderError{Reason: ReasonRateLimited}, "rate_limited"},
		{&ProviderError{Reason: ReasonProtocol}, "invalid"},
		{fmt.Errorf("x: %w", errs.ErrUnauthorized), "auth"},
		{fmt.Errorf("x: %w", errs.ErrNotFound), "not_found"},
		{ErrPreconditionFailed, "conflict"},
		{errs.Invalidf("start", "bad"), "invalid"},
		{errors.New("disk full"), "other"},
	}
	for _, tt := range tests {
		if got := SyncReason(tt.err); got != tt.want {
			t.Errorf("SyncReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCadenceFor(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	firstTue := time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo)
	tests := []struct {
		rule    string
		want    string
		wantErr bool
	}{
		{"FREQ=WEEKLY", CadenceWeekly, false},
		{"freq=weekly;interval=1", CadenceWeekly, false},
		{"FREQ=WEEKLY;INTERVAL=2", CadenceBiweekly, false},
		{"INTERVAL=2;FREQ=WEEKLY", CadenceBiweekly, false},
		{"FREQ=MONTHLY;BYDAY=+1TU", CadenceMonthly, false},
		{"FREQ=MONTHLY;BYDAY=1TU", CadenceMonthly, false},
		{"FREQ=WEEKLY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=3", false},
		{"FREQ=HOURLY", "", true},
		{"FREQ=WEEKLY;BYHOUR=9", "", true},
	}
	for _, tt := range tests {
		got, err := cadenceFor(tt.rule, firstTue)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("cadenceFor(%q) = %q, %v; want %q (error %v)", tt.rule, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMergeEvent(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, tokyo) }
	ours := Event{UID: "s@oneonone", Start: at(1, 10), Duration: 45 * time.Minute, RRule: "FREQ=WEEKLY", Summary: "ours",
		Attendees: []Attendee{{Email: "ren@example.com", PartStat: PartStatNeedsAction}},
		ExDates:   []time.Time{at(29, 10)},
		Exceptions: []Exception{
			{RecurrenceID: at(8, 10), Start: at(8, 12), End: at(8, 13)},    // theirs too: theirs wins
			{RecurrenceID: at(22, 10), Start: at(22, 15), End: at(22, 16)}, // ours only
		}}
	remote := Event{UID: "s@oneonone", Href: "/c/s.ics", ETag: "e1", Start: at(1, 10), Duration: 30 * time.Minute, RRule: "FREQ=WEEKLY",
		Summary:    "theirs",
		Attendees:  []Attendee{{Email: "REN@example.com", PartStat: PartStatAccepted}},
		ExDates:    []time.Time{at(15, 10)},
		Exceptions: []Exception{{RecurrenceID: at(8, 10), Start: at(9, 11), End: at(9, 12)}}}

	t.Run("we changed the timing", func(t *testing.T) {
		m := mergeEvent(ours, remote, true, nil)
		if m.Duration != 45*time.Minute || m.Summary != "ours" || m.Href != "/c/s.ics" {
			t.Fatalf("merged = duration %v summary %q href %q; want ours with their href", m.Duration, m.Summary, m.Href)
		}
		if m.Attendees[0].PartStat != PartStatAccepted {
			t.Errorf("their answer was lost: %v", m.Attendees)
		}
		if len(m.Exceptions) != 2 || !m.Exceptions[0].Start.Equal(at(9, 11)) || !m.Exceptions[1].Start.Equal(at(22, 15)) {
			t.Errorf("exceptions = %+v; want theirs for the 8th and ours for the 22nd", m.Exceptions)
		}
		if len(m.ExDates) != 2 {
			t.Errorf("exdates = %v; want theirs (15th) and ours (29th)", m.ExDates)
		}
	})
	t.Run("they changed the timing", func(t *testing.T) {
		if m := mergeEvent(ours, remote, false, nil); m.Duration != 30*time.Minute {
			t.Fatalf("duration = %v, want theirs", m.Duration)
		}
	})
	t.Run("an override read from the calendar and gone there is not written back", func(t *testing.T) {
		m := mergeEvent(ours, remote, true, map[string]bool{OccurrenceKey(at(22, 10)): true, OccurrenceKey(at(29, 10)): true})
		if len(m.Exceptions) != 1 || len(m.ExDates) != 1 {
			t.Fatalf("exceptions %d, exdates %d; want only theirs", len(m.Exceptions), len(m.ExDates))
		}
	})
	t.Run("a new time drops their exceptions of slots that no longer exist", func(t *testing.T) {
		moved := ours
		moved.Start = at(1, 14)
		m := mergeEvent(moved, remote, true, nil)
		for _, x := range m.Exceptions {
			if x.RecurrenceID.Equal(at(8, 10)) {
				t.Fatalf("exception of the old 10:00 slot kept: %+v", m.Exceptions)
			}
		}
	})
}
