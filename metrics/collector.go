package metrics

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oneonone/oneonone/calendar"
)

// finalStatuses are the outcomes an occurrence is counted under.
var finalStatuses = []calendar.Status{calendar.StatusHeld, calendar.StatusCancelled, calendar.StatusRescheduled, calendar.StatusMissed}

var (
	cadenceLabels = []string{calendar.CadenceWeekly, calendar.CadenceBiweekly, calendar.CadenceMonthly, "custom"}
	stateLabels   = []string{string(calendar.StateActive), string(calendar.StatePaused)}
	byLabels      = []string{ByManager, ByReport, ByUnknown}
)

// snapshot is the store's aggregates, mapped to org units, as of one
// refresh. It is never modified once published.
type snapshot struct {
	at             time.Time
	teamUnit       map[string]string
	units          []string // sorted; always holds "other"
	series         map[[3]string]float64
	activeSeries   map[string]float64
	plannedSeconds map[string]float64
	outcomes       map[[2]string]float64
	expected, held map[string]float64
	overdue        map[string]float64
	notice         map[[2]string]*noticeHist
	actionItems    map[string]int64
	pairs          []pairSample
	pairsTruncated bool
}

type noticeHist struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64 // non-cumulative until published
}

type pairSample struct {
	hash     string
	lastHeld time.Time
}

func emptySnapshot() *snapshot {
	return newSnapshot(time.Time{}, Aggregates{}, DefaultMinSeriesPerUnit)
}

// newSnapshot maps teams to org units (teams with fewer than min series are
// "other") and sums the aggregates per unit.
func newSnapshot(now time.Time, a Aggregates, min int) *snapshot {
	s := &snapshot{
		at: now, teamUnit: map[string]string{}, series: map[[3]string]float64{},
		activeSeries: map[string]float64{}, plannedSeconds: map[string]float64{},
		outcomes: map[[2]string]float64{}, expected: map[string]float64{}, held: map[string]float64{},
		overdue: map[string]float64{}, notice: map[[2]string]*noticeHist{}, actionItems: map[string]int64{},
	}
	perTeam := map[string]int64{}
	for _, c := range a.Series {
		perTeam[c.Team] += c.N
	}
	unitSet := map[string]bool{UnitOther: true}
	for team, n := range perTeam {
		u := UnitOther
		if n >= int64(min) {
			u = team
			if team == "" {
				u = UnitUnassigned
			}
		}
		s.teamUnit[team] = u
		unitSet[u] = true
	}
	for u := range unitSet {
		s.units = append(s.units, u)
	}
	slices.Sort(s.units)

	for _, c := range a.Series {
		u := s.unit(c.Team)
		s.series[[3]string{u, cadenceLabel(c.Cadence), c.State}] += float64(c.N)
		if c.State == string(calendar.StateActive) {
			s.activeSeries[u] += float64(c.N)
			s.plannedSeconds[u] += float64(c.DurationSeconds)
		}
	}
	for _, c := range a.Outcomes {
		s.outcomes[[2]string{s.unit(c.Team), c.Status}] += float64(c.N)
	}
	for _, c := range a.Window {
		u := s.unit(c.Team)
		s.expected[u] += float64(c.Expected)
		s.held[u] += float64(c.Held)
	}
	hist := func(team, by string) *noticeHist {
		k := [2]string{s.unit(team), by}
		h := s.notice[k]
		if h == nil {
			h = &noticeHist{buckets: map[float64]uint64{}}
			s.notice[k] = h
		}
		return h
	}
	for _, t := range a.NoticeTotals {
		h := hist(t.Team, t.CancelledBy)
		h.count += uint64(t.N)
		h.sum += float64(t.SumSeconds)
	}
	for _, b := range a.NoticeBuckets {
		if b.LeSeconds >= 0 {
			hist(b.Team, b.CancelledBy).buckets[float64(b.LeSeconds)] += uint64(b.N)
		}
	}
	// Make the buckets cumulative, over the fixed bounds.
	for _, h := range s.notice {
		var run uint64
		cum := make(map[float64]uint64, len(NoticeBuckets()))
		for _, le := range NoticeBuckets() {
			run += h.buckets[le]
			cum[le] = run
		}
		h.buckets = cum
	}
	return s
}

// unit is the org unit label of a team; a team unknown at the last refresh
// (created since, or only in old outcomes) is "other".
func (s *snapshot) unit(team string) string {
	if u, ok := s.teamUnit[team]; ok {
		return u
	}
	return UnitOther
}

