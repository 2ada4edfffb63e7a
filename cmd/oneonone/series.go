package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

const seriesOverview = `Usage: oneonone series COMMAND [flags]

Manage 1on1 series through the daemon's API.

Commands:
  add      create a series: oneonone series add --manager EMAIL --report EMAIL --start 2026-12-01T10:00 --tz Asia/Tokyo
  list     list series as a table (or --json)
  show     show one series and its next 5 occurrences
  pause    stop a series from producing occurrences, keeping it
  resume   start a paused series again
  rm       delete a series
  import   create series from a CSV file

Run "oneonone series COMMAND --help" for a command's flags and an example.
`

func runSeries(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, seriesOverview)
		return &usageError{msg: "series: missing command", cmd: "series"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, seriesOverview)
		return errHelp
	case "add":
		return runSeriesAdd(ctx, e, rest)
	case "list", "ls":
		return runSeriesList(ctx, e, rest)
	case "show":
		return runSeriesShow(ctx, e, rest)
	case "pause":
		return runSeriesSetState(ctx, e, rest, "pause", "paused")
	case "resume":
		return runSeriesSetState(ctx, e, rest, "resume", "active")
	case "rm":
		return runSeriesRemove(ctx, e, rest)
	case "import":
		return runSeriesImport(ctx, e, rest)
	default:
		return &usageError{msg: fmt.Sprintf("series: unknown command %q", cmd), cmd: "series"}
	}
}

// personJSON and seriesJSON mirror the API's series shape (INTERFACE.md).
type personJSON struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type seriesJSON struct {
	ID       string     `json:"id,omitempty"`
	Manager  personJSON `json:"manager"`
	Report   personJSON `json:"report"`
	Start    string     `json:"start"`
	Timezone string     `json:"timezone"`
	Cadence  string     `json:"cadence,omitempty"`
	Duration string     `json:"duration,omitempty"`
	Team     string     `json:"team,omitempty"`
	Calendar string     `json:"calendar,omitempty"`
	State    string     `json:"state,omitempty"`
	RoomURL  string     `json:"room_url,omitempty"`
}

type occurrenceJSON struct {
	Key           string `json:"key"`
	Start         string `json:"start"`
	End           string `json:"end"`
	OriginalStart string `json:"original_start"`
	Status        string `json:"status"`
}

// --- add ---

const seriesAddUsage = `Usage: oneonone series add --manager EMAIL --report EMAIL --start DATETIME --tz ZONE [flags]

Create a 1on1 series. --start is the first meeting's wall-clock time in --tz;
every later meeting keeps that wall-clock time across DST changes.

Example:
  oneonone series add --manager aiko@example.com --report ren@example.com \
      --start 2026-12-01T10:00 --tz Asia/Tokyo --cadence biweekly --duration 30m --team platform
`

func runSeriesAdd(ctx context.Context, e env, args []string) error {
	c := newCommand("series add", seriesAddUsage)
	var cf clientFlags
	cf.register(c, e)
	var s seriesJSON
	c.fs.StringVar(&s.Manager.Email, "manager", "", "manager's `EMAIL` (required)")
	c.fs.StringVar(&s.Report.Email, "report", "", "report's `EMAIL` (required)")
	c.fs.StringVar(&s.Manager.Name, "manager-name", "", "manager's display `NAME`")
	c.fs.StringVar(&s.Report.Name, "report-name", "", "report's display `NAME`")
	c.fs.StringVar(&s.Start, "start", "", "first meeting, `YYYY-MM-DDTHH:MM` in --tz (required)")
	c.fs.StringVar(&s.Timezone, "tz", "", "IANA time `ZONE`, e.g. Asia/Tokyo (required)")
	c.fs.StringVar(&s.Cadence, "cadence", "", "weekly, biweekly, monthly, or an `RRULE` (server default: weekly)")
	c.fs.StringVar(&s.Duration, "duration", "", "meeting length, e.g. `30m` (server default: 30m)")
	c.fs.StringVar(&s.Team, "team", "", "team or org unit `NAME`, used as a metrics label")
	c.fs.StringVar(&s.Calendar, "calendar", "", "configured calendar `ID` (default: the built-in ICS feed)")
	asJSON := c.fs.Bool("json", false, "print the created series as JSON")
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	for _, req := range []struct{ flag, val string }{
		{"--manager", s.Manager.Email}, {"--report", s.Report.Email}, {"--start", s.Start}, {"--tz", s.Timezone},
	} {
		if req.val == "" {
			return c.usagef("missing required flag %s", req.flag)
		}
	}
	s.Start = normalizeStart(s.Start)
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var raw json.RawMessage
	if err := cl.doJSON(ctx, "POST", "/api/v1/series", nil, s, &raw); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, raw)
	}
	var created seriesJSON
	if err := json.Unmarshal(raw, &created); err != nil {
		return fmt.Errorf("decode created series: %w", err)
	}
	fmt.Fprintf(e.stdout, "created series %s (%s → %s, %s from %s %s)\n", created.ID,
		created.Manager.Email, created.Report.Email, orDash(created.Cadence), created.Start, created.Timezone)
	return nil
}

