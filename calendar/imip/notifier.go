package imip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// Notifier is the calendar.Notifier of CalDAV calendars: it mails each
// attendee the event (REQUEST) or its cancellation (CANCEL).
type Notifier struct {
	sender *Sender
	log    *slog.Logger
	now    func() time.Time
}

var _ calendar.Notifier = (*Notifier)(nil)

// NewNotifier returns a notifier sending through s; logger may be nil,
// now may be nil (time.Now).
func NewNotifier(s *Sender, logger *slog.Logger, now func() time.Time) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Notifier{sender: s, log: logger, now: now}
}

// Notify implements calendar.Notifier. A recipient the relay refuses for
// good is logged and counted as done, so the event is not held back for
// ever; any other failure is returned, and the reconciler sends the whole
// notice again later (an event has one attendee, the report, so nobody is
// mailed twice in practice).
func (n *Notifier) Notify(ctx context.Context, kind calendar.NotifyKind, ev calendar.Event) error {
	var method Method
	switch kind {
	case calendar.NotifyRequest:
		method = MethodRequest
	case calendar.NotifyCancel:
		method = MethodCancel
	default:
		return fmt.Errorf("imip: unknown notice kind %q", kind)
	}
	msgs, err := Messages(method, ev, Options{From: n.sender.From(), Now: n.now()})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		err := n.sender.Send(ctx, m)
		var rej *RejectedError
		switch {
		case errors.As(err, &rej):
			n.log.WarnContext(ctx, "mail relay refused an attendee's address; not retried",
				"uid", m.UID, "method", string(m.Method), "code", rej.Code)
		case err != nil:
			return err
		default:
			n.log.DebugContext(ctx, "invitation mailed", "uid", m.UID, "method", string(m.Method), "sequence", m.Sequence)
		}
	}
	return nil
}
