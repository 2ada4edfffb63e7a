package metrics

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oneonone/oneonone/calendar"
)

// Defaults of Options.
const (
	DefaultWindow           = 90 * 24 * time.Hour
	DefaultMinSeriesPerUnit = 3
	DefaultMaxPairs         = 200
	DefaultRefreshInterval  = 30 * time.Second
)

// Label values the metrics use besides team names.
const (
	UnitOther      = "other"      // teams below the minimum, together
	UnitUnassigned = "unassigned" // series without a team
)

// Sync error reasons; any other reason is reported as "other".
var syncReasons = []string{"auth", "not_found", "conflict", "rate_limited", "network", "invalid", "other"}

// Calendar is a configured calendar, so its sync metrics exist from the
// start.
type Calendar struct {
	ID       string
	Provider string // google, caldav, icsfeed
}

// Options configure New. Zero values take the defaults.
type Options struct {
	// Store is read by Refresh (required).
	Store Store
	// Version is oneonone_build_info's version label.
	Version string
	// Window is the adherence window (metrics.window, DefaultWindow).
	Window time.Duration
	// MinSeriesPerUnit: teams with fewer series are "other"
	// (metrics.min_series_per_unit, DefaultMinSeriesPerUnit).
	MinSeriesPerUnit int
	// PerSeries adds oneonone_pair_last_held_timestamp_seconds, labelled by
	// an opaque hash, for at most MaxPairs pairs (DefaultMaxPairs), those
	// longest without a held 1on1 first.
	PerSeries bool
	MaxPairs  int
	// PairKey, when set, keys the pair hash instead of the key the store
	// keeps (tests use it for stable output).
	PairKey []byte
	// Calendars are the configured calendars.
	Calendars []Calendar
	// Rooms, when set, is read at scrape time: rooms with someone in them
	// and participants connected on this daemon. It must be cheap.
	Rooms func() (rooms, participants int)
	// ActionItemsOpen, when set, is read at each refresh: open action
	// items per team.
	ActionItemsOpen func(ctx context.Context) (map[string]int, error)
	// RefreshInterval is how often Run recomputes the aggregates
	// (DefaultRefreshInterval).
	RefreshInterval time.Duration
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Metrics holds the daemon's metrics: a registry served by Handler, a
// snapshot of the store's aggregates that Refresh recomputes, and the
// hooks other packages call when events happen. It is safe for concurrent
// use.
type Metrics struct {
	opt Options
	// reg holds the application's metrics; runtime the Go and process
	// collectors, kept apart so golden files can leave them out.
	reg, runtime *prometheus.Registry
	snap         atomic.Pointer[snapshot]

	keyMu sync.Mutex
	key   []byte

	meeting      *prometheus.HistogramVec
	agenda       *prometheus.CounterVec
	syncDuration *prometheus.HistogramVec
	syncErrors   *prometheus.CounterVec
	syncSuccess  *prometheus.GaugeVec
}

// New builds the metrics. Call Refresh (or Run) before the first scrape
// for the store's aggregates to appear.
func New(opt Options) (*Metrics, error) {
	if opt.Store == nil {
		return nil, errors.New("metrics: Options.Store is required")
	}
	if opt.Window <= 0 {
		opt.Window = DefaultWindow
	}
	if opt.MinSeriesPerUnit <= 0 {
		opt.MinSeriesPerUnit = DefaultMinSeriesPerUnit
	}
	if opt.MaxPairs <= 0 {
		opt.MaxPairs = DefaultMaxPairs
	}
	if opt.RefreshInterval <= 0 {
		opt.RefreshInterval = DefaultRefreshInterval
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Version == "" {
		opt.Version = "devel"
	}
	m := &Metrics{opt: opt, reg: prometheus.NewRegistry(), runtime: prometheus.NewRegistry(), key: opt.PairKey}
	m.snap.Store(emptySnapshot())

	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "oneonone_build_info",
		Help:        "Always 1; the labels say which oneonone is running.",
		ConstLabels: prometheus.Labels{"version": opt.Version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.meeting = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oneonone_meeting_duration_seconds",
		Help:    "Time both participants were in the room, per 1on1 held on this daemon.",
		Buckets: []float64{300, 600, 900, 1200, 1500, 1800, 2700, 3600, 5400},
	}, []string{"org_unit"})
	m.agenda = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oneonone_agenda_items_added_total",
		Help: "Agenda items added on this daemon, by the role of their author.",
	}, []string{"org_unit", "author_role"})
	m.syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oneonone_calendar_sync_duration_seconds",
		Help:    "Duration of one calendar sync pass.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider"})
	m.syncErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oneonone_calendar_sync_errors_total",
		Help: "Calendar sync passes that failed, by provider and reason.",
	}, []string{"provider", "reason"})
	m.syncSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oneonone_calendar_last_success_timestamp_seconds",
		Help: "When a sync of the calendar last succeeded on this daemon (0: not since it started).",
	}, []string{"calendar"})
	for _, c := range opt.Calendars {
		m.syncDuration.WithLabelValues(c.Provider)
		for _, r := range syncReasons {
			m.syncErrors.WithLabelValues(c.Provider, r)
		}
		m.syncSuccess.WithLabelValues(c.ID)
	}
	for _, c := range []prometheus.Collector{build, m.meeting, m.agenda, m.syncDuration, m.syncErrors, m.syncSuccess, &collector{m: m}} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	if err := m.runtime.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: register: %w", err)
	}
	if err := m.runtime.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: register: %w", err)
	}
	m.initUnits(emptySnapshot().units)
	return m, nil
}

