package agenda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// engine applies one operation inside the series' transaction.
type engine struct {
	tx    Tx
	ser   calendar.Series
	actor Actor
	key   string
	now   time.Time

	ownItems []Item // cached by own
}

// outcome is what an operation did: the item after it (or, on a conflict,
// as it is), whether it changed, and the conflict if the op was refused.
type outcome struct {
	item     Item
	changed  bool
	conflict *Conflict
}

func (e *engine) apply(ctx context.Context, op Op) (outcome, error) {
	if op.Kind == OpAdd {
		return e.add(ctx, op)
	}
	it, err := e.target(ctx, op.Item)
	if err != nil {
		return outcome{}, err
	}
	if op.BaseVersion > it.Version {
		return outcome{}, errs.Invalidf("base_version", "%d is newer than the item's version %d", op.BaseVersion, it.Version)
	}
	switch op.Kind {
	case OpEdit:
		return e.edit(ctx, it, op)
	case OpMove:
		return e.move(ctx, it, op)
	case OpCheck:
		return e.check(it, op)
	case OpDelete:
		if op.BaseVersion > 0 && it.Version > op.BaseVersion {
			// Someone changed the item after the sender saw it; deleting
			// would throw their change away unseen.
			return outcome{item: it, conflict: &Conflict{Field: "", Current: "", Version: it.Version}}, nil
		}
		it.Deleted = true
		if it.Kind == KindAction && it.ClosedIn == "" {
			it.ClosedIn = e.key // dropped: stops carrying after this occurrence
		}
		e.bump(&it, nil)
		return outcome{item: it, changed: true}, nil
	}
	return outcome{}, errs.Invalidf("kind", "%q is not an operation", op.Kind)
}

// target finds an item the actor may change in this occurrence: its own,
// or an action item carried into it. Anything else, including another
// person's private note, is not found, so its existence does not leak.
func (e *engine) target(ctx context.Context, id string) (Item, error) {
	it, err := e.tx.Item(ctx, e.ser.ID, id)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && (it.Deleted || !it.visibleTo(e.actor.Email) ||
		(it.Occurrence != e.key && !it.carriedInto(e.key)))) {
		return Item{}, fmt.Errorf("item %s in occurrence %s: %w", id, e.key, errs.ErrNotFound)
	}
	return it, err
}

// own returns the items of this occurrence, tombstones included.
func (e *engine) own(ctx context.Context) ([]Item, error) {
	if e.ownItems == nil {
		items, err := e.tx.OccurrenceItems(ctx, e.ser.ID, e.key)
		if err != nil {
			return nil, err
		}
		e.ownItems = items
	}
	return e.ownItems, nil
}

