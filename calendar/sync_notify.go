package calendar

// Notifying attendees of our writes, for calendars whose server does not
// do it (iMIP e-mail for CalDAV servers without scheduling; Google sends
// its own invitations, so its calendars have no Notifier). The reconciler
// decides when attendees should hear something and keeps a record of the
// last message sent (SyncState.Notified), so a message that could not be
// sent is sent on a later round, and one that was sent is not sent again.

import (
	"context"
	"errors"
	"fmt"

	"github.com/oneonone/oneonone/internal/errs"
)

// NotifyKind is which message a change calls for (RFC 5546 methods).
type NotifyKind string

const (
	// NotifyRequest: the event was created or changed (METHOD:REQUEST).
	NotifyRequest NotifyKind = "request"
	// NotifyCancel: the event was removed (METHOD:CANCEL).
	NotifyCancel NotifyKind = "cancel"
)

// Notifier tells an event's attendees about it. ev is the whole event as
// the calendar holds it, with the Sequence the message must carry (for a
// cancel: bumped, Status EventCancelled). An error means "not sent, try
// again later": the reconciler logs it and calls again on a later round.
// A notifier that can never deliver to someone (the relay refuses the
// address for good) should log that and return nil.
type Notifier interface {
	Notify(ctx context.Context, kind NotifyKind, ev Event) error
}

// Notice is the last message sent to an event's attendees; the zero value
// means none was sent.
type Notice struct {
	Kind     NotifyKind
	Sequence int
}

// requestPending reports whether the attendees have not yet heard of the
// event as last written.
func (st SyncState) requestPending() bool {
	return st.Notified.Kind != NotifyRequest || st.Notified.Sequence < st.Sequence
}

// pulledSequence takes the SEQUENCE of the event as read from the
// calendar. A change someone made in their calendar app is theirs to
// announce, so when nothing of ours is waiting to be sent, the notice
// record moves along with it; when something is, the pending REQUEST
// goes out later with the newer event.
func (st *SyncState) pulledSequence(seq int) {
	if seq <= st.Sequence {
		return
	}
	if !st.requestPending() {
		st.Notified.Sequence = seq
	}
	st.Sequence = seq
}

// notify sends one message and records it in st (the caller stores st).
// It reports whether the message went out; a failure is logged, and the
// record left as it was so a later round sends it.
func (r *Reconciler) notify(ctx context.Context, st *SyncState, kind NotifyKind, ev Event) bool {
	if err := r.cfg.Notifier.Notify(ctx, kind, ev); err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "attendees could not be notified; trying again next round",
				"series", st.SeriesID, "kind", string(kind), "sequence", ev.Sequence, "err", err)
		}
		return false
	}
	st.Notified = Notice{Kind: kind, Sequence: ev.Sequence}
	r.log.InfoContext(ctx, "attendees notified", "series", st.SeriesID, "kind", string(kind), "sequence", ev.Sequence)
	return true
}

// notifyWritten tells the attendees of an event we just wrote (called by
// written, which stores st afterwards).
func (r *Reconciler) notifyWritten(ctx context.Context, st *SyncState, ev Event) {
	if r.cfg.Notifier == nil || !st.requestPending() {
		return
	}
	r.notify(ctx, st, NotifyRequest, ev)
}

// notifyPending sends a REQUEST that an earlier round could not send. It
// reads the event back, so the message carries what the calendar holds
// now; it costs nothing when nothing is pending.
func (r *Reconciler) notifyPending(ctx context.Context, st *SyncState) error {
	if r.cfg.Notifier == nil || st.Remote != RemoteSynced || st.Href == "" || !st.requestPending() {
		return nil
	}
	ev, err := r.cfg.Provider.GetEvent(ctx, st.ref())
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return nil // deleted in the calendar: the next pull detaches it
	case err != nil:
		return fmt.Errorf("calendar %s: series %s: read event to notify attendees: %w", r.cfg.CalendarID, st.SeriesID, err)
	case ev.Status == EventCancelled:
		return nil
	}
	ev.Sequence = max(ev.Sequence, st.Sequence)
	if !r.notify(ctx, st, NotifyRequest, ev) {
		return nil
	}
	return r.putState(ctx, st)
}

// notifyCancel sends the CANCEL of an event we are about to delete, and
// reports whether the delete may go ahead. The message is built from the
// event before it is gone, so when it cannot be sent the event is kept
// (and the delete retried with the message next round) rather than the
// attendees never hearing of it. Attendees who were never sent a REQUEST,
// or were already sent this CANCEL, get nothing.
func (r *Reconciler) notifyCancel(ctx context.Context, st *SyncState) (bool, error) {
	if r.cfg.Notifier == nil || st.Notified.Kind != NotifyRequest {
		return true, nil
	}
	ev, err := r.cfg.Provider.GetEvent(ctx, EventRef{UID: st.UID, Href: st.Href})
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("calendar %s: series %s: read event to cancel it: %w", r.cfg.CalendarID, st.SeriesID, err)
	case ev.Status == EventCancelled:
		return true, nil
	}
	ev.Sequence = max(ev.Sequence, st.Sequence, st.Notified.Sequence) + 1
	ev.Status = EventCancelled
	if !r.notify(ctx, st, NotifyCancel, ev) {
		return false, nil
	}
	// A recreated event must take over this cancel, and a failed delete
	// must not send it twice.
	st.Sequence = ev.Sequence
	return true, r.putState(ctx, st)
}
