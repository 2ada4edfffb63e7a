// Package synctest is the calendar reconciler's scenario suite: the same
// story — create a series, then people move, cancel and decline
// occurrences, edit and delete the series in their calendars, the server
// fails for a while, the daemon crashes between a write and its commit —
// run against every provider on a real server (Radicale, Xandikos, the
// Google fake). Each backend gives raw access to its server that does not
// go through our provider, so the suite never trusts our client to check
// our client. It is for tests only and owns no production code.
package synctest

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// Remote changes and inspects a calendar the way another calendar client
// (or a person in a calendar app) would, never through our provider.
// Times are instants; a backend writes them in the event's zone.
type Remote interface {
	// Count returns how many events with uid the server holds.
	Count(ctx context.Context, uid string) (int, error)
	// Timing returns the master event's start and length, as stored.
	Timing(ctx context.Context, uid string) (start time.Time, d time.Duration, err error)
	// MoveOccurrence moves the occurrence that originally starts at orig.
	MoveOccurrence(ctx context.Context, uid string, orig, start time.Time, d time.Duration) error
	// CancelOccurrence removes one occurrence, as its organizer does.
	CancelOccurrence(ctx context.Context, uid string, orig time.Time) error
	// DeclineOccurrence answers one occurrence DECLINED for attendee.
	DeclineOccurrence(ctx context.Context, uid string, orig time.Time, attendee string) error
	// MoveSeries gives the whole series a new first start (same rule).
	MoveSeries(ctx context.Context, uid string, start time.Time) error
	// DeleteSeries deletes the event.
	DeleteSeries(ctx context.Context, uid string) error
	// PutBroken stores an object our provider cannot read.
	PutBroken(ctx context.Context) error
}

// Backend is one provider on one running server.
type Backend struct {
	Name         string
	ProviderName string
	Provider     calendar.Provider
	Remote       Remote
	// FailNext makes the next n requests of Provider fail as a server
	// outage (HTTP 500).
	FailNext func(n int)
	// Requests returns how many requests Provider has made (nil: not
	// counted).
	Requests func() int64
	// BadCredentials opens the same calendar with a wrong password (nil
	// when the server does not check passwords).
	BadCredentials func(t testing.TB) calendar.Provider
}

// FaultTransport is an http.RoundTripper that fails requests on demand:
// the next n answer status (a 500 by default) without reaching the
// server, as a server in trouble would.
type FaultTransport struct {
	Base   http.RoundTripper
	Status int
	n      atomic.Int64
}

// FailNext makes the next n requests fail.
func (f *FaultTransport) FailNext(n int) { f.n.Store(int64(n)) }

// RoundTrip fails or passes req on.
func (f *FaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.n.Add(-1) >= 0 {
		if req.Body != nil {
			req.Body.Close()
		}
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{},
			Body: http.NoBody, Request: req, ProtoMajor: 1, ProtoMinor: 1}, nil
	}
	f.n.Store(0)
	base := f.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Observer records ObserveSync calls.
type Observer struct {
	mu      sync.Mutex
	Reasons []string
}

// ObserveSync records the reason of one round ("" = success).
func (o *Observer) ObserveSync(provider, calendarID string, d time.Duration, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Reasons = append(o.Reasons, reason)
}

// Seen returns the reasons recorded so far.
func (o *Observer) Seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.Reasons...)
}

// testLogger sends logs to t.Log, so a failing run shows them.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
