package calendar

import (
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// DeriveStatus is the written definition of an occurrence's status. It
// looks at the occurrence's override (the zero Override when there is
// none), its end (the moved end for a moved occurrence) and the current
// time, and the first rule that matches wins:
//
//  1. cancelled   — the override cancels it (whoever did, whenever).
//  2. rescheduled — it was moved to another time. It stays rescheduled
//     whether or not it was then held; whether it was held is recorded
//     separately (the override's Held, the attendance).
//  3. held        — both participants joined the room.
//  4. missed      — its end has passed (now >= end) and nobody held it
//     and nobody cancelled it.
//  5. scheduled   — otherwise: it is still ahead, or in progress.
//
// held, cancelled and missed are final. rescheduled is final once its end
// has passed (see Occurrence.Final); scheduled never is.
func DeriveStatus(o Override, end time.Time, now time.Time) Status {
	switch {
	case o.Cancelled:
		return StatusCancelled
	case o.Moved():
		return StatusRescheduled
	case o.Held:
		return StatusHeld
	case !now.Before(end):
		return StatusMissed
	default:
		return StatusScheduled
	}
}

// Final reports whether the status can no longer change on its own:
// held, cancelled and missed. A rescheduled occurrence becomes final when
// its end passes, which the status alone cannot tell: use Occurrence.Final.
func (st Status) Final() bool {
	switch st {
	case StatusHeld, StatusCancelled, StatusMissed:
		return true
	}
	return false
}

// Final reports whether the occurrence's status is final at now: a final
// status, or rescheduled with its (moved) end passed. Metrics count an
// occurrence once, when this first becomes true.
func (o Occurrence) Final(now time.Time) bool {
	return o.Status.Final() || (o.Status == StatusRescheduled && !now.Before(o.End))
}

// Statuses lists every status, in the order of the lifecycle.
func Statuses() []Status {
	return []Status{StatusScheduled, StatusHeld, StatusCancelled, StatusRescheduled, StatusMissed}
}

// ParseStatus parses a status name (case and surrounding space ignored).
// The error is an *errs.Invalid on "status".
func ParseStatus(s string) (Status, error) {
	v := Status(strings.ToLower(strings.TrimSpace(s)))
	for _, st := range Statuses() {
		if v == st {
			return st, nil
		}
	}
	return "", errs.Invalidf("status", "%q is not a status; use scheduled, held, cancelled, rescheduled or missed", s)
}
