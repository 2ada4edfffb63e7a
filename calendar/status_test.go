package calendar

import (
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

func TestDeriveStatus(t *testing.T) {
	start := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	end := start.Add(30 * time.Minute)
	moved := Override{OriginalStart: start, Start: start.Add(day), End: end.Add(day)}
	tests := []struct {
		name  string
		o     Override
		end   time.Time
		now   time.Time
		want  Status
		final bool
	}{
		{"ahead", Override{}, end, start.Add(-time.Hour), StatusScheduled, false},
		{"in progress", Override{}, end, start.Add(10 * time.Minute), StatusScheduled, false},
		{"ended, nobody came", Override{}, end, end, StatusMissed, true},
		{"held during the meeting", Override{Held: true}, end, start.Add(5 * time.Minute), StatusHeld, true},
		{"held, later", Override{Held: true}, end, end.Add(day), StatusHeld, true},
		{"cancelled ahead", Override{Cancelled: true}, end, start.Add(-day), StatusCancelled, true},
		{"cancelled beats held", Override{Cancelled: true, Held: true}, end, end.Add(day), StatusCancelled, true},
		{"cancelled beats moved", Override{Start: moved.Start, End: moved.End, Cancelled: true}, moved.End, start, StatusCancelled, true},
		{"moved, ahead", moved, moved.End, start, StatusRescheduled, false},
		{"moved, passed, not held", moved, moved.End, moved.End, StatusRescheduled, true},
		{"moved and held stays rescheduled", Override{Start: moved.Start, End: moved.End, Held: true}, moved.End, moved.End.Add(time.Hour), StatusRescheduled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DeriveStatus(tt.o, tt.end, tt.now)
			if got != tt.want {
				t.Errorf("DeriveStatus = %s, want %s", got, tt.want)
			}
			oc := Occurrence{Status: got, End: tt.end}
			if oc.Final(tt.now) != tt.final {
				t.Errorf("Final(%s) = %v, want %v", got, oc.Final(tt.now), tt.final)
			}
		})
	}
}

func TestStatusFinal(t *testing.T) {
	want := map[Status]bool{StatusScheduled: false, StatusHeld: true, StatusCancelled: true, StatusRescheduled: false, StatusMissed: true}
	for _, st := range Statuses() {
		if st.Final() != want[st] {
			t.Errorf("%s.Final() = %v", st, st.Final())
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, st := range Statuses() {
		if got, err := ParseStatus(" " + string(st) + " "); err != nil || got != st {
			t.Errorf("ParseStatus(%q) = %q, %v", st, got, err)
		}
	}
	if got, err := ParseStatus("HELD"); err != nil || got != StatusHeld {
		t.Errorf("ParseStatus(HELD) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "done", "canceled"} {
		_, err := ParseStatus(bad)
		if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "status" {
			t.Errorf("ParseStatus(%q) = %v, want *errs.Invalid on status", bad, err)
		}
	}
}