// live returns this occurrence's live items in order, without skip.
func (e *engine) live(ctx context.Context, skip string) ([]Item, error) {
	own, err := e.own(ctx)
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, it := range own {
		if !it.Deleted && it.ID != skip {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b Item) int {
		return cmp.Or(strings.Compare(a.Position, b.Position), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// bump records a change: the item's version goes up, and the changed
// field remembers at which version it changed.
func (e *engine) bump(it *Item, field *int64) {
	it.Version++
	if field != nil {
		*field = it.Version
	}
	it.Updated = e.now
}

func (e *engine) add(ctx context.Context, op Op) (outcome, error) {
	n := op.Add
	id := op.Item
	if id == "" {
		var err error
		if id, err = newItemID(); err != nil {
			return outcome{}, err
		}
	} else if _, err := e.tx.Item(ctx, e.ser.ID, id); err == nil {
		return outcome{}, fmt.Errorf("item %s already exists: %w", id, errs.ErrConflict)
	} else if !errors.Is(err, errs.ErrNotFound) {
		return outcome{}, err
	}
	own, err := e.own(ctx)
	if err != nil {
		return outcome{}, err
	}
	if len(own) >= MaxItemsPerOccurrence {
		return outcome{}, errs.Invalidf("add", "the occurrence has %d items, the most it can hold", len(own))
	}
	live, err := e.live(ctx, "")
	if err != nil {
		return outcome{}, err
	}
	it := Item{ID: id, SeriesID: e.ser.ID, Occurrence: e.key, Kind: n.Kind, Text: n.Text, Tag: n.Tag,
		Due: n.Due, AuthorEmail: e.actor.Email, AuthorRole: e.actor.Role, Version: 1, Created: e.now, Updated: e.now,
		FieldVersions: FieldVersions{1, 1, 1, 1, 1, 1, 1}}
	if it.Kind == KindTopic && it.Tag == "" {
		it.Tag = TagOther
	}
	if n.Parent != "" {
		if err := e.checkParent(ctx, "add.parent", n.Parent); err != nil {
			return outcome{}, err
		}
		it.Parent = n.Parent
	}
	if it.Kind == KindAction {
		owner := n.Owner
		if owner == "" {
			owner = e.actor.Email
		}
		if it.Owner, err = e.pairMember("add.owner", owner); err != nil {
			return outcome{}, err
		}
	}
	last := ""
	if len(live) > 0 {
		last = live[len(live)-1].Position
	}
	if it.Position, err = rankBetween(last, ""); err != nil {
		return outcome{}, err
	}
	return outcome{item: it, changed: true}, nil
}

// checkParent checks that id is a live talking point of this occurrence.
func (e *engine) checkParent(ctx context.Context, field, id string) error {
	live, err := e.live(ctx, "")
	if err != nil {
		return err
	}
	for _, it := range live {
		if it.ID == id && it.Kind == KindTopic {
			return nil
		}
	}
	return errs.Invalidf(field, "%s is not a talking point of this occurrence", id)
}

// pairMember normalises an e-mail that must be one of the series' people.
func (e *engine) pairMember(field, email string) (string, error) {
	email = normalizeEmail(email)
	if email != normalizeEmail(e.ser.Manager.Email) && email != normalizeEmail(e.ser.Report.Email) {
		return "", errs.Invalidf(field, "must be the manager or the report of the series")
	}
	return email, nil
}

func (e *engine) edit(ctx context.Context, it Item, op Op) (outcome, error) {
	var (
		cur   string
		ver   *int64
		value = op.Value
	)
	fv := &it.FieldVersions
	switch op.Field {
	case FieldText:
		if err := validText("value", value, textLimit(it.Kind), true); err != nil {
			return outcome{}, err
		}
		cur, ver = it.Text, &fv.Text
	case FieldTag:
		if it.Kind != KindTopic {
			return outcome{}, errs.Invalidf("field", "only talking points have a tag")
		}
		cur, ver = string(it.Tag), &fv.Tag
	case FieldOwner, FieldDue:
		if it.Kind != KindAction {
			return outcome{}, errs.Invalidf("field", "only action items have an owner and a due date")
		}
		if op.Field == FieldOwner {
			var err error
			if value, err = e.pairMember("value", value); err != nil {
				return outcome{}, err
			}
			cur, ver = it.Owner, &fv.Owner
		} else {
			cur, ver = it.Due, &fv.Due
		}
	case FieldParent:
		if it.Kind != KindNote && it.Kind != KindPrivateNote {
			return outcome{}, errs.Invalidf("field", "only notes hang under a talking point")
		}
		if it.Occurrence != e.key {
			return outcome{}, errs.Invalidf("item", "belongs to occurrence %s", it.Occurrence)
		}
		if value != "" {
			if err := e.checkParent(ctx, "value", value); err != nil {
				return outcome{}, err
			}
		}
		cur, ver = it.Parent, &fv.Parent
	default:
		return outcome{}, errs.Invalidf("field", "%q is not editable", truncate(op.Field))
	}
	if value == cur {
		return outcome{item: it}, nil // nothing to do, nothing lost
	}
	if *ver > op.BaseVersion {
		return outcome{item: it, conflict: &Conflict{Field: op.Field, Current: cur, Version: it.Version}}, nil
	}
	switch op.Field {
	case FieldText:
		it.Text = value
	case FieldTag:
		it.Tag = Tag(value)
	case FieldOwner:
		it.Owner = value
	case FieldDue:
		it.Due = value
	case FieldParent:
		it.Parent = value
	}
	e.bump(&it, ver)
	return outcome{item: it, changed: true}, nil
}

// move places it right after the item op.Value names ("" = first). Moves
// never conflict: the server's order wins, and since only the moved item's
// rank changes, concurrent moves of different items both hold.
func (e *engine) move(ctx context.Context, it Item, op Op) (outcome, error) {
	if it.Occurrence != e.key {
		return outcome{}, errs.Invalidf("item", "is carried from occurrence %s and keeps its place there", it.Occurrence)
	}
	if op.Value == it.ID {
		return outcome{}, errs.Invalidf("value", "an item cannot follow itself")
	}
	live, err := e.live(ctx, it.ID)
	if err != nil {
		return outcome{}, err
	}
	prev, next := "", ""
	i := 0
	if op.Value != "" {
		i = slices.IndexFunc(live, func(x Item) bool { return x.ID == op.Value })
		if i < 0 || !live[i].visibleTo(e.actor.Email) {
			return outcome{}, errs.Invalidf("value", "%s is not an item of this occurrence", op.Value)
		}
		prev = live[i].Position
		i++
	}
	if i < len(live) {
		next = live[i].Position
	}
	if it.Position > prev && (next == "" || it.Position < next) {
		return outcome{item: it}, nil // already there
	}
	pos, err := rankBetween(prev, next)
	if err != nil {
		return outcome{}, err
	}
	it.Position = pos
	e.bump(&it, &it.FieldVersions.Position)
	return outcome{item: it, changed: true}, nil
}

func (e *engine) check(it Item, op Op) (outcome, error) {
	if it.Kind != KindTopic && it.Kind != KindAction {
		return outcome{}, errs.Invalidf("item", "only talking points and action items are checked off")
	}
	done := op.Value == "true"
	if done == it.Done {
		return outcome{item: it}, nil
	}
	if op.BaseVersion > 0 && it.FieldVersions.Done > op.BaseVersion {
		return outcome{item: it, conflict: &Conflict{Field: "done", Current: strconv.FormatBool(it.Done), Version: it.Version}}, nil
	}
	it.Done = done
	if it.Kind == KindAction {
		it.ClosedIn = ""
		if done {
			it.ClosedIn = e.key // carried up to here, not beyond
		}
	}
	e.bump(&it, &it.FieldVersions.Done)
	return outcome{item: it, changed: true}, nil
}
