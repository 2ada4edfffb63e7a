package daemon

// iMIP wiring: CalDAV servers such as Radicale and Xandikos send no
// invitations, so for CalDAV calendars the daemon mails attendees itself
// (calendar/imip) through the configured SMTP relay. Google sends its own
// (sendUpdates=all), so Google calendars get no notifier: attendees would
// otherwise get every invitation twice.

import (
	"log/slog"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip"
	"github.com/oneonone/oneonone/config"
)

// calendarNotifier returns the notifier of one configured calendar, or
// nil when nobody is to be mailed by us: a Google calendar, or no relay
// configured.
func calendarNotifier(cfg config.Config, cc config.CalendarConfig, logger *slog.Logger) calendar.Notifier {
	if cc.CalDAV == nil {
		return nil
	}
	if !cfg.SMTP.Enabled() {
		logger.Info("no smtp relay configured: attendees of this CalDAV calendar are not mailed invitations", "calendar", cc.ID)
		return nil
	}
	s, err := imip.NewSender(imip.SenderConfig{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port,
		Username: cfg.SMTP.Username, Password: cfg.SMTP.Password.Reveal(),
		From: cfg.SMTP.From, StartTLS: cfg.SMTP.StartTLS,
	})
	if err != nil {
		// Validation checks smtp.* first, so this is a bug, not a typo;
		// say so loudly and keep the calendar in sync all the same.
		logger.Error("smtp relay unusable: attendees of this CalDAV calendar are not mailed invitations", "calendar", cc.ID, "err", err)
		return nil
	}
	return imip.NewNotifier(s, logger.With("calendar", cc.ID), nil)
}
