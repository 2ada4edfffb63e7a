package httpapi

import (
	"context"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// CurrentOccurrence returns the key of the occurrence a room or a home
// page is about now: the one in progress (until an hour after its end),
// else the next one, else the latest past one; "" when the series has none.
func CurrentOccurrence(ctx context.Context, src Series, ser calendar.Series, now time.Time) (string, error) {
	from, to := now.Add(-60*24*time.Hour), now.Add(400*24*time.Hour)
	ov, err := src.ListOverrides(ctx, ser.ID, from, to)
	if err != nil {
		return "", err
	}
	occ, err := ser.Occurrences(from, to, ov, now)
	if err != nil {
		return "", err
	}
	last := ""
	for _, o := range occ {
		if o.Status == calendar.StatusCancelled {
			continue
		}
		if o.End.Add(time.Hour).After(now) {
			return o.Key, nil
		}
		last = o.Key
	}
	return last, nil
}
