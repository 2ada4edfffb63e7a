package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip/smtptest"
	"github.com/oneonone/oneonone/config"
)

// CalDAV calendars are mailed through the relay; Google calendars never
// (Google sends its own), nor anything when no relay is configured.
func TestCalendarNotifier(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Config{Username: "bot", Password: "pw", AllowInsecureAuth: true})
	withSMTP := config.Config{SMTP: config.SMTPConfig{Host: relay.Host, Port: relay.Port, Username: "bot",
		Password: config.NewSecret("pw"), From: "1on1 <bot@example.com>"}}
	caldav := config.CalendarConfig{ID: "team", CalDAV: &config.CalDAVConfig{URL: "http://127.0.0.1:5232/aiko/1on1/"}}
	google := config.CalendarConfig{ID: "g", Google: &config.GoogleConfig{}}
	logger := slog.New(slog.DiscardHandler)

	if n := calendarNotifier(withSMTP, google, logger); n != nil {
		t.Error("a Google calendar got a notifier: attendees would be invited twice")
	}
	if n := calendarNotifier(config.Config{}, caldav, logger); n != nil {
		t.Error("a notifier without a relay")
	}
	n := calendarNotifier(withSMTP, caldav, logger)
	if n == nil {
		t.Fatal("no notifier for a CalDAV calendar with a relay")
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ev := calendar.Event{UID: "s_1@oneonone", Start: time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo), Duration: 30 * time.Minute,
		RRule: "FREQ=WEEKLY", Summary: "1on1: Aiko / Ren", Organizer: calendar.Attendee{Email: "aiko@example.com"},
		Attendees: []calendar.Attendee{{Email: "ren@example.com"}}}
	if err := n.Notify(context.Background(), calendar.NotifyRequest, ev); err != nil {
		t.Fatal(err)
	}
	got := relay.Messages()
	if len(got) != 1 || got[0].AuthUser != "bot" || got[0].From != "bot@example.com" || got[0].To[0] != "ren@example.com" {
		t.Fatalf("relay received %+v", got)
	}
}
