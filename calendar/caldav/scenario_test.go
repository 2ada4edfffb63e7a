package caldav_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/davtest"
	"github.com/oneonone/oneonone/internal/errs"
)

// open connects our client to s through a request counter.
func open(t *testing.T, s davtest.Server, mod func(*caldav.Config)) (*caldav.Calendar, *caldav.RequestCounter) {
	t.Helper()
	counter := &caldav.RequestCounter{}
	cfg := caldav.Config{URL: s.URL, Username: s.Username, Password: s.Password,
		HTTPClient: &http.Client{Transport: counter, Timeout: 30 * time.Second}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := caldav.Open(context.Background(), cfg, "aiko@example.com")
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.URL, err)
	}
	return c, counter
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// seriesEvent is the event of a weekly 1on1 of aiko and ren.
func seriesEvent(t *testing.T, id, zone string, start time.Time) calendar.Event {
	t.Helper()
	s := calendar.Series{ID: id, Manager: calendar.Person{Email: "aiko@example.com", Name: "Aiko"},
		Report: calendar.Person{Email: "ren@example.com", Name: "Ren"}, Start: start, Timezone: zone,
		Cadence: calendar.CadenceWeekly, Duration: 30 * time.Minute, State: calendar.StateActive, Version: 1}
	ev, err := icsfeed.SeriesEvent(icsfeed.Entry{Series: s, RoomURL: "http://localhost:8080/r/" + id}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// only asserts that ch holds exactly one update, of href, and returns it.
func only(t *testing.T, ch calendar.Changes, href string) calendar.Event {
	t.Helper()
	if ch.Full || len(ch.Deleted) != 0 || len(ch.Bad) != 0 || len(ch.Updated) != 1 || ch.Updated[0].Href != href {
		t.Fatalf("changes = full %v, updated %v, deleted %v, bad %v; want exactly one update of %s",
			ch.Full, hrefs(ch.Updated), ch.Deleted, ch.Bad, href)
	}
	return ch.Updated[0]
}

func hrefs(evs []calendar.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Href)
	}
	return out
}