// collector serves the latest snapshot. Its cost follows the number of org
// units (and pairs, when per-pair series are on), never the number of
// series: it does not touch the store.
type collector struct{ m *Metrics }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descSeries = desc("oneonone_series",
		"Series by org unit, cadence (weekly, biweekly, monthly, custom) and state.", "org_unit", "cadence", "state")
	descOccurrences = desc("oneonone_occurrences_total",
		"Occurrences by the outcome they were decided with, each counted once when its status became final.", "org_unit", "status")
	descExpected = desc("oneonone_window_occurrences_expected",
		"Occurrences expected in the adherence window (decided, ended within metrics.window).", "org_unit")
	descHeld = desc("oneonone_window_occurrences_held",
		"Occurrences held in the adherence window.", "org_unit")
	descAdherence = desc("oneonone_cadence_adherence_ratio",
		"Held divided by expected occurrences over the adherence window; absent without expected occurrences.", "org_unit")
	descOverdue = desc("oneonone_series_overdue",
		"Active series with no held 1on1 for more than twice their cadence interval.", "org_unit")
	descNotice = desc("oneonone_cancellation_notice_seconds",
		"How long before its start an occurrence was cancelled, by who cancelled (manager, report, unknown).", "org_unit", "by")
	descPlanned = desc("oneonone_series_planned_duration_seconds",
		"Average planned length of the active series' 1on1s.", "org_unit")
	descActions = desc("oneonone_action_items_open",
		"Action items not yet done.", "org_unit")
	descRooms = desc("oneonone_rooms_active",
		"Rooms with at least one participant on this daemon.")
	descParticipants = desc("oneonone_room_participants",
		"Participants connected to rooms on this daemon.")
	descPair = desc("oneonone_pair_last_held_timestamp_seconds",
		"When the pair's last held 1on1 ended (0: never), for the pairs longest without one; pair is an opaque keyed hash.", "pair")
	descPairsTruncated = desc("oneonone_metrics_pairs_truncated",
		"1 when more pairs exist than the per-pair cap reports.")
	descRefreshed = desc("oneonone_metrics_last_refresh_timestamp_seconds",
		"When the aggregates behind these metrics were last read from the store.")
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSeries, descOccurrences, descExpected, descHeld, descAdherence,
		descOverdue, descNotice, descPlanned, descActions, descRooms, descParticipants, descPairsTruncated, descRefreshed} {
		ch <- d
	}
	if c.m.opt.PerSeries {
		ch <- descPair
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.snap.Load()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	buckets := NoticeBuckets()
	for _, u := range s.units {
		for _, cad := range cadenceLabels {
			for _, st := range stateLabels {
				gauge(descSeries, s.series[[3]string{u, cad, st}], u, cad, st)
			}
		}
		for _, st := range finalStatuses {
			ch <- prometheus.MustNewConstMetric(descOccurrences, prometheus.CounterValue,
				s.outcomes[[2]string{u, string(st)}], u, string(st))
		}
		gauge(descExpected, s.expected[u], u)
		gauge(descHeld, s.held[u], u)
		if s.expected[u] > 0 {
			gauge(descAdherence, s.held[u]/s.expected[u], u)
		}
		gauge(descOverdue, s.overdue[u], u)
		if n := s.activeSeries[u]; n > 0 {
			gauge(descPlanned, s.plannedSeconds[u]/n, u)
		}
		gauge(descActions, float64(s.actionItems[u]), u)
		for _, by := range byLabels {
			h := s.notice[[2]string{u, by}]
			if h == nil {
				h = &noticeHist{buckets: map[float64]uint64{}}
				for _, le := range buckets {
					h.buckets[le] = 0
				}
			}
			ch <- prometheus.MustNewConstHistogram(descNotice, h.count, h.sum, h.buckets, u, by)
		}
	}
	var rooms, participants int
	if c.m.opt.Rooms != nil {
		rooms, participants = c.m.opt.Rooms()
	}
	gauge(descRooms, float64(rooms))
	gauge(descParticipants, float64(participants))
	if c.m.opt.PerSeries {
		for _, p := range s.pairs {
			v := 0.0
			if !p.lastHeld.IsZero() {
				v = float64(p.lastHeld.Unix())
			}
			gauge(descPair, v, p.hash)
		}
	}
	truncated := 0.0
	if s.pairsTruncated {
		truncated = 1
	}
	gauge(descPairsTruncated, truncated)
	refreshed := 0.0
	if !s.at.IsZero() {
		refreshed = math.Floor(float64(s.at.UnixNano())/1e6) / 1e3
	}
	gauge(descRefreshed, refreshed)
}
