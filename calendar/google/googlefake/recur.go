package googlefake

import (
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

const (
	dateLayout      = "2006-01-02"
	localLayout     = "2006-01-02T15:04:05"
	instanceTimed   = "20060102T150405Z"
	instanceAllDay  = "20060102"
	maxInstances    = 5000 // per series and request, so a bad rule cannot hang a test
	updatedTimeForm = "2006-01-02T15:04:05.000Z"
)

// moment is a parsed EventDateTime. All-day moments are midnight UTC of
// their date, which makes date arithmetic and comparisons uniform.
type moment struct {
	t      time.Time
	allDay bool
}

// parseDateTime validates and parses one EventDateTime. which is "start"
// or "end", for the messages.
func parseDateTime(d *DateTime, which string) (moment, *apiError) {
	if d == nil || (d.Date == "" && d.DateTime == "") {
		return moment{}, errRequired("Missing " + which + " time.")
	}
	if d.Date != "" && d.DateTime != "" {
		return moment{}, errInvalid("Invalid "+which+" time.", "")
	}
	if d.Date != "" {
		t, err := time.Parse(dateLayout, d.Date)
		if err != nil {
			return moment{}, errInvalid("Invalid "+which+" time.", "")
		}
		return moment{t: t, allDay: true}, nil
	}
	var loc *time.Location
	if d.TimeZone != "" {
		l, err := time.LoadLocation(d.TimeZone)
		if err != nil || d.TimeZone == "Local" {
			return moment{}, errInvalid("Invalid time zone definition for "+which+" time.", "")
		}
		loc = l
	}
	if t, err := time.Parse(time.RFC3339Nano, d.DateTime); err == nil {
		if loc != nil {
			t = t.In(loc)
		}
		return moment{t: t}, nil
	}
	if loc == nil {
		return moment{}, errRequired("Missing time zone definition for " + which + " time.")
	}
	t, err := time.ParseInLocation(localLayout, d.DateTime, loc)
	if err != nil {
		return moment{}, errInvalid("Invalid "+which+" time.", "")
	}
	return moment{t: t}, nil
}

// format writes m back as an EventDateTime, keeping the time zone name.
func (m moment) format(tz string) *DateTime {
	if m.allDay {
		return &DateTime{Date: m.t.Format(dateLayout)}
	}
	return &DateTime{DateTime: m.t.Format(time.RFC3339), TimeZone: tz}
}

// series is a recurring event's parsed recurrence.
type series struct {
	set   *rrule.Set
	start moment
	tz    string // the start's time zone name, reused for instances
	endTZ string
	dur   time.Duration
	// finite is false for rules without COUNT or UNTIL, which Google
	// expands forever; the fake stops at its expansion horizon.
	finite bool
}

// parseSeries reads the recurrence of a master event whose start and end
// are already valid.
func parseSeries(ev *Event) (*series, *apiError) {
	start, aerr := parseDateTime(ev.Start, "start")
	if aerr != nil {
		return nil, aerr
	}
	end, aerr := parseDateTime(ev.End, "end")
	if aerr != nil {
		return nil, aerr
	}
	loc := time.UTC
	if !start.allDay {
		if ev.Start.TimeZone == "" {
			return nil, errRequired("Missing time zone definition for start time.")
		}
		loc = start.t.Location()
	}
	var lines []string
	rules := 0
	for _, line := range ev.Recurrence {
		line = strings.TrimSpace(line)
		name := strings.ToUpper(line)
		if i := strings.IndexAny(name, ";:"); i > 0 {
			name = name[:i]
		}
		switch name {
		case "RRULE":
			rules++
			if f := strings.ToUpper(line); strings.Contains(f, "FREQ=HOURLY") || strings.Contains(f, "FREQ=MINUTELY") || strings.Contains(f, "FREQ=SECONDLY") {
				// Nothing here meets more than daily, and sub-daily
				// rules are the ones whose expansion can run for long.
				return nil, errInvalid("Recurrences more frequent than daily are not supported by this fake.", "")
			}
		case "RDATE", "EXDATE":
		case "EXRULE":
			return nil, errInvalid("EXRULE is not supported by this fake.", "")
		default:
			return nil, errInvalid("Invalid recurrence rule.", "")
		}
		lines = append(lines, line)
	}
	if rules > 1 {
		return nil, errInvalid("Only one RRULE is supported by this fake.", "")
	}
	set, err := rrule.StrSliceToRRuleSetInLoc(lines, loc)
	if err != nil {
		return nil, errInvalid("Invalid recurrence rule.", "")
	}
	set.DTStart(start.t.In(loc))
	rr := set.GetRRule()
	s := &series{set: set, start: start, tz: ev.Start.TimeZone, endTZ: ev.End.TimeZone,
		dur: end.t.Sub(start.t)}
	s.finite = rr == nil || rr.OrigOptions.Count > 0 || !rr.OrigOptions.Until.IsZero()
	if s.endTZ == "" {
		s.endTZ = s.tz
	}
	return s, nil
}

// between returns the original starts of the instances that start in
// [from, to), at most maxInstances of them.
func (s *series) between(from, to time.Time) []time.Time {
	var out []time.Time
	next := s.set.Iterator()
	for {
		t, ok := next()
		if !ok || !t.Before(to) || len(out) >= maxInstances {
			return out
		}
		if !t.Before(from) {
			out = append(out, s.norm(t))
		}
	}
}

// norm puts an instance start in the series' location (or UTC for all-day).
func (s *series) norm(t time.Time) time.Time {
	if s.start.allDay {
		return t.UTC()
	}
	return t.In(s.start.t.Location())
}

// has reports whether t is the original start of an instance.
func (s *series) has(t time.Time) bool {
	for _, x := range s.between(t, t.Add(time.Second)) {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// last returns the start of the last instance of a finite series.
func (s *series) last() (time.Time, bool) {
	if !s.finite {
		return time.Time{}, false
	}
	var last time.Time
	next := s.set.Iterator()
	for i := 0; i < maxInstances; i++ {
		t, ok := next()
		if !ok {
			break
		}
		last = t
	}
	return s.norm(last), !last.IsZero()
}

// instanceID is the id Google gives the instance of master that
// originally started at t: the master id, "_", and the original start in
// UTC (date only for all-day events).
func instanceID(masterID string, t time.Time, allDay bool) string {
	if allDay {
		return masterID + "_" + t.UTC().Format(instanceAllDay)
	}
	return masterID + "_" + t.UTC().Format(instanceTimed)
}

// parseInstanceID splits an instance id into its master id and original
// start. ok is false for anything that is not shaped like one.
func parseInstanceID(id string) (masterID string, t time.Time, allDay bool, ok bool) {
	i := strings.LastIndexByte(id, '_')
	if i <= 0 {
		return "", time.Time{}, false, false
	}
	masterID, suffix := id[:i], id[i+1:]
	switch len(suffix) {
	case len(instanceTimed):
		t, err := time.Parse(instanceTimed, suffix)
		if err != nil {
			return "", time.Time{}, false, false
		}
		return masterID, t, false, true
	case len(instanceAllDay):
		t, err := time.Parse(instanceAllDay, suffix)
		if err != nil {
			return "", time.Time{}, false, false
		}
		return masterID, t, true, true
	}
	return "", time.Time{}, false, false
}

// validEventID applies the documented rules for client-chosen ids:
// base32hex characters (a-v, 0-9), 5 to 1024 of them.
func validEventID(id string) bool {
	if len(id) < 5 || len(id) > 1024 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'v') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