// rawEdit changes an object the way another calendar client would: GET,
// edit the text, PUT with If-Match.
func rawEdit(t *testing.T, s davtest.Server, href string, edit func(string) string) {
	t.Helper()
	ctx := context.Background()
	body, etag, err := s.Get(ctx, href)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(body, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\n ", "") // unfold
	edited := edit(text)
	if edited == text {
		t.Fatalf("edit of %s changed nothing", href)
	}
	if _, err := s.Put(ctx, href, strings.ReplaceAll(edited, "\n", "\r\n"), etag); err != nil {
		t.Fatal(err)
	}
}

// addException inserts a VEVENT with a RECURRENCE-ID before the end of
// the calendar.
func addException(uid, body string) func(string) string {
	return func(text string) string {
		return strings.Replace(text, "END:VCALENDAR", "BEGIN:VEVENT\nUID:"+uid+"\nDTSTAMP:20261201T000000Z\n"+body+"END:VEVENT\nEND:VCALENDAR", 1)
	}
}

func TestScenario(t *testing.T) {
	davtest.Each(t, func(t *testing.T, s davtest.Server) {
		ctx := context.Background()
		cal, counter := open(t, s, nil)
		if cal.SyncCollection() != s.SyncCollection {
			t.Fatalf("SyncCollection() = %v, want %v", cal.SyncCollection(), s.SyncCollection)
		}
		tokyo, ny := mustLoc(t, "Asia/Tokyo"), mustLoc(t, "America/New_York")

		first, err := cal.Changes(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !first.Full || len(first.Updated) != 0 {
			t.Fatalf("first listing = full %v, %d events; want a full, empty listing", first.Full, len(first.Updated))
		}

		evTokyo := seriesEvent(t, "s_tokyo", "Asia/Tokyo", time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo))
		evNY := seriesEvent(t, "s_ny", "America/New_York", time.Date(2026, 12, 2, 9, 0, 0, 0, ny))
		refTokyo, err := cal.PutEvent(ctx, evTokyo, "")
		if err != nil {
			t.Fatal(err)
		}
		refNY, err := cal.PutEvent(ctx, evNY, "")
		if err != nil {
			t.Fatal(err)
		}
		if refTokyo.Href != cal.Href(evTokyo.UID) || refTokyo.ETag == "" {
			t.Fatalf("PutEvent = %+v, want href %s and an ETag", refTokyo, cal.Href(evTokyo.UID))
		}

		t.Run("raw REPORT sees what we wrote", func(t *testing.T) {
			objs, err := s.Query(ctx, s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 2 {
				t.Fatalf("calendar-query returned %d objects, want 2", len(objs))
			}
			for _, o := range objs {
				data := strings.ReplaceAll(strings.ReplaceAll(o.Data, "\r\n", "\n"), "\n ", "")
				want := []string{"BEGIN:VTIMEZONE", "RRULE:FREQ=WEEKLY", "SEQUENCE:1", "DTSTAMP:", "ORGANIZER;CN=Aiko:mailto:aiko@example.com",
					"RSVP=TRUE", "PARTSTAT=NEEDS-ACTION", "mailto:ren@example.com", "http://localhost:8080/r/"}
				if strings.Contains(data, "UID:s_tokyo@oneonone") {
					want = append(want, "DTSTART;TZID=Asia/Tokyo:20261201T100000", "TZID:Asia/Tokyo")
				} else {
					want = append(want, "DTSTART;TZID=America/New_York:20261202T090000", "TZID:America/New_York", "BEGIN:DAYLIGHT")
				}
				for _, w := range want {
					if !strings.Contains(data, w) {
						t.Errorf("object %s lacks %q:\n%s", o.Href, w, data)
					}
				}
				if regexp.MustCompile(`TZOFFSET(FROM|TO);VALUE=TEXT`).MatchString(data) {
					t.Errorf("object %s writes TZOFFSET with VALUE=TEXT", o.Href)
				}
				// An independent decoder must read it too.
				if _, err := ical.NewDecoder(strings.NewReader(o.Data)).Decode(); err != nil {
					t.Errorf("go-ical cannot decode %s: %v", o.Href, err)
				}
			}
		})

		ch, err := cal.Changes(ctx, first.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Full || len(ch.Updated) != 2 {
			t.Fatalf("after two creates: full %v, updated %v; want both, incrementally", ch.Full, hrefs(ch.Updated))
		}
		cursor := ch.Cursor
		for _, e := range ch.Updated {
			if e.UID == evTokyo.UID {
				if !e.Start.Equal(evTokyo.Start) || e.Start.Location().String() != "Asia/Tokyo" || e.Duration != 30*time.Minute ||
					e.RRule != "FREQ=WEEKLY" || e.Organizer.Email != "aiko@example.com" || len(e.Attendees) != 1 ||
					e.Attendees[0].Email != "ren@example.com" || e.ETag != refTokyo.ETag {
					t.Errorf("read back %+v, want what we wrote (%+v)", e, evTokyo)
				}
			}
		}

		poll := func(t *testing.T) calendar.Changes {
			t.Helper()
			ch, err := cal.Changes(ctx, cursor)
			if err != nil {
				t.Fatal(err)
			}
			cursor = ch.Cursor
			return ch
		}

		t.Run("no-change poll is one request", func(t *testing.T) {
			counter.Reset()
			ch := poll(t)
			if n := counter.Count(); n != 1 {
				t.Errorf("no-change poll made %d requests, want 1", n)
			}
			if len(ch.Updated)+len(ch.Deleted)+len(ch.Bad) != 0 || ch.Full {
				t.Errorf("no-change poll reported %+v", ch)
			}
		})

		t.Run("move one occurrence", func(t *testing.T) {
			rawEdit(t, s, refTokyo.Href, addException(evTokyo.UID,
				"RECURRENCE-ID;TZID=Asia/Tokyo:20261208T100000\nDTSTART;TZID=Asia/Tokyo:20261209T110000\nDTEND;TZID=Asia/Tokyo:20261209T113000\nSEQUENCE:2\nSUMMARY:moved\n"))
			e := only(t, poll(t), refTokyo.Href)
			if len(e.Exceptions) != 1 {
				t.Fatalf("exceptions = %+v, want one", e.Exceptions)
			}
			x := e.Exceptions[0]
			if !x.RecurrenceID.Equal(time.Date(2026, 12, 8, 10, 0, 0, 0, tokyo)) || !x.Start.Equal(time.Date(2026, 12, 9, 11, 0, 0, 0, tokyo)) ||
				x.End.Sub(x.Start) != 30*time.Minute || !x.Moved() || x.Cancelled {
				t.Errorf("exception = %+v, want Dec 8 10:00 moved to Dec 9 11:00 JST", x)
			}
		})

		t.Run("cancel one with EXDATE and one with STATUS:CANCELLED", func(t *testing.T) {
			rawEdit(t, s, refTokyo.Href, func(text string) string {
				text = strings.Replace(text, "RRULE:FREQ=WEEKLY\n", "RRULE:FREQ=WEEKLY\nEXDATE;TZID=Asia/Tokyo:20261215T100000\n", 1)
				return addException(evTokyo.UID, "RECURRENCE-ID;TZID=Asia/Tokyo:20261222T100000\nDTSTART;TZID=Asia/Tokyo:20261222T100000\nDURATION:PT30M\nSTATUS:CANCELLED\nSEQUENCE:2\n")(text)
			})
			e := only(t, poll(t), refTokyo.Href)
			if len(e.ExDates) != 1 || !e.ExDates[0].Equal(time.Date(2026, 12, 15, 10, 0, 0, 0, tokyo)) {
				t.Errorf("exdates = %v, want Dec 15 10:00 JST", e.ExDates)
			}
			if len(e.Exceptions) != 2 || !e.Exceptions[1].Cancelled || e.Exceptions[1].Moved() ||
				!e.Exceptions[1].RecurrenceID.Equal(time.Date(2026, 12, 22, 10, 0, 0, 0, tokyo)) {
				t.Errorf("exceptions = %+v, want Dec 22 cancelled", e.Exceptions)
			}
		})

		t.Run("attendee declines one occurrence", func(t *testing.T) {
			rawEdit(t, s, refTokyo.Href, addException(evTokyo.UID,
				"RECURRENCE-ID;TZID=Asia/Tokyo:20261229T100000\nDTSTART;TZID=Asia/Tokyo:20261229T100000\nDURATION:PT30M\nORGANIZER;CN=Aiko:mailto:aiko@example.com\nATTENDEE;CN=Ren;PARTSTAT=DECLINED:mailto:ren@example.com\nSEQUENCE:1\n"))
			e := only(t, poll(t), refTokyo.Href)
			if len(e.Exceptions) != 3 {
				t.Fatalf("exceptions = %+v, want three", e.Exceptions)
			}
			x := e.Exceptions[2]
			if got := e.PartStat(x, "REN@example.com"); got != calendar.PartStatDeclined || x.Moved() || x.Cancelled {
				t.Errorf("Dec 29: partstat %q, moved %v, cancelled %v; want declined, in place", got, x.Moved(), x.Cancelled)
			}
			if got := e.PartStat(e.Exceptions[0], "ren@example.com"); got != calendar.PartStatNeedsAction {
				t.Errorf("Dec 8 partstat = %q, want the master's NEEDS-ACTION", got)
			}
		})

		t.Run("change the series time", func(t *testing.T) {
			rawEdit(t, s, refNY.Href, func(text string) string {
				return strings.Replace(text, "DTSTART;TZID=America/New_York:20261202T090000", "DTSTART;TZID=America/New_York:20261202T143000", 1)
			})
			e := only(t, poll(t), refNY.Href)
			if want := time.Date(2026, 12, 2, 14, 30, 0, 0, ny); !e.Start.Equal(want) || e.Start.Location().String() != "America/New_York" {
				t.Errorf("start = %v, want %v", e.Start, want)
			}
		})

		t.Run("delete the whole event", func(t *testing.T) {
			if err := s.Delete(ctx, refTokyo.Href); err != nil {
				t.Fatal(err)
			}
			ch := poll(t)
			if ch.Full || len(ch.Updated) != 0 || len(ch.Deleted) != 1 || ch.Deleted[0].Href != refTokyo.Href {
				t.Fatalf("changes = full %v, updated %v, deleted %v; want only the deletion of %s", ch.Full, hrefs(ch.Updated), ch.Deleted, refTokyo.Href)
			}
		})

		t.Run("conditional writes", func(t *testing.T) {
			if _, err := cal.PutEvent(ctx, evNY, ""); !errors.Is(err, calendar.ErrEventExists) || !errors.Is(err, errs.ErrConflict) {
				t.Errorf("second create: %v, want ErrEventExists", err)
			}
			evNY.Sequence++
			if _, err := cal.PutEvent(ctx, evNY, refNY.ETag); !errors.Is(err, calendar.ErrPreconditionFailed) {
				t.Errorf("update with a stale ETag: %v, want ErrPreconditionFailed", err)
			}
			if err := cal.DeleteEvent(ctx, refNY, refNY.ETag); !errors.Is(err, calendar.ErrPreconditionFailed) {
				t.Errorf("delete with a stale ETag: %v, want ErrPreconditionFailed", err)
			}
			cur, err := cal.GetEvent(ctx, calendar.EventRef{UID: evNY.UID})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := cal.PutEvent(ctx, evNY, cur.ETag)
			if err != nil {
				t.Fatalf("update with the current ETag: %v", err)
			}
			if got, err := cal.GetEvent(ctx, ref); err != nil || got.Sequence != evNY.Sequence || (ref.ETag != "" && got.ETag != ref.ETag) {
				t.Errorf("after update: %+v, %v; want sequence %d, etag %s", got, err, evNY.Sequence, ref.ETag)
			}
			if err := cal.DeleteEvent(ctx, ref, ref.ETag); err != nil {
				t.Fatalf("delete with the current ETag: %v", err)
			}
			if _, err := cal.GetEvent(ctx, ref); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("get after delete: %v, want ErrNotFound", err)
			}
			if err := cal.DeleteEvent(ctx, ref, ""); !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("delete again: %v, want ErrNotFound", err)
			}
			ch := poll(t)
			if len(ch.Deleted) != 1 || ch.Deleted[0].Href != refNY.Href || len(ch.Updated) != 0 {
				t.Errorf("after update+delete: updated %v, deleted %v; want the deletion only", hrefs(ch.Updated), ch.Deleted)
			}
		})

		t.Run("unreadable cursor lists everything", func(t *testing.T) {
			if _, err := cal.PutEvent(ctx, evTokyo, ""); err != nil {
				t.Fatal(err)
			}
			ch, err := cal.Changes(ctx, "not a cursor")
			if err != nil {
				t.Fatal(err)
			}
			if !ch.Full || len(ch.Updated) != 1 || ch.Updated[0].UID != evTokyo.UID || len(ch.Deleted) != 0 {
				t.Errorf("changes = full %v, updated %v, deleted %v; want a full listing of the Tokyo event", ch.Full, hrefs(ch.Updated), ch.Deleted)
			}
			cursor = ch.Cursor
		})

		t.Run("bad object is reported and skipped", func(t *testing.T) {
			// Both servers store an event that ends before it starts; we
			// cannot make a series of it.
			orphan := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\nUID:bad@other\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261208T010000Z\r\nDTEND:20261208T000000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
			if _, err := s.Put(ctx, s.URL+"orphan.ics", orphan, ""); err != nil {
				t.Fatal(err)
			}
			rawEdit(t, s, cal.Href(evTokyo.UID), func(text string) string { return strings.Replace(text, "SEQUENCE:1", "SEQUENCE:5", 1) })
			ch := poll(t)
			if len(ch.Bad) != 1 || !strings.HasSuffix(ch.Bad[0].Href, "/orphan.ics") || len(ch.Updated) != 1 || ch.Updated[0].Sequence != 5 {
				t.Errorf("changes = updated %v, bad %v; want the Tokyo event and orphan.ics as bad", hrefs(ch.Updated), ch.Bad)
			}
			if ch := poll(t); len(ch.Bad)+len(ch.Updated) != 0 {
				t.Errorf("next poll repeats: updated %v, bad %v", hrefs(ch.Updated), ch.Bad)
			}
		})
	})
}

func TestCTagListing(t *testing.T) {
	davtest.Each(t, func(t *testing.T, s davtest.Server) {
		ctx := context.Background()
		cal, counter := open(t, s, func(c *caldav.Config) { c.NoSyncCollection = true })
		if cal.SyncCollection() {
			t.Fatal("NoSyncCollection did not switch sync-collection off")
		}
		ev := seriesEvent(t, "s_ctag", "Asia/Tokyo", time.Date(2026, 12, 1, 10, 0, 0, 0, mustLoc(t, "Asia/Tokyo")))
		ref, err := cal.PutEvent(ctx, ev, "")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := cal.Changes(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Full || len(ch.Updated) != 1 {
			t.Fatalf("first listing: full %v, updated %v", ch.Full, hrefs(ch.Updated))
		}
		counter.Reset()
		ch, err = cal.Changes(ctx, ch.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		if n := counter.Count(); n != 1 || len(ch.Updated)+len(ch.Deleted) != 0 {
			t.Errorf("no-change poll: %d requests, %d changes; want 1 request (getctag), nothing", n, len(ch.Updated)+len(ch.Deleted))
		}
		rawEdit(t, s, ref.Href, addException(ev.UID, "RECURRENCE-ID;TZID=Asia/Tokyo:20261208T100000\nDTSTART;TZID=Asia/Tokyo:20261208T100000\nDURATION:PT30M\nSTATUS:CANCELLED\n"))
		ch, err = cal.Changes(ctx, ch.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		if e := only(t, ch, ref.Href); len(e.Exceptions) != 1 || !e.Exceptions[0].Cancelled {
			t.Errorf("exceptions = %+v, want one cancelled", e.Exceptions)
		}
		if err := s.Delete(ctx, ref.Href); err != nil {
			t.Fatal(err)
		}
		ch, err = cal.Changes(ctx, ch.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Full || len(ch.Deleted) != 1 || ch.Deleted[0].Href != ref.Href || len(ch.Updated) != 0 {
			t.Errorf("after delete: full %v, updated %v, deleted %v", ch.Full, hrefs(ch.Updated), ch.Deleted)
		}
	})
}

func TestDiscoveryAndCreate(t *testing.T) {
	davtest.Each(t, func(t *testing.T, s davtest.Server) {
		ctx := context.Background()
		t.Run("from the server root", func(t *testing.T) {
			cal, _ := open(t, s, func(c *caldav.Config) { c.URL = s.Root })
			if cal.URL() != s.URL {
				t.Errorf("discovered %s, want %s", cal.URL(), s.URL)
			}
		})
		parent := s.URL[:strings.LastIndex(strings.TrimSuffix(s.URL, "/"), "/")+1]
		t.Run("missing calendar without create", func(t *testing.T) {
			_, err := caldav.Open(ctx, caldav.Config{URL: parent + "nope/", Username: s.Username, Password: s.Password}, "")
			if !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("Open of a missing calendar: %v, want ErrNotFound", err)
			}
		})
		t.Run("URL template and MKCALENDAR", func(t *testing.T) {
			tmpl := strings.Replace(parent, "/aiko/", "/{user}/", 1) + "made-by-us"
			cal, _ := open(t, s, func(c *caldav.Config) { c.URL = tmpl; c.Create = true })
			if want := parent + "made-by-us/"; cal.URL() != want {
				t.Fatalf("created %s, want %s", cal.URL(), want)
			}
			ev := seriesEvent(t, "s_made", "Asia/Tokyo", time.Date(2026, 12, 1, 10, 0, 0, 0, mustLoc(t, "Asia/Tokyo")))
			if _, err := cal.PutEvent(ctx, ev, ""); err != nil {
				t.Fatal(err)
			}
			objs, err := s.Query(ctx, cal.URL())
			if err != nil || len(objs) != 1 {
				t.Fatalf("raw query of the new calendar: %d objects, %v", len(objs), err)
			}
		})
		if s.Auth {
			t.Run("wrong password", func(t *testing.T) {
				_, err := caldav.Open(ctx, caldav.Config{URL: s.URL, Username: s.Username, Password: "wrong"}, "")
				pe, ok := calendar.AsProviderError(err)
				if !ok || pe.Reason != calendar.ReasonUnauthorized || pe.Retryable() || !errors.Is(err, errs.ErrUnauthorized) {
					t.Errorf("Open with a wrong password: %v, want an unauthorized ProviderError", err)
				}
			})
		}
	})
}
