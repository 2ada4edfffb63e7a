package icsfeed

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// pythonCheck reads a feed with Python's icalendar (Debian's
// python3-icalendar), an implementation independent of ours and of
// go-ical. For every VEVENT it prints what a subscriber sees: UID, RRULE,
// EXDATEs, RECURRENCE-ID and DTSTART in UTC as icalendar resolves the TZID,
// and the instances of the rule expanded by dateutil on the local wall
// clock and placed with zoneinfo (both follow RFC 5545 in DST gaps and
// overlaps). For each VTIMEZONE it evaluates the probe wall clocks given on
// stdin with nothing but the VTIMEZONE's own STANDARD/DAYLIGHT rules.
const pythonCheck = `
import json, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
import icalendar
from dateutil import rrule as du

cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
req = json.load(sys.stdin)
FMT = '%Y-%m-%dT%H:%M:%SZ'

def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]

def utc(dt):
    return dt.astimezone(timezone.utc).strftime(FMT)

def strip_until(rule):
    parts = [p for p in rule.split(';') if not p.startswith('UNTIL=')]
    until = [p[6:] for p in rule.split(';') if p.startswith('UNTIL=')]
    return ';'.join(parts), (datetime.strptime(until[0], '%Y%m%dT%H%M%SZ') if until else None)

periods = {}
for tz in cal.walk('VTIMEZONE'):
    ps = []
    for sub in tz.subcomponents:
        start = sub['DTSTART'].dt
        frm, to = sub['TZOFFSETFROM'].td, sub['TZOFFSETTO'].td
        onsets = [start]
        if 'RRULE' in sub:
            rule, until = strip_until(sub['RRULE'].to_ical().decode())
            onsets = [o for o in du.rrulestr(rule, dtstart=start).between(start, datetime(2100, 1, 1), inc=True)
                      if until is None or o - frm <= until]
        for rd in as_list(sub.get('RDATE')):
            onsets += [d.dt for d in rd.dts]
        ps += [(o - frm, to) for o in onsets]
    ps.sort()
    periods[str(tz['TZID'])] = ps

def via_vtimezone(tzid, local):
    ps = periods[tzid]
    found = []
    for i, (begin, to) in enumerate(ps):
        u = local - to
        end = ps[i + 1][0] if i + 1 < len(ps) else datetime.max
        if begin <= u < end:
            found.append(u)
    return min(found).strftime(FMT) if found else ''

events = []
for ev in cal.walk('VEVENT'):
    ds = ev['DTSTART']
    tzid = ds.params.get('TZID', '')
    naive = ds.dt.replace(tzinfo=None)
    out = {
        'uid': str(ev['UID']),
        'rrule': ev['RRULE'].to_ical().decode() if 'RRULE' in ev else '',
        'dtstart_utc': utc(ds.dt),
        'dtstart_vtimezone': via_vtimezone(tzid, naive) if tzid else utc(ds.dt),
        'exdates': sorted(utc(d.dt) for x in as_list(ev.get('EXDATE')) for d in x.dts),
        'recurrence_id': utc(ev['RECURRENCE-ID'].dt) if 'RECURRENCE-ID' in ev else '',
        'instances': [],
    }
    if out['rrule']:
        zone = ZoneInfo(tzid) if tzid else timezone.utc
        rule = du.rrulestr(out['rrule'], dtstart=naive)
        window = rule.between(naive, naive + timedelta(days=req['days']), inc=True)
        out['instances'] = [s for s in (utc(w.replace(tzinfo=zone)) for w in window) if s not in out['exdates']]
    events.append(out)

probes = {tzid: [via_vtimezone(tzid, datetime.strptime(p, '%Y%m%dT%H%M%S')) for p in locals_]
          for tzid, locals_ in req['probes'].items()}
json.dump({'events': events, 'probes': probes}, sys.stdout)
`

type pyEvent struct {
	UID              string   `json:"uid"`
	RRule            string   `json:"rrule"`
	DTStartUTC       string   `json:"dtstart_utc"`
	DTStartVTimezone string   `json:"dtstart_vtimezone"`
	Exdates          []string `json:"exdates"`
	RecurrenceID     string   `json:"recurrence_id"`
	Instances        []string `json:"instances"`
}

type pyResult struct {
	Events []pyEvent           `json:"events"`
	Probes map[string][]string `json:"probes"`
}

// python returns the interpreter that has the icalendar module, or skips
// (fails under CI) when there is none.
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import icalendar, dateutil, zoneinfo").Run() == nil {
			return path
		}
	}
	msg := "python3 with the icalendar module (Debian: apt-get install python3-icalendar) is not installed; " +
		"the independent parse of the ICS feed did NOT run. It is required when CI is set."
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED (CI unset): " + msg)
	return ""
}

const pyDays = 200

