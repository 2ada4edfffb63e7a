// Package calendar owns the 1on1 domain's time: people, series, their
// occurrences and the statuses those occurrences end in, and the recurrence
// math that turns a series into occurrences. It defines the storage
// interface it needs (Store) and, later, the provider interface that
// calendar backends implement. It does no I/O of its own.
package calendar

import (
	"time"
)

// Person is someone with an e-mail address and a time zone.
type Person struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// State is whether the daemon keeps a series going.
type State string

const (
	StateActive State = "active"
	StatePaused State = "paused"
	// StateDetached marks a series whose calendar event someone deleted in
	// the calendar. The daemon does not recreate it; setting the state back
	// to active does.
	StateDetached State = "detached"
)

// Cadence names of the built-in rhythms. Any other cadence is a raw RRULE
// ("FREQ=WEEKLY;INTERVAL=3" or "RRULE:FREQ=…").
const (
	CadenceWeekly   = "weekly"
	CadenceBiweekly = "biweekly"
	CadenceMonthly  = "monthly"
)

// DefaultDuration is the length of a 1on1 when none is given.
const DefaultDuration = 30 * time.Minute

// Series is one manager, one report, a cadence, a length, a time zone and a
// calendar. Start is the first occurrence's wall-clock time in Timezone;
// every occurrence keeps that wall-clock time across DST changes.
type Series struct {
	ID       string
	Manager  Person
	Report   Person
	Start    time.Time // in the location named by Timezone
	Timezone string
	Cadence  string        // weekly, biweekly, monthly, or an RRULE
	Duration time.Duration // > 0
	Team     string        // optional org unit label
	Calendar string        // id of a configured calendar; "" = the built-in ICS feed
	State    State
	Created  time.Time
	Updated  time.Time
	// Version increases with every update; PATCH may send it back to
	// refuse a write made on a stale copy.
	Version int
}

// Status is what became of one occurrence. See the package documentation
// of statuses in status.go for the rules.
type Status string

const (
	StatusScheduled   Status = "scheduled"
	StatusHeld        Status = "held"
	StatusCancelled   Status = "cancelled"
	StatusRescheduled Status = "rescheduled"
	StatusMissed      Status = "missed"
)

// Occurrence is one expected meeting of a series, identified by its
// original start time (Key), which stays the same when it is moved.
type Occurrence struct {
	SeriesID      string
	Key           string    // OriginalStart in UTC as YYYYMMDDTHHMMSSZ
	OriginalStart time.Time // in the series' location
	Start         time.Time // the actual start (moved, or = OriginalStart)
	End           time.Time
	Status        Status
}

// KeyFormat formats an occurrence key from its original start.
const KeyFormat = "20060102T150405Z"

// OccurrenceKey returns the stable key of the occurrence that originally
// started at t.
func OccurrenceKey(t time.Time) string { return t.UTC().Format(KeyFormat) }

// ParseOccurrenceKey is the inverse of OccurrenceKey.
func ParseOccurrenceKey(key string) (time.Time, error) {
	return time.Parse(KeyFormat, key)
}

// Override records what happened to a single occurrence, keyed by its
// original start: moved (Start/End set), cancelled (by whom, when), or held.
// Calendar sync and attendance write overrides; expansion merges them.
type Override struct {
	SeriesID      string
	OriginalStart time.Time // UTC
	// Start and End are set when the occurrence was moved.
	Start time.Time
	End   time.Time
	// Cancelled marks an occurrence that will not take place.
	Cancelled   bool
	CancelledBy string    // "manager", "report" or "" (unknown)
	CancelledAt time.Time // when the cancellation was seen
	// Held marks an occurrence that both participants attended.
	Held    bool
	Updated time.Time
}

// Moved reports whether the override moves the occurrence.
func (o Override) Moved() bool { return !o.Start.IsZero() }
