package synctest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/internal/davtest"
)

// CalDAVRemote is raw access to a davtest server's calendar: REPORT to
// find objects, GET, edit the text the way a calendar app rewrites an
// object, PUT with If-Match.
type CalDAVRemote struct{ Server davtest.Server }

var _ Remote = CalDAVRemote{}

func (c CalDAVRemote) objects(ctx context.Context, uid string) ([]davtest.Object, error) {
	objs, err := c.Server.Query(ctx, c.Server.URL)
	if err != nil {
		return nil, err
	}
	var out []davtest.Object
	for _, o := range objs {
		if strings.Contains(unfold(o.Data), "\nUID:"+uid+"\n") {
			out = append(out, o)
		}
	}
	return out, nil
}

// Count implements Remote.
func (c CalDAVRemote) Count(ctx context.Context, uid string) (int, error) {
	objs, err := c.objects(ctx, uid)
	return len(objs), err
}

func (c CalDAVRemote) one(ctx context.Context, uid string) (davtest.Object, error) {
	objs, err := c.objects(ctx, uid)
	if err != nil {
		return davtest.Object{}, err
	}
	if len(objs) != 1 {
		return davtest.Object{}, fmt.Errorf("synctest: %d objects hold UID %s, want 1", len(objs), uid)
	}
	return objs[0], nil
}

func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n ", "")
}

// edit rewrites the object holding uid.
func (c CalDAVRemote) edit(ctx context.Context, uid string, f func(text string, loc *time.Location) (string, error)) error {
	o, err := c.one(ctx, uid)
	if err != nil {
		return err
	}
	body, etag, err := c.Server.Get(ctx, o.Href)
	if err != nil {
		return err
	}
	text := unfold(body)
	loc := time.UTC
	if m := tzidRe.FindStringSubmatch(text); m != nil {
		if l, err := time.LoadLocation(m[1]); err == nil {
			loc = l
		}
	}
	edited, err := f(text, loc)
	if err != nil {
		return err
	}
	if edited == text {
		return fmt.Errorf("synctest: edit of %s changed nothing", o.Href)
	}
	_, err = c.Server.Put(ctx, o.Href, strings.ReplaceAll(edited, "\n", "\r\n"), etag)
	return err
}

var (
	tzidRe     = regexp.MustCompile(`\nDTSTART;TZID=([^:;]+):`)
	dtstartRe  = regexp.MustCompile(`\nDTSTART(;TZID=[^:;]+)?:(\d{8}T\d{6}Z?)\n`)
	durationRe = regexp.MustCompile(`\nDURATION:PT(?:(\d+)H)?(?:(\d+)M)?\n`)
)

func local(t time.Time, loc *time.Location) string {
	return "TZID=" + loc.String() + ":" + t.In(loc).Format("20060102T150405")
}

func exception(uid, body string) func(string, *time.Location) (string, error) {
	return func(text string, _ *time.Location) (string, error) {
		return strings.Replace(text, "END:VCALENDAR",
			"BEGIN:VEVENT\nUID:"+uid+"\nDTSTAMP:20261201T000000Z\n"+body+"END:VEVENT\nEND:VCALENDAR", 1), nil
	}
}

// master returns the text of the first VEVENT (ours write the master first).
func master(text string) string {
	i := strings.Index(text, "BEGIN:VEVENT")
	j := strings.Index(text[i:], "END:VEVENT")
	return text[i : i+j]
}

// Timing implements Remote.
func (c CalDAVRemote) Timing(ctx context.Context, uid string) (time.Time, time.Duration, error) {
	o, err := c.one(ctx, uid)
	if err != nil {
		return time.Time{}, 0, err
	}
	m := master(unfold(o.Data))
	sm := dtstartRe.FindStringSubmatch(m)
	if sm == nil {
		return time.Time{}, 0, fmt.Errorf("synctest: no DTSTART in %s", o.Href)
	}
	loc := time.UTC
	if sm[1] != "" {
		if loc, err = time.LoadLocation(strings.TrimPrefix(sm[1], ";TZID=")); err != nil {
			return time.Time{}, 0, err
		}
	}
	start, err := time.ParseInLocation("20060102T150405", strings.TrimSuffix(sm[2], "Z"), loc)
	if err != nil {
		return time.Time{}, 0, err
	}
	var d time.Duration
	if dm := durationRe.FindStringSubmatch(m); dm != nil {
		h, _ := strconv.Atoi(dm[1])
		mi, _ := strconv.Atoi(dm[2])
		d = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute
	}
	return start, d, nil
}

