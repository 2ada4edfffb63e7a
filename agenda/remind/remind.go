// Package remind owns the agenda's e-mail reminders: a nudge to both
// people of a series to prepare the agenda some time before each
// occurrence (their own agenda link, the open action items), and a short
// summary after it (its action items only). Each goes out once, claimed in
// the store before sending. It never mails a note, a talking point or a
// private note, and logs no item text.
package remind

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
)

// Reminder kinds, as stored.
const (
	KindPrep    = "prep"
	KindSummary = "summary"
)

// Store is what reminders need of the store.
type Store interface {
	ListSeries(ctx context.Context, opt calendar.ListOptions) ([]calendar.Series, error)
	ListOverrides(ctx context.Context, seriesID string, from, to time.Time) ([]calendar.Override, error)
	ClaimReminder(ctx context.Context, seriesID, occurrence, kind string, at time.Time) (bool, error)
	ReleaseReminder(ctx context.Context, seriesID, occurrence, kind string) error
}

// Mailer sends one plain-text message (identity.SMTPMailer).
type Mailer interface {
	Send(ctx context.Context, to, subject, textBody string) error
}

// Options configure a Reminders.
type Options struct {
	Store  Store
	Agenda *agenda.Service
	Mailer Mailer
	// PersonalLink returns a person's personal link to the series' room
	// (PublicURL/r/{id}?t=…); its token is moved onto the agenda page.
	PersonalLink func(ctx context.Context, seriesID, email, role string) (string, error)
	// Before is how long before an occurrence the prep nudge goes; 0
	// sends none.
	Before time.Duration
	// SummaryWithin is how long after an occurrence's end its summary may
	// still go (a daemon that was down longer skips it); default 48h.
	SummaryWithin time.Duration
	// Interval between passes; default 1m.
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Reminders sends the reminders.
type Reminders struct{ o Options }

// New returns Reminders.
func New(o Options) *Reminders {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.SummaryWithin <= 0 {
		o.SummaryWithin = 48 * time.Hour
	}
	return &Reminders{o: o}
}

// Run passes every Interval until ctx ends.
func (r *Reminders) Run(ctx context.Context) error {
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.o.Logger.Warn("agenda reminders: pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Pass sends what is due now and returns how many messages went out.
func (r *Reminders) Pass(ctx context.Context) (int, error) {
	now := r.o.Now()
	sent, after := 0, ""
	for {
		page, err := r.o.Store.ListSeries(ctx, calendar.ListOptions{After: after, Limit: 200})
		if err != nil {
			return sent, fmt.Errorf("remind: list series: %w", err)
		}
		for _, se := range page {
			if se.State != calendar.StateActive {
				continue
			}
			n, err := r.series(ctx, se, now)
			sent += n
			if err != nil {
				r.o.Logger.Warn("agenda reminders: series", "series", se.ID, "err", err)
			}
		}
		if len(page) < 200 {
			return sent, nil
		}
		after = page[len(page)-1].ID
	}
}

func (r *Reminders) series(ctx context.Context, se calendar.Series, now time.Time) (int, error) {
	from, to := now.Add(-r.o.SummaryWithin-se.Duration), now.Add(r.o.Before)
	ov, err := r.o.Store.ListOverrides(ctx, se.ID, from, to)
	if err != nil {
		return 0, err
	}
	occ, err := se.Occurrences(from, to, ov, now)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, o := range occ {
		if o.Status == calendar.StatusCancelled {
			continue
		}
		var kind string
		switch {
		case r.o.Before > 0 && o.Start.After(now) && !o.Start.After(now.Add(r.o.Before)):
			kind = KindPrep
		case !o.End.After(now) && now.Sub(o.End) <= r.o.SummaryWithin:
			kind = KindSummary
		default:
			continue
		}
		ok, err := r.o.Store.ClaimReminder(ctx, se.ID, o.Key, kind, now)
		if err != nil || !ok {
			if err != nil {
				return sent, err
			}
			continue
		}
		n, err := r.send(ctx, se, o, kind)
		sent += n
		if err != nil {
			if n == 0 {
				// Nobody got it: try again at a later pass.
				if rerr := r.o.Store.ReleaseReminder(ctx, se.ID, o.Key, kind); rerr != nil {
					r.o.Logger.Warn("agenda reminders: release", "series", se.ID, "err", rerr)
				}
			}
			return sent, err
		}
		r.o.Logger.Info("agenda reminder sent", "series", se.ID, "occurrence", o.Key, "kind", kind, "recipients", n)
	}
	return sent, nil
}

type person struct {
	p    calendar.Person
	role agenda.Role
	peer calendar.Person
}

func (r *Reminders) send(ctx context.Context, se calendar.Series, o calendar.Occurrence, kind string) (int, error) {
	actor := agenda.Actor{Email: se.Manager.Email}
	var items []agenda.Item
	var err error
	if kind == KindPrep {
		items, err = r.o.Agenda.OpenActions(ctx, actor, se.ID)
	} else {
		var a agenda.Agenda
		a, err = r.o.Agenda.List(ctx, actor, se.ID, o.Key)
		for _, it := range a.Items {
			if it.Kind == agenda.KindAction { // never notes or topics
				items = append(items, it)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, pp := range []person{{se.Manager, agenda.RoleManager, se.Report}, {se.Report, agenda.RoleReport, se.Manager}} {
		link := ""
		if r.o.PersonalLink != nil {
			if l, err := r.o.PersonalLink(ctx, se.ID, pp.p.Email, string(pp.role)); err == nil {
				link = agendaLink(l, se.ID, o.Key)
			} else {
				r.o.Logger.Warn("agenda reminders: personal link", "series", se.ID, "err", err)
			}
		}
		subject, body := message(kind, se, o, pp, items, link)
		if err := r.o.Mailer.Send(ctx, pp.p.Email, subject, body); err != nil {
			return sent, fmt.Errorf("remind: send %s: %w", kind, err)
		}
		sent++
	}
	return sent, nil
}

// agendaLink moves a personal link's token from the room URL onto the
// occurrence's agenda page: opening it signs the person in there.
func agendaLink(roomLink, seriesID, key string) string {
	u, err := url.Parse(roomLink)
	if err != nil {
		return roomLink
	}
	u.Path = "/home/series/" + seriesID + "/occurrences/" + key
	u.RawPath = ""
	return u.String()
}

func name(p calendar.Person) string {
	if s := strings.TrimSpace(p.Name); s != "" {
		return s
	}
	return p.Email
}

func message(kind string, se calendar.Series, o calendar.Occurrence, pp person, items []agenda.Item, link string) (string, string) {
	loc, err := time.LoadLocation(se.Timezone)
	if err != nil {
		loc = time.UTC
	}
	when := o.Start.In(loc).Format("Mon 2 Jan 2006 15:04") + " (" + loc.String() + ")"
	whenJA := o.Start.In(loc).Format("2006/01/02 15:04") + " (" + loc.String() + ")"
	peer := name(pp.peer)
	owner := func(email string) string {
		switch {
		case strings.EqualFold(email, se.Manager.Email):
			return name(se.Manager)
		case strings.EqualFold(email, se.Report.Email):
			return name(se.Report)
		}
		return email
	}
	var list strings.Builder
	for _, it := range items {
		mark := "[ ]"
		if it.Done {
			mark = "[x]"
		}
		fmt.Fprintf(&list, "%s %s — %s", mark, oneLine(it.Text), owner(it.Owner))
		if it.Due != "" {
			fmt.Fprintf(&list, ", %s", it.Due)
		}
		list.WriteString("\n")
	}
	var b strings.Builder
	var subject string
	if kind == KindPrep {
		subject = fmt.Sprintf("1on1 with %s on %s: prepare the agenda / 事前準備", peer, when)
		fmt.Fprintf(&b, "Your 1on1 with %s is on %s.\nAdd what you want to talk about to the agenda:\n%s\n\n", peer, when, link)
		if list.Len() > 0 {
			fmt.Fprintf(&b, "Open action items:\n%s\n", list.String())
		}
		fmt.Fprintf(&b, "---\n%sさんとの1on1は %s です。話したいことをアジェンダに追加しましょう:\n%s\n", peer, whenJA, link)
		if list.Len() > 0 {
			fmt.Fprintf(&b, "\n未完了のアクションプラン:\n%s", list.String())
		}
	} else {
		subject = fmt.Sprintf("1on1 with %s on %s: action items / アクションプラン", peer, when)
		fmt.Fprintf(&b, "Action items of your 1on1 with %s on %s:\n", peer, when)
		if list.Len() == 0 {
			b.WriteString("(none)\n")
		} else {
			b.WriteString(list.String())
		}
		fmt.Fprintf(&b, "\nThe agenda: %s\n---\n%sさんとの1on1 (%s) のアクションプラン:\n", link, peer, whenJA)
		if list.Len() == 0 {
			b.WriteString("(なし)\n")
		} else {
			b.WriteString(list.String())
		}
	}
	return subject, b.String()
}

// oneLine keeps an item on one line of the mail.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