// Handler serves /metrics: the application's metrics and the Go and
// process collectors.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, m.runtime}, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.opt.Logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Run refreshes the aggregates every RefreshInterval until ctx ends. A
// failed refresh is logged and the previous snapshot kept. It returns nil
// when ctx ends.
func (m *Metrics) Run(ctx context.Context) error {
	t := time.NewTicker(m.opt.RefreshInterval)
	defer t.Stop()
	for {
		if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			m.opt.Logger.Warn("metrics: refresh failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ObserveSync records one sync pass of a calendar: its duration, and
// either success (reason "") or the reason it failed (auth, not_found,
// conflict, rate_limited, network, invalid; anything else is "other").
// The calendar sync engine calls it after each pass.
func (m *Metrics) ObserveSync(provider, calendarID string, d time.Duration, reason string) {
	m.syncDuration.WithLabelValues(provider).Observe(d.Seconds())
	if reason == "" {
		m.syncSuccess.WithLabelValues(calendarID).Set(float64(m.opt.Now().UnixNano()) / 1e9)
		return
	}
	if !slices.Contains(syncReasons, reason) {
		reason = "other"
	}
	m.syncErrors.WithLabelValues(provider, reason).Inc()
}

// ObserveMeeting records how long both participants of a series of team
// were in the room together; meet calls it when a 1on1 ends.
func (m *Metrics) ObserveMeeting(team string, together time.Duration) {
	m.meeting.WithLabelValues(m.snap.Load().unit(team)).Observe(together.Seconds())
}

// AgendaItemAdded counts an agenda item added to a series of team by its
// manager or report (authorRole "manager" or "report"; others are
// ignored); agenda calls it.
func (m *Metrics) AgendaItemAdded(team, authorRole string) {
	if authorRole != ByManager && authorRole != ByReport {
		return
	}
	m.agenda.WithLabelValues(m.snap.Load().unit(team), authorRole).Inc()
}

// SyncObserver is what the calendar sync engine needs from metrics.
type SyncObserver interface {
	ObserveSync(provider, calendarID string, d time.Duration, reason string)
}

// MeetingObserver is what meet needs from metrics.
type MeetingObserver interface {
	ObserveMeeting(team string, together time.Duration)
}

// AgendaObserver is what agenda needs from metrics.
type AgendaObserver interface {
	AgendaItemAdded(team, authorRole string)
}

var (
	_ SyncObserver    = (*Metrics)(nil)
	_ MeetingObserver = (*Metrics)(nil)
	_ AgendaObserver  = (*Metrics)(nil)
)

// Refresh recomputes the snapshot the collector serves from the store.
func (m *Metrics) Refresh(ctx context.Context) error {
	now := m.opt.Now()
	agg, err := m.opt.Store.MetricsAggregates(ctx, now.Add(-m.opt.Window), now)
	if err != nil {
		return fmt.Errorf("metrics: refresh: %w", err)
	}
	s := newSnapshot(now, agg, m.opt.MinSeriesPerUnit)
	var key []byte
	if m.opt.PerSeries {
		if key, err = m.pairKey(ctx); err != nil {
			return fmt.Errorf("metrics: refresh: %w", err)
		}
	}
	var pairs []pairSample
	err = m.opt.Store.EachActiveSeries(ctx, func(a SeriesActivity) error {
		if Overdue(a, now) {
			s.overdue[s.unit(a.Team)]++
		}
		if key != nil {
			pairs = append(pairs, pairSample{hash: pairHash(key, a.SeriesID), lastHeld: a.LastHeld})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("metrics: refresh: %w", err)
	}
	if key != nil {
		slices.SortFunc(pairs, func(a, b pairSample) int {
			if c := a.lastHeld.Compare(b.lastHeld); c != 0 {
				return c
			}
			return strings.Compare(a.hash, b.hash)
		})
		if len(pairs) > m.opt.MaxPairs {
			pairs, s.pairsTruncated = pairs[:m.opt.MaxPairs], true
		}
		s.pairs = pairs
	}
	if m.opt.ActionItemsOpen != nil {
		open, err := m.opt.ActionItemsOpen(ctx)
		if err != nil {
			return fmt.Errorf("metrics: refresh: action items: %w", err)
		}
		for team, n := range open {
			s.actionItems[s.unit(team)] += int64(n)
		}
	}
	m.initUnits(s.units)
	m.snap.Store(s)
	return nil
}

// initUnits creates the per-daemon series of every unit, so they start at
// 0 instead of appearing with the first event.
func (m *Metrics) initUnits(units []string) {
	for _, u := range units {
		m.meeting.WithLabelValues(u)
		m.agenda.WithLabelValues(u, ByManager)
		m.agenda.WithLabelValues(u, ByReport)
	}
}

func (m *Metrics) pairKey(ctx context.Context) ([]byte, error) {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	if m.key == nil {
		key, err := m.opt.Store.MetricsKey(ctx)
		if err != nil {
			return nil, err
		}
		m.key = key
	}
	return m.key, nil
}

// pairHash is the opaque, stable label of a pair: a keyed hash of its
// series id, which cannot be reversed without the key in the store.
func pairHash(key []byte, seriesID string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(seriesID))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// CadenceInterval is the nominal time between occurrences of a cadence:
// weekly 7d, biweekly 14d, monthly 31d; a raw RRULE's FREQ × INTERVAL
// (DAILY 1d, WEEKLY 7d, MONTHLY 31d, YEARLY 366d). ok is false for a
// cadence it cannot read.
func CadenceInterval(cadence string) (d time.Duration, ok bool) {
	const day = 24 * time.Hour
	c := strings.ToUpper(strings.Join(strings.Fields(cadence), ""))
	switch c {
	case "", "WEEKLY":
		return 7 * day, true
	case "BIWEEKLY":
		return 14 * day, true
	case "MONTHLY":
		return 31 * day, true
	}
	c = strings.TrimPrefix(c, "RRULE:")
	var unit time.Duration
	interval := 1
	for part := range strings.SplitSeq(c, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "FREQ":
			unit = map[string]time.Duration{"DAILY": day, "WEEKLY": 7 * day, "MONTHLY": 31 * day, "YEARLY": 366 * day}[v]
		case "INTERVAL":
			n, err := strconv.Atoi(v)
			// Far beyond any meeting rhythm, and it would overflow.
			if err != nil || n < 1 || n > 1000 {
				return 0, false
			}
			interval = n
		}
	}
	if unit == 0 {
		return 0, false
	}
	return unit * time.Duration(interval), true
}

// Overdue applies the overdue rule (see the package documentation) to one
// active series at now.
func Overdue(a SeriesActivity, now time.Time) bool {
	interval, ok := CadenceInterval(a.Cadence)
	if !ok || a.Start.After(now) {
		return false
	}
	since := a.Start
	if !a.LastHeld.IsZero() {
		since = a.LastHeld
	}
	return now.Sub(since) > 2*interval
}

// cadenceLabel bounds the cadence label: raw RRULEs are "custom".
func cadenceLabel(c string) string {
	switch strings.ToLower(strings.TrimSpace(c)) {
	case "", calendar.CadenceWeekly:
		return calendar.CadenceWeekly
	case calendar.CadenceBiweekly, calendar.CadenceMonthly:
		return strings.ToLower(strings.TrimSpace(c))
	}
	return "custom"
}