// normalizeStart lets users type minutes only ("2026-12-01T10:00"); the API
// takes the same wall-clock time with seconds.
func normalizeStart(s string) string {
	if t, err := time.Parse("2006-01-02T15:04", s); err == nil {
		return t.Format("2006-01-02T15:04:05")
	}
	return s
}

// --- list ---

const seriesListUsage = `Usage: oneonone series list [--team NAME] [--json]

List every series (all pages), as a table with the next occurrence of each,
or as JSON ({"series":[…]}).

Example:
  oneonone series list --team platform
`

func runSeriesList(ctx context.Context, e env, args []string) error {
	c := newCommand("series list", seriesListUsage)
	var cf clientFlags
	cf.register(c, e)
	team := c.fs.String("team", "", "only series of team `NAME`")
	asJSON := c.fs.Bool("json", false, "print JSON instead of a table")
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	raws, err := listAllSeries(ctx, cl, *team)
	if err != nil {
		return err
	}
	if *asJSON {
		if raws == nil {
			raws = []json.RawMessage{}
		}
		return printJSON(e.stdout, map[string]any{"series": raws})
	}
	series := make([]seriesJSON, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &series[i]); err != nil {
			return fmt.Errorf("decode series: %w", err)
		}
	}
	next := nextOfEach(ctx, cl, series, time.Now())
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTEAM\tMANAGER\tREPORT\tCADENCE\tNEXT\tSTATE")
	for i, s := range series {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, orDash(s.Team), s.Manager.Email, s.Report.Email,
			orDash(s.Cadence), orDash(next[i]), orDash(s.State))
	}
	return tw.Flush()
}