func runPython(t *testing.T, feed []byte, probes map[string][]string) pyResult {
	t.Helper()
	py := python(t)
	path := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(path, feed, 0o600); err != nil {
		t.Fatal(err)
	}
	if probes == nil {
		probes = map[string][]string{}
	}
	in, err := json.Marshal(map[string]any{"days": pyDays, "probes": probes})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonCheck, path)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python icalendar check: %v\n%s", err, stderr.String())
	}
	var res pyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return res
}

func utcString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func TestFeedReadByPythonICalendar(t *testing.T) {
	owner, entries := fixture(t)
	feed := writeFeed(t, owner, entries)
	res := runPython(t, feed, nil)

	var want []pyEvent
	for _, e := range entries {
		s := e.Series
		if s.State == calendar.StatePaused {
			continue
		}
		rule, err := s.RRule()
		if err != nil {
			t.Fatal(err)
		}
		occ, err := s.Occurrences(s.Start, s.Start.AddDate(0, 0, pyDays).Add(time.Second), e.Overrides, feedNow)
		if err != nil {
			t.Fatal(err)
		}
		master := pyEvent{UID: UID(s.ID), RRule: rule, DTStartUTC: utcString(s.Start), DTStartVTimezone: utcString(s.Start), Exdates: []string{}, Instances: []string{}}
		var moved []pyEvent
		for _, o := range occ {
			switch o.Status {
			case calendar.StatusCancelled:
				master.Exdates = append(master.Exdates, utcString(o.OriginalStart))
				continue
			case calendar.StatusRescheduled:
				moved = append(moved, pyEvent{UID: UID(s.ID), DTStartUTC: utcString(o.Start), DTStartVTimezone: utcString(o.Start),
					RecurrenceID: utcString(o.OriginalStart), Exdates: []string{}, Instances: []string{}})
			}
			// python lists the rule's instances: moved ones at their original time.
			master.Instances = append(master.Instances, utcString(o.OriginalStart))
		}
		want = append(want, master)
		want = append(want, moved...)
	}
	slices.SortStableFunc(want, func(a, b pyEvent) int {
		if a.UID < b.UID {
			return -1
		} else if a.UID > b.UID {
			return 1
		}
		return 0
	})
	for i := range res.Events {
		if res.Events[i].Exdates == nil {
			res.Events[i].Exdates = []string{}
		}
		if res.Events[i].Instances == nil {
			res.Events[i].Instances = []string{}
		}
	}
	gotJSON, _ := json.MarshalIndent(res.Events, "", " ")
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("python icalendar reads\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

// TestVTimezoneAgainstPython evaluates each generated VTIMEZONE, with
// Python and nothing but its STANDARD/DAYLIGHT rules, at 10:00 and 23:30
// of every third day over two decades, and compares with Go's tzdata — in zones
// with the usual yearly rules, southern-hemisphere ones, a 30-minute DST
// shift, zones whose rules changed in the range, and zones without DST.
func TestVTimezoneAgainstPython(t *testing.T) {
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney", "Australia/Lord_Howe",
		"America/Santiago", "Asia/Tehran", "Europe/Moscow", "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Auckland",
		"Africa/Casablanca", "Asia/Jerusalem", "Etc/UTC", "Etc/GMT+5"}
	aiko := calendar.Person{Email: "aiko@example.com"}
	var entries []Entry
	probes := map[string][]string{}
	want := map[string][]string{}
	for i, tz := range zones {
		s := mustSeries(t, "s_z"+string(rune('a'+i)), tz, "2012-01-10T10:00", "weekly", aiko, calendar.Person{Email: "ren@example.com"})
		entries = append(entries, Entry{Series: s})
		loc := s.Start.Location()
		for d := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2031; d = d.AddDate(0, 0, 3) {
			for _, clock := range [][2]int{{10, 0}, {23, 30}} {
				lt := time.Date(d.Year(), d.Month(), d.Day(), clock[0], clock[1], 0, 0, loc)
				// Skip wall clocks that are skipped or repeated: their reading is a
				// convention, tested elsewhere.
				_, o1 := lt.Add(-3 * time.Hour).Zone()
				_, o2 := lt.Add(3 * time.Hour).Zone()
				if lt.Hour() != clock[0] || o1 != o2 {
					continue
				}
				probes[tz] = append(probes[tz], d.Format("20060102")+lt.Format("T150405"))
				want[tz] = append(want[tz], utcString(lt))
			}
		}
	}
	feed := writeFeed(t, aiko, entries)
	res := runPython(t, feed, probes)
	for _, tz := range zones {
		got := res.Probes[tz]
		if len(got) != len(want[tz]) {
			t.Errorf("%s: %d probes answered, want %d", tz, len(got), len(want[tz]))
			continue
		}
		bad := 0
		for i := range got {
			if got[i] != want[tz][i] && bad < 5 {
				t.Errorf("%s: local %s is %s by the VTIMEZONE, %s by Go", tz, probes[tz][i], got[i], want[tz][i])
				bad++
			}
		}
	}
	if t.Failed() {
		t.Logf("feed:\n%s", feed)
	}
}