// MoveOccurrence implements Remote: an exception VEVENT with the new time.
func (c CalDAVRemote) MoveOccurrence(ctx context.Context, uid string, orig, start time.Time, d time.Duration) error {
	return c.edit(ctx, uid, func(text string, loc *time.Location) (string, error) {
		return exception(uid, "RECURRENCE-ID;"+local(orig, loc)+"\nDTSTART;"+local(start, loc)+"\nDTEND;"+
			local(start.Add(d), loc)+"\nSEQUENCE:5\nSUMMARY:moved\n")(text, loc)
	})
}

// CancelOccurrence implements Remote: an EXDATE on the master, as most
// calendar apps do when the organizer deletes one occurrence.
func (c CalDAVRemote) CancelOccurrence(ctx context.Context, uid string, orig time.Time) error {
	return c.edit(ctx, uid, func(text string, loc *time.Location) (string, error) {
		i := strings.Index(text, "\nRRULE:")
		if i < 0 {
			return "", fmt.Errorf("synctest: no RRULE")
		}
		return text[:i] + "\nEXDATE;" + local(orig, loc) + text[i:], nil
	})
}

// DeclineOccurrence implements Remote: an exception in which the attendee
// is DECLINED (what the organizer's copy holds after the reply).
func (c CalDAVRemote) DeclineOccurrence(ctx context.Context, uid string, orig time.Time, attendee string) error {
	return c.edit(ctx, uid, func(text string, loc *time.Location) (string, error) {
		return exception(uid, "RECURRENCE-ID;"+local(orig, loc)+"\nDTSTART;"+local(orig, loc)+
			"\nDURATION:PT30M\nATTENDEE;PARTSTAT=DECLINED:mailto:"+attendee+"\nSEQUENCE:1\n")(text, loc)
	})
}

// MoveSeries implements Remote: a new DTSTART on the master.
func (c CalDAVRemote) MoveSeries(ctx context.Context, uid string, start time.Time) error {
	return c.edit(ctx, uid, func(text string, loc *time.Location) (string, error) {
		i := strings.Index(text, "BEGIN:VEVENT")
		loc2 := dtstartRe.FindStringIndex(text[i:])
		if loc2 == nil {
			return "", fmt.Errorf("synctest: no DTSTART")
		}
		a, b := i+loc2[0], i+loc2[1]
		return text[:a] + "\nDTSTART;" + local(start, loc) + "\n" + text[b:], nil
	})
}

// DeleteSeries implements Remote.
func (c CalDAVRemote) DeleteSeries(ctx context.Context, uid string) error {
	o, err := c.one(ctx, uid)
	if err != nil {
		return err
	}
	return c.Server.Delete(ctx, o.Href)
}

// PutBroken implements Remote: an event that ends before it starts, which
// both servers store and no series can be made of.
func (c CalDAVRemote) PutBroken(ctx context.Context) error {
	orphan := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\nUID:broken@other\r\n" +
		"DTSTAMP:20261201T000000Z\r\nDTSTART:20261208T010000Z\r\nDTEND:20261208T000000Z\r\nRRULE:FREQ=WEEKLY\r\n" +
		"SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	_, err := c.Server.Put(ctx, c.Server.URL+"broken.ics", orphan, "")
	return err
}

// CalDAV opens our CalDAV provider on s through a request counter and a
// fault-injecting transport, with raw access through s.
func CalDAV(t testing.TB, s davtest.Server) Backend {
	t.Helper()
	faults := &FaultTransport{}
	counter := &caldav.RequestCounter{Base: faults}
	open := func(password string, rt http.RoundTripper) calendar.Provider {
		c, err := caldav.Open(context.Background(), caldav.Config{URL: s.URL, Username: s.Username, Password: password,
			HTTPClient: &http.Client{Transport: rt, Timeout: 10 * time.Second}}, "aiko@example.com")
		if err != nil {
			t.Fatalf("caldav.Open(%s): %v", s.URL, err)
		}
		return c
	}
	b := Backend{Name: s.Name, ProviderName: "caldav", Provider: open(s.Password, counter), Remote: CalDAVRemote{Server: s},
		FailNext: faults.FailNext, Requests: counter.Count}
	if s.Auth {
		b.BadCredentials = func(t testing.TB) calendar.Provider {
			// Open with the right password (discovery), then write with a
			// wrong one: the password was changed while the daemon ran.
			wrong := &passwordSwap{base: http.DefaultTransport, user: s.Username, password: "wrong"}
			return open(s.Password, wrong)
		}
	}
	return b
}

// passwordSwap replaces basic auth after the first request.
type passwordSwap struct {
	base           http.RoundTripper
	user, password string
	n              int
}

func (p *passwordSwap) RoundTrip(req *http.Request) (*http.Response, error) {
	p.n++
	if p.n > 2 {
		req = req.Clone(req.Context())
		req.SetBasicAuth(p.user, p.password)
	}
	return p.base.RoundTrip(req)
}