// listAllSeries follows next_cursor until the last page.
func listAllSeries(ctx context.Context, cl *client, team string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	cursor := ""
	for {
		q := url.Values{}
		if team != "" {
			q.Set("team", team)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Series     []json.RawMessage `json:"series"`
			NextCursor string            `json:"next_cursor"`
		}
		reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := cl.doJSON(reqCtx, "GET", "/api/v1/series", q, nil, &page)
		cancel()
		if err != nil {
			return nil, err
		}
		all = append(all, page.Series...)
		if page.NextCursor == "" || page.NextCursor == cursor {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// nextOfEach finds the next occurrence of every active series, a few
// requests at a time so a long list does not take one round trip per row
// in sequence. A series whose lookup fails shows "?".
func nextOfEach(ctx context.Context, cl *client, series []seriesJSON, now time.Time) []string {
	out := make([]string, len(series))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range work {
				if series[i].State == "paused" {
					continue
				}
				occ, err := upcoming(ctx, cl, series[i], 1, now, true)
				switch {
				case err != nil:
					out[i] = "?"
				case len(occ) > 0:
					out[i] = formatWhen(occ[0].Start)
				}
			}
		})
	}
	for i := range series {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// upcoming returns up to n occurrences of s starting after now, asking for
// a growing window so that weekly and yearly cadences both cost few
// requests. skipCancelled drops occurrences that will not take place.
func upcoming(ctx context.Context, cl *client, s seriesJSON, n int, now time.Time, skipCancelled bool) ([]occurrenceJSON, error) {
	id := s.ID
	// The window starts at now or at the series' first meeting, whichever
	// is later (a series may start years ahead), with a day of slack: the
	// API reads dates in the series' zone, up to 14 hours off UTC.
	base := now
	if start, err := time.Parse("2006-01-02T15:04:05", s.Start); err == nil && start.After(base) {
		base = start
	}
	from := base.AddDate(0, 0, -1)
	var found []occurrenceJSON
	for attempt, days := range []int{45, 400, 728} { // the API allows at most 2 years
		q := url.Values{}
		q.Set("from", from.Format("2006-01-02"))
		q.Set("to", from.AddDate(0, 0, days).Format("2006-01-02"))
		var page struct {
			Occurrences []occurrenceJSON `json:"occurrences"`
		}
		reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := cl.doJSON(reqCtx, "GET", "/api/v1/series/"+url.PathEscape(id)+"/occurrences", q, nil, &page)
		cancel()
		if err != nil {
			if attempt > 0 {
				// A wider window may exceed what the API allows; what we
				// have is the answer.
				return found, nil
			}
			return nil, err
		}
		found = found[:0]
		for _, o := range page.Occurrences {
			start, err := time.Parse(time.RFC3339, o.Start)
			if err != nil || !start.After(now) {
				continue
			}
			if skipCancelled && o.Status == "cancelled" {
				continue
			}
			found = append(found, o)
		}
		sort.SliceStable(found, func(i, j int) bool { return found[i].Start < found[j].Start })
		if len(found) >= n {
			return found[:n], nil
		}
	}
	return found, nil
}

// formatWhen shows an RFC 3339 time in the zone it was given in.
func formatWhen(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format("Mon 2006-01-02 15:04 -07:00")
}

// --- show ---

const seriesShowUsage = `Usage: oneonone series show ID [--json]

Show one series and its next 5 occurrences.

Example:
  oneonone series show s_01HZX3
`

func runSeriesShow(ctx context.Context, e env, args []string) error {
	c := newCommand("series show", seriesShowUsage)
	var cf clientFlags
	cf.register(c, e)
	asJSON := c.fs.Bool("json", false, `print JSON ({"series":…,"occurrences":[…]})`)
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos, "ID"); err != nil {
		return err
	}
	id := pos[0]
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
	err = cl.doJSON(reqCtx, "GET", "/api/v1/series/"+url.PathEscape(id), nil, nil, &raw)
	cancel()
	if err != nil {
		return err
	}
	var s seriesJSON
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decode series: %w", err)
	}
	occ, err := upcoming(ctx, cl, s, 5, time.Now(), false)
	if err != nil {
		return err
	}
	if *asJSON {
		if occ == nil {
			occ = []occurrenceJSON{}
		}
		return printJSON(e.stdout, map[string]any{"series": raw, "occurrences": occ})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("id", s.ID)
	row("manager", personString(s.Manager))
	row("report", personString(s.Report))
	row("start", s.Start+" "+s.Timezone)
	row("cadence", orDash(s.Cadence))
	row("duration", orDash(s.Duration))
	row("team", orDash(s.Team))
	row("calendar", orDash(s.Calendar))
	row("state", orDash(s.State))
	if s.RoomURL != "" {
		row("room", s.RoomURL)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	if len(occ) == 0 {
		fmt.Fprintln(e.stdout, "no upcoming occurrences")
		return nil
	}
	fmt.Fprintln(e.stdout, "next occurrences:")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tSTART\tSTATUS")
	for _, o := range occ {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.Key, formatWhen(o.Start), o.Status)
	}
	return tw.Flush()
}

func personString(p personJSON) string {
	if p.Name == "" {
		return p.Email
	}
	return fmt.Sprintf("%s <%s>", p.Name, p.Email)
}

// --- pause, resume, rm ---

func runSeriesSetState(ctx context.Context, e env, args []string, verb, state string) error {
	c := newCommand("series "+verb, fmt.Sprintf(`Usage: oneonone series %s ID

Set the series' state to %s.

Example:
  oneonone series %s s_01HZX3
`, verb, state, verb))
	var cf clientFlags
	cf.register(c, e)
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos, "ID"); err != nil {
		return err
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var s seriesJSON
	if err := cl.doJSON(ctx, "PATCH", "/api/v1/series/"+url.PathEscape(pos[0]), nil, map[string]string{"state": state}, &s); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "series %s is %s\n", pos[0], state)
	return nil
}

