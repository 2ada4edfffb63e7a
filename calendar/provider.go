package calendar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// Provider is a calendar backend that holds each series as one recurring
// event: CalDAV (calendar/caldav), Google Calendar (calendar/google). One
// Provider is one calendar (a CalDAV collection, a Google calendar id).
//
// Providers do not retry: a retryable fault comes back as a *ProviderError
// and the reconciler decides when to try again.
type Provider interface {
	// PutEvent creates (ifMatch == "") or replaces (ifMatch = the ETag the
	// caller last saw) the event e.UID. A create that finds the event
	// already there is ErrEventExists, so a retry after a crash never makes
	// a second event; a replace whose ETag is stale is
	// ErrPreconditionFailed. The returned ref carries the event's Href and
	// new ETag (ETag may be "" when the server did not say; read it back
	// with GetEvent then).
	PutEvent(ctx context.Context, e Event, ifMatch string) (EventRef, error)
	// DeleteEvent removes the event; ifMatch "" deletes whatever is there.
	// A missing event wraps errs.ErrNotFound, a stale ifMatch is
	// ErrPreconditionFailed.
	DeleteEvent(ctx context.Context, ref EventRef, ifMatch string) error
	// GetEvent reads one event (by ref.Href, or by ref.UID when Href is
	// empty). A missing event wraps errs.ErrNotFound.
	GetEvent(ctx context.Context, ref EventRef) (Event, error)
	// Changes lists what changed since cursor ("" = everything). When the
	// cursor is expired or invalid, or the provider cannot tell changes
	// apart, the result is a full listing with Full set: every event is in
	// Updated and the caller diffs against its store to find deletions.
	// Objects that cannot be parsed are reported in Bad and skipped.
	Changes(ctx context.Context, cursor string) (Changes, error)
}

// Event is a series as a calendar holds it: one recurring event, with its
// exceptions (single occurrences moved, cancelled or answered).
type Event struct {
	// UID is the iCalendar UID (for Google, the iCalUID); derived from the
	// series id and stored before the first write, so it never changes.
	UID string
	// Href identifies the event within its provider: the CalDAV object
	// path (percent-decoded) or the Google event id.
	Href string
	ETag string
	// Sequence is RFC 5545's SEQUENCE; a writer bumps it on every change
	// attendees should hear about.
	Sequence int
	// Start is the first occurrence, in the event's zone (its Location
	// is the TZID; UTC when the event has none).
	Start    time.Time
	Duration time.Duration
	// RRule is the recurrence rule without "RRULE:" and without DTSTART;
	// "" for a single event.
	RRule       string
	Summary     string
	Description string
	Location    string
	URL         string
	Organizer   Attendee
	Attendees   []Attendee
	Status      EventStatus
	// ExDates are original starts of occurrences removed from the rule.
	ExDates []time.Time
	// Exceptions are single occurrences that differ from the rule, keyed
	// by their original start (RECURRENCE-ID), ordered by it.
	Exceptions []Exception
	// Modified is when the server last saw a change (LAST-MODIFIED /
	// Google's updated); zero when unknown.
	Modified time.Time
}

// Ref returns the event's identity.
func (e Event) Ref() EventRef { return EventRef{UID: e.UID, Href: e.Href, ETag: e.ETag} }

// Exception is one occurrence of a recurring event that differs from the
// rule: moved, cancelled, or answered differently by an attendee.
type Exception struct {
	// RecurrenceID is the occurrence's original start (an instant; its
	// Location is the event's zone where known).
	RecurrenceID time.Time
	// Start and End are the occurrence's time now (equal to the original
	// slot when it was not moved).
	Start, End time.Time
	// Cancelled is STATUS:CANCELLED (Google: a cancelled instance).
	Cancelled bool
	// Attendees as this occurrence has them; nil means as the master.
	Attendees []Attendee
	Sequence  int
	Summary   string
}

// Moved reports whether the occurrence starts at another instant than
// its original slot.
func (x Exception) Moved() bool {
	return !x.Start.IsZero() && !x.Start.Equal(x.RecurrenceID)
}

// PartStat returns the participation status of email in this occurrence,
// falling back to the master's attendees when the exception lists none.
func (e Event) PartStat(x Exception, email string) PartStat {
	list := x.Attendees
	if list == nil {
		list = e.Attendees
	}
	for _, a := range list {
		if strings.EqualFold(a.Email, email) {
			return a.PartStat
		}
	}
	return ""
}