const seriesRmUsage = `Usage: oneonone series rm ID

Delete a series and what is recorded about its occurrences.

Example:
  oneonone series rm s_01HZX3
`

func runSeriesRemove(ctx context.Context, e env, args []string) error {
	c := newCommand("series rm", seriesRmUsage)
	var cf clientFlags
	cf.register(c, e)
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos, "ID"); err != nil {
		return err
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if err := cl.doJSON(ctx, "DELETE", "/api/v1/series/"+url.PathEscape(pos[0]), nil, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed series %s\n", pos[0])
	return nil
}

// --- import ---

const seriesImportUsage = `Usage: oneonone series import FILE.csv

Create series from a CSV file ("-" reads standard input). The header names
the columns: manager_email,report_email are required; manager_name,
report_name, team, start, timezone, cadence, duration and calendar are
optional. Rows whose manager/report pair already has a series are skipped,
so running the same import twice creates nothing the second time.
Rows without a timezone use --tz (default UTC). Prints what happened to
each line; exits 1 when any row failed.

Example:
  oneonone series import --tz Asia/Tokyo people.csv
`

// importReport is the API's answer to POST /api/v1/series/import.
type importReport struct {
	Created []struct {
		Line int    `json:"line"`
		ID   string `json:"id"`
	} `json:"created"`
	Skipped []struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	Errors []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// importTimeout bounds one import request; a file of thousands of rows is
// written row by row on the server.
const importTimeout = 30 * time.Minute

func runSeriesImport(ctx context.Context, e env, args []string) error {
	c := newCommand("series import", seriesImportUsage)
	var cf clientFlags
	cf.register(c, e)
	asJSON := c.fs.Bool("json", false, "print the server's report as JSON")
	tz := c.fs.String("tz", "", "time `ZONE` of rows without a timezone column (server default: UTC)")
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos, "FILE.csv"); err != nil {
		return err
	}
	var body io.Reader
	if pos[0] == "-" {
		body = e.stdin
	} else {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		body = f
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	q := url.Values{}
	if *tz != "" {
		q.Set("timezone", *tz)
	}
	data, err := cl.request(ctx, "POST", "/api/v1/series/import", q, body, "text/csv")
	var rep importReport
	if err != nil {
		// A 4xx that still carries a per-row report (no error envelope)
		// is a report, not a failure of the whole request.
		if data == nil || json.Unmarshal(data, &rep) != nil || (rep.Created == nil && rep.Skipped == nil && rep.Errors == nil) {
			return err
		}
	} else if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("import: decode report: %w", err)
	}
	if *asJSON {
		if err := printJSON(e.stdout, json.RawMessage(data)); err != nil {
			return err
		}
	} else {
		printImportReport(e.stdout, rep)
	}
	if len(rep.Errors) > 0 {
		return errSilent
	}
	return nil
}

func printImportReport(w io.Writer, rep importReport) {
	type line struct {
		n    int
		text string
	}
	var lines []line
	for _, c := range rep.Created {
		lines = append(lines, line{c.Line, "created " + c.ID})
	}
	for _, s := range rep.Skipped {
		lines = append(lines, line{s.Line, "skipped: " + s.Reason})
	}
	for _, e := range rep.Errors {
		msg := e.Message
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		lines = append(lines, line{e.Line, "error: " + msg})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].n < lines[j].n })
	for _, l := range lines {
		fmt.Fprintf(w, "line %d: %s\n", l.n, l.text)
	}
	fmt.Fprintf(w, "%d created, %d skipped, %d failed\n", len(rep.Created), len(rep.Skipped), len(rep.Errors))
}

// --- helpers ---

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