// Attendee is a participant (or the organizer) of an event.
type Attendee struct {
	Email    string
	Name     string
	PartStat PartStat
}

// PartStat is an attendee's answer (RFC 5545 PARTSTAT).
type PartStat string

const (
	PartStatNeedsAction PartStat = "NEEDS-ACTION"
	PartStatAccepted    PartStat = "ACCEPTED"
	PartStatDeclined    PartStat = "DECLINED"
	PartStatTentative   PartStat = "TENTATIVE"
)

// EventStatus is RFC 5545's STATUS of an event.
type EventStatus string

const (
	EventConfirmed EventStatus = "CONFIRMED"
	EventTentative EventStatus = "TENTATIVE"
	EventCancelled EventStatus = "CANCELLED"
)

// EventRef identifies an event in a provider. Href is what the provider
// needs; UID lets a provider find an event whose Href is not known yet.
type EventRef struct {
	UID  string
	Href string
	ETag string
}

// Changes is what a provider reports since a cursor.
type Changes struct {
	// Updated holds events created or changed since the cursor (all
	// events when Full).
	Updated []Event
	// Deleted holds events removed since the cursor; only Href is
	// certain to be set. Empty when Full: the caller diffs instead.
	Deleted []EventRef
	// Bad holds objects that could not be read; they are skipped, and
	// reported again only when they change.
	Bad []BadObject
	// Cursor is what to pass next time.
	Cursor string
	// Full is set when this is a complete listing, not a delta.
	Full bool
	// FullFor, when Full is not set, lists Href prefixes whose events
	// are all in this answer (a provider over several calendars, such as
	// PerOrganizer, lists one calendar in full and the others as deltas):
	// a known event with such a prefix that is missing was deleted.
	FullFor []string
}

// BadObject is a calendar object the provider could not parse.
type BadObject struct {
	Href string
	Err  error
}

func (b BadObject) Error() string { return b.Href + ": " + b.Err.Error() }

// ErrPreconditionFailed means a conditional write found the event changed
// since the caller's ETag (HTTP 412): re-read, merge, retry.
var ErrPreconditionFailed = fmt.Errorf("calendar: event changed since it was read (precondition failed): %w", errs.ErrConflict)

// ErrEventExists means a create found the event already there: an
// earlier attempt (or another daemon) wrote it.
var ErrEventExists = fmt.Errorf("calendar: event already exists: %w", errs.ErrConflict)

// Reasons of a ProviderError; bounded, so they can label metrics
// (oneonone_calendar_sync_errors_total{reason}).
const (
	ReasonUnavailable  = "unavailable"  // 5xx
	ReasonRateLimited  = "rate_limited" // 429, Google's rateLimitExceeded
	ReasonTimeout      = "timeout"
	ReasonNetwork      = "network"
	ReasonUnauthorized = "unauthorized" // 401/403: credentials or access
	ReasonRejected     = "rejected"     // another 4xx: our request is wrong
	ReasonProtocol     = "protocol"     // an answer we cannot read
)

// ProviderError is a fault of the calendar backend or the way to it. The
// reconciler backs off on Retryable ones, honouring RetryAfter.
type ProviderError struct {
	Provider   string // "caldav", "google"
	Reason     string // one of the Reason constants
	Status     int    // HTTP status, 0 when there was none
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	s := e.Provider + ": " + e.Reason
	if e.Status != 0 {
		s += " (HTTP " + strconv.Itoa(e.Status) + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed later.
func (e *ProviderError) Retryable() bool {
	switch e.Reason {
	case ReasonUnavailable, ReasonRateLimited, ReasonTimeout, ReasonNetwork:
		return true
	}
	return false
}

// AsProviderError returns the *ProviderError in err's chain, if any.
func AsProviderError(err error) (*ProviderError, bool) {
	var pe *ProviderError
	ok := errors.As(err, &pe)
	return pe, ok
}

// RetryAfter reads an HTTP Retry-After value, seconds or an HTTP date, as
// the wait from now; 0 when it is absent, malformed or in the past.
// Providers put it in ProviderError.RetryAfter.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
