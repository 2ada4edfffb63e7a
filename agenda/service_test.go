package agenda_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
)

func TestAddAndList(t *testing.T) {
	f := newFixture(t)
	f.add(t, ren, occ0, "t_ren", agenda.NewItem{Kind: agenda.KindTopic, Text: "Help with the rollout", Tag: agenda.TagConsultation})
	f.add(t, ren, occ0, "t_career", agenda.NewItem{Kind: agenda.KindTopic, Text: "Where do I go next?", Tag: agenda.TagCareer})
	aikoTopic := f.add(t, aiko, occ0, "t_aiko", topic("Q1 progress"))
	note := f.add(t, aiko, occ0, "n_1", agenda.NewItem{Kind: agenda.KindNote, Text: "line one\n\tline two", Parent: "t_ren"})
	action := f.add(t, aiko, occ0, "a_1", agenda.NewItem{Kind: agenda.KindAction, Text: "Ren: draft the migration plan",
		Owner: "REN@example.com", Due: "2026-12-08"})

	if aikoTopic.Tag != agenda.TagOther || aikoTopic.AuthorRole != agenda.RoleManager || aikoTopic.Version != 1 {
		t.Errorf("Aiko's topic = %+v; want tag other, role manager, version 1", aikoTopic)
	}
	if note.Parent != "t_ren" || action.Owner != "ren@example.com" || action.Due != "2026-12-08" {
		t.Errorf("note %+v / action %+v", note, action)
	}
	// An action item without an owner is its author's.
	self := f.add(t, ren, occ0, "a_self", agenda.NewItem{Kind: agenda.KindAction, Text: "book the room"})
	if self.Owner != ren.Email {
		t.Errorf("default owner = %q", self.Owner)
	}

	for _, who := range []agenda.Actor{aiko, ren} {
		got := f.list(t, who, occ0)
		if want := []string{"t_ren", "t_career", "t_aiko", "n_1", "a_1", "a_self"}; !slices.Equal(itemIDs(got.Items), want) {
			t.Errorf("%s sees %v, want %v", who.Email, itemIDs(got.Items), want)
		}
		if got.Seq != 6 {
			t.Errorf("seq = %d, want 6", got.Seq)
		}
	}
	if n := f.obs.get("platform/report"); n != 3 {
		t.Errorf("items added by the report = %d, want 3", n)
	}
	if n := f.obs.get("platform/manager"); n != 3 {
		t.Errorf("items added by the manager = %d, want 3", n)
	}
	// A server-chosen id.
	res := f.apply(t, ren, occ0, agenda.Op{ID: "op-noid", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "x"}})
	if !strings.HasPrefix(res.Item.ID, "i_") {
		t.Errorf("server-chosen id %q", res.Item.ID)
	}
	// A taken id is a conflict.
	_, err := f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "op-dup", Kind: agenda.OpAdd, Item: "t_ren", Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "x"}})
	wantErr(t, err, errs.ErrConflict, "add with a taken id")
	// Every accepted op was broadcast, in seq order.
	evs := f.bc.to(ren.Email)
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || ev.Occurrence != occ0 || ev.SeriesID != "s_1" {
			t.Errorf("event %d: seq %d occurrence %s", i, ev.Seq, ev.Occurrence)
		}
	}
}

func TestMoveOrdering(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		f.add(t, ren, occ0, id, topic("topic "+id))
	}
	order := func() []string { return itemIDs(f.list(t, ren, occ0).Items) }
	versions := func() map[string]int64 {
		m := map[string]int64{}
		for _, it := range f.list(t, ren, occ0).Items {
			m[it.ID] = it.Version
		}
		return m
	}
	steps := []struct {
		item, after string
		want        []string
	}{
		{"e", "", []string{"e", "a", "b", "c", "d"}},  // to the top
		{"a", "d", []string{"e", "b", "c", "d", "a"}}, // to the end
		{"c", "e", []string{"e", "c", "b", "d", "a"}},
		{"c", "e", []string{"e", "c", "b", "d", "a"}}, // already there: no change
		{"b", "e", []string{"e", "b", "c", "d", "a"}},
	}
	for i, s := range steps {
		before := versions()
		res := f.apply(t, aiko, occ0, agenda.Op{ID: fmt.Sprintf("mv%d", i), Kind: agenda.OpMove, Item: s.item, Value: s.after})
		if res.Status != agenda.StatusApplied {
			t.Fatalf("move %d: %+v", i, res)
		}
		if got := order(); !slices.Equal(got, s.want) {
			t.Errorf("after moving %s after %q: %v, want %v", s.item, s.after, got, s.want)
		}
		// A move rewrites the moved item only.
		for id, v := range versions() {
			if id != s.item && v != before[id] {
				t.Errorf("move of %s changed %s's version %d → %d", s.item, id, before[id], v)
			}
		}
	}
	// Many moves between the same neighbours keep working.
	for i := range 60 {
		f.apply(t, ren, occ0, agenda.Op{ID: fmt.Sprintf("flip%d", i), Kind: agenda.OpMove, Item: []string{"c", "d"}[i%2], Value: "b"})
	}
	if got := order(); !slices.Equal(got, []string{"e", "b", "d", "c", "a"}) { // the last move put d after b
		t.Errorf("after flipping: %v", got)
	}
	_, err := f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "bad", Kind: agenda.OpMove, Item: "a", Value: "nope"})
	wantInvalid(t, err, "value", "move after an unknown item")
	_, err = f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "bad2", Kind: agenda.OpMove, Item: "a", Value: "a"})
	wantInvalid(t, err, "value", "move after itself")
}

func TestConcurrentMovesConverge(t *testing.T) {
	f := newFixture(t)
	ids := []string{"a", "b", "c", "d", "e", "f"}
	for _, id := range ids {
		f.add(t, ren, occ0, id, topic(id))
	}
	var wg sync.WaitGroup
	for w, actor := range []agenda.Actor{aiko, ren} {
		wg.Go(func() {
			for i := range 20 {
				item, after := ids[(i*7+w*3)%len(ids)], ids[(i*5+w)%len(ids)]
				if item == after {
					after = ""
				}
				if _, err := f.svc.Apply(ctx, actor, "s_1", occ0, agenda.Op{ID: fmt.Sprintf("w%d-%d", w, i),
					Kind: agenda.OpMove, Item: item, Value: after}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	a, r := f.list(t, aiko, occ0), f.list(t, ren, occ0)
	if !slices.Equal(itemIDs(a.Items), itemIDs(r.Items)) || len(a.Items) != len(ids) {
		t.Fatalf("Aiko sees %v, Ren %v", itemIDs(a.Items), itemIDs(r.Items))
	}
	seen := map[string]bool{}
	for _, it := range a.Items {
		if seen[it.Position] {
			t.Errorf("two items share rank %q", it.Position)
		}
		seen[it.Position] = true
	}
	// Replaying the events in order gives the same order as List.
	pos := map[string]string{}
	for _, ev := range f.bc.to(ren.Email) {
		pos[ev.Item.ID] = ev.Item.Position
	}
	replayed := slices.Clone(ids)
	slices.SortFunc(replayed, func(x, y string) int { return strings.Compare(pos[x], pos[y]) })
	if !slices.Equal(replayed, itemIDs(a.Items)) {
		t.Errorf("order from events %v, from List %v", replayed, itemIDs(a.Items))
	}
}

// Action items are carried into later occurrences until done or dropped,
// computed from the series' items rather than copied.
func TestCarryOverAcrossThreeOccurrences(t *testing.T) {
	f := newFixture(t)
	action := func(id string) agenda.NewItem {
		return agenda.NewItem{Kind: agenda.KindAction, Text: "do " + id, Owner: ren.Email}
	}
	f.add(t, aiko, occ0, "a_open", action("open"))
	f.add(t, aiko, occ0, "a_done", action("done"))
	f.add(t, aiko, occ0, "a_drop", action("drop"))
	f.add(t, ren, occ0, "t_0", topic("only in 0"))

	got := f.list(t, ren, occ1)
	if want := []string{"a_open", "a_done", "a_drop"}; !slices.Equal(itemIDs(got.Items), want) {
		t.Fatalf("occurrence 1 = %v, want %v", itemIDs(got.Items), want)
	}
	for _, it := range got.Items {
		if it.FromOccurrence != occ0 || it.Occurrence != occ0 {
			t.Errorf("%s carried with from_occurrence %q", it.ID, it.FromOccurrence)
		}
	}
	// In occurrence 1: one is checked off, one dropped, one added.
	if res := f.apply(t, ren, occ1, agenda.Op{ID: "chk", Kind: agenda.OpCheck, Item: "a_done", Value: "true"}); !res.Item.Done || res.Item.FromOccurrence != occ0 {
		t.Errorf("check = %+v", res.Item)
	}
	f.apply(t, aiko, occ1, agenda.Op{ID: "drop", Kind: agenda.OpDelete, Item: "a_drop"})
	f.add(t, ren, occ1, "a_new", action("new"))

	// Occurrence 1 still shows the checked one (done), not the dropped one.
	got = f.list(t, aiko, occ1)
	if want := []string{"a_open", "a_done", "a_new"}; !slices.Equal(itemIDs(got.Items), want) {
		t.Errorf("occurrence 1 after = %v, want %v", itemIDs(got.Items), want)
	}
	if it, _ := find(got.Items, "a_done"); !it.Done {
		t.Error("a_done not shown done in occurrence 1")
	}
	// Occurrence 2 carries only the open ones, from where they came.
	got = f.list(t, aiko, occ2)
	if want := []string{"a_open", "a_new"}; !slices.Equal(itemIDs(got.Items), want) {
		t.Errorf("occurrence 2 = %v, want %v", itemIDs(got.Items), want)
	}
	if it, _ := find(got.Items, "a_new"); it.FromOccurrence != occ1 {
		t.Errorf("a_new from %q", it.FromOccurrence)
	}
	// Occurrence 0's own agenda is unchanged by what happened later, except
	// for the items' current state.
	if got := f.list(t, ren, occ0); len(got.Items) != 3 || !slices.Contains(itemIDs(got.Items), "t_0") {
		t.Errorf("occurrence 0 = %v", itemIDs(got.Items))
	}
	// Reopening the checked one carries it again.
	f.apply(t, ren, occ1, agenda.Op{ID: "unchk", Kind: agenda.OpCheck, Item: "a_done", Value: "false"})
	if got := f.list(t, aiko, occ3); !slices.Contains(itemIDs(got.Items), "a_done") {
		t.Errorf("reopened action not carried into occurrence 3: %v", itemIDs(got.Items))
	}
	// Carried items keep their place: they cannot be moved in a later occurrence.
	_, err := f.svc.Apply(ctx, ren, "s_1", occ2, agenda.Op{ID: "mv", Kind: agenda.OpMove, Item: "a_open"})
	wantInvalid(t, err, "item", "moving a carried item")
	// Topics are not carried.
	_, err = f.svc.Apply(ctx, ren, "s_1", occ1, agenda.Op{ID: "edit-t0", Kind: agenda.OpEdit, Item: "t_0", Field: "text", Value: "x", BaseVersion: 1})
	wantErr(t, err, errs.ErrNotFound, "editing a topic of another occurrence")

	open, err := f.svc.OpenActions(ctx, aiko, "s_1")
	if err != nil || !slices.Equal(itemIDs(open), []string{"a_open", "a_done", "a_new"}) {
		t.Errorf("OpenActions = %v, %v", itemIDs(open), err)
	}
	byTeam, err := f.svc.OpenActionItemsByTeam(ctx)
	if err != nil || byTeam["platform"] != 3 {
		t.Errorf("OpenActionItemsByTeam = %v, %v", byTeam, err)
	}
	occs, err := f.svc.Occurrences(ctx, ren, "s_1", "")
	if err != nil || len(occs) != 2 || occs[0].Key != occ1 || occs[1].Key != occ0 {
		t.Errorf("Occurrences = %+v, %v", occs, err)
	}
}

func TestConflictRules(t *testing.T) {
	f := newFixture(t)
	f.add(t, ren, occ0, "t_1", topic("first words"))
	f.add(t, ren, occ0, "t_2", topic("second"))
	f.add(t, aiko, occ0, "a_1", agenda.NewItem{Kind: agenda.KindAction, Text: "act"})

	edit := func(actor agenda.Actor, id, item, field, value string, base int64) agenda.Result {
		return f.apply(t, actor, occ0, agenda.Op{ID: id, Kind: agenda.OpEdit, Item: item, Field: field, Value: value, BaseVersion: base})
	}
	// Same field, both based on version 1: the first wins, the second is
	// rejected with the current value.
	if r := edit(aiko, "e1", "t_1", "text", "Aiko's words", 1); r.Status != agenda.StatusApplied || r.Item.Version != 2 {
		t.Fatalf("first edit: %+v", r)
	}
	r := edit(ren, "e2", "t_1", "text", "Ren's words", 1)
	if r.Status != agenda.StatusConflict || r.Conflict.Field != "text" || r.Conflict.Current != "Aiko's words" ||
		r.Conflict.Version != 2 || r.Item.Text != "Aiko's words" || r.Seq != 0 {
		t.Errorf("stale edit of the same field: %+v %+v", r, r.Conflict)
	}
	events := f.bc.count()
	// Different fields of one item, both based on version 2: both apply.
	if r := edit(aiko, "e3", "t_1", "tag", "career", 2); r.Status != agenda.StatusApplied {
		t.Errorf("tag edit: %+v", r)
	}
	if r := edit(ren, "e4", "t_1", "text", "Ren's words", 2); r.Status != agenda.StatusApplied || r.Item.Tag != agenda.TagCareer || r.Item.Text != "Ren's words" {
		t.Errorf("text edit after a tag edit: %+v", r.Item)
	}
	// Different items, both based on version 1: both apply.
	if r := edit(aiko, "e5", "t_2", "text", "two", 1); r.Status != agenda.StatusApplied {
		t.Errorf("t_2: %+v", r)
	}
	if r := edit(ren, "e6", "a_1", "due", "2027-01-05", 1); r.Status != agenda.StatusApplied {
		t.Errorf("a_1: %+v", r)
	}
	// A stale edit that sets what is already there loses nothing: applied.
	if r := edit(aiko, "e7", "t_1", "text", "Ren's words", 1); r.Status != agenda.StatusApplied {
		t.Errorf("stale edit to the current value: %+v", r)
	}
	// Checks: concurrent checks agree; a stale uncheck conflicts.
	if r := f.apply(t, aiko, occ0, agenda.Op{ID: "c1", Kind: agenda.OpCheck, Item: "t_2", Value: "true", BaseVersion: 2}); r.Status != agenda.StatusApplied {
		t.Errorf("check: %+v", r)
	}
	if r := f.apply(t, ren, occ0, agenda.Op{ID: "c2", Kind: agenda.OpCheck, Item: "t_2", Value: "true", BaseVersion: 2}); r.Status != agenda.StatusApplied {
		t.Errorf("same check: %+v", r)
	}
	r = f.apply(t, ren, occ0, agenda.Op{ID: "c3", Kind: agenda.OpCheck, Item: "t_2", Value: "false", BaseVersion: 2})
	if r.Status != agenda.StatusConflict || r.Conflict.Field != "done" || r.Conflict.Current != "true" {
		t.Errorf("stale uncheck: %+v", r)
	}
	// A delete based on a stale version conflicts; a fresh one applies.
	r = f.apply(t, ren, occ0, agenda.Op{ID: "d1", Kind: agenda.OpDelete, Item: "t_1", BaseVersion: 2})
	if r.Status != agenda.StatusConflict {
		t.Errorf("stale delete: %+v", r)
	}
	if r := f.apply(t, ren, occ0, agenda.Op{ID: "d2", Kind: agenda.OpDelete, Item: "t_1", BaseVersion: r.Conflict.Version}); r.Status != agenda.StatusApplied || !r.Item.Deleted {
		t.Errorf("delete: %+v", r)
	}
	if got := itemIDs(f.list(t, aiko, occ0).Items); !slices.Equal(got, []string{"t_2", "a_1"}) {
		t.Errorf("after delete: %v", got)
	}
	// Conflicts were not broadcast; every applied op was.
	if n := f.bc.count() - events; n != 8 {
		// e3..e7, c1, c2 (a no-op is still published, keeping seqs gapless)
		// and d2; not the rejected c3 and d1.
		t.Errorf("%d events after the conflict, want 8", n)
	}
	// A base version from the future is refused.
	_, err := f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "e9", Kind: agenda.OpEdit, Item: "t_2", Field: "text", Value: "x", BaseVersion: 99})
	wantInvalid(t, err, "base_version", "future base version")
}

func TestIdempotentReplay(t *testing.T) {
	f := newFixture(t)
	op := agenda.Op{ID: "offline-1", Kind: agenda.OpAdd, Item: "t_1", Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "queued offline"}}
	first := f.apply(t, ren, occ0, op)
	edit := agenda.Op{ID: "offline-2", Kind: agenda.OpEdit, Item: "t_1", Field: "text", Value: "edited offline", BaseVersion: 1}
	second := f.apply(t, ren, occ0, edit)
	events := f.bc.count()

	// The client did not hear back and replays its whole queue.
	again := f.apply(t, ren, occ0, op)
	if !again.Replayed || again.Seq != first.Seq || again.Item.Version != 1 || again.Item.Text != "queued offline" {
		t.Errorf("replayed add = %+v, want the first result %+v", again, first)
	}
	if again := f.apply(t, ren, occ0, edit); !again.Replayed || again.Seq != second.Seq || again.Item.Version != 2 {
		t.Errorf("replayed edit = %+v", again)
	}
	if f.bc.count() != events {
		t.Error("a replay was broadcast")
	}
	if got := f.list(t, ren, occ0); len(got.Items) != 1 || got.Items[0].Version != 2 || got.Seq != 2 {
		t.Errorf("after replay: %+v", got)
	}
	// The same op id from the other person is not theirs to replay.
	_, err := f.svc.Apply(ctx, aiko, "s_1", occ0, op)
	wantErr(t, err, errs.ErrConflict, "someone else's op id")
	// Op ids are per occurrence.
	if r := f.apply(t, ren, occ1, agenda.Op{ID: "offline-1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "x"}}); r.Replayed {
		t.Error("op id of another occurrence replayed")
	}
	// History keeps every accepted op in order.
	hist, err := f.svc.History(ctx, aiko, "s_1", occ0, 0, 0)
	if err != nil || len(hist) != 2 || hist[0].Kind != agenda.OpAdd || hist[1].Field != "text" || hist[1].Item.Text != "edited offline" {
		t.Errorf("History = %+v, %v", hist, err)
	}
	if hist, _ := f.svc.History(ctx, aiko, "s_1", occ0, 1, 0); len(hist) != 1 || hist[0].Seq != 2 {
		t.Errorf("History after 1 = %+v", hist)
	}
}

func TestAccess(t *testing.T) {
	f := newFixture(t)
	f.add(t, ren, occ0, "t_1", topic("shared"))

	// A third person, or someone claiming the wrong role, is refused.
	_, err := f.svc.Apply(ctx, stranger, "s_1", occ0, agenda.Op{ID: "x", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "hi"}})
	wantErr(t, err, errs.ErrForbidden, "stranger's op")
	_, err = f.svc.List(ctx, stranger, "s_1", occ0)
	wantErr(t, err, errs.ErrForbidden, "stranger's List")
	_, err = f.svc.History(ctx, stranger, "s_1", occ0, 0, 0)
	wantErr(t, err, errs.ErrForbidden, "stranger's History")
	_, err = f.svc.Occurrences(ctx, stranger, "s_1", "")
	wantErr(t, err, errs.ErrForbidden, "stranger's Occurrences")
	_, err = f.svc.OpenActions(ctx, stranger, "s_1")
	wantErr(t, err, errs.ErrForbidden, "stranger's OpenActions")
	_, err = f.svc.List(ctx, agenda.Actor{Email: ren.Email, Role: agenda.RoleManager}, "s_1", occ0)
	wantErr(t, err, errs.ErrForbidden, "report claiming to be the manager")
	_, err = f.svc.List(ctx, agenda.Actor{}, "s_1", occ0)
	wantErr(t, err, errs.ErrUnauthorized, "no actor")
	_, err = f.svc.List(ctx, ren, "s_none", occ0)
	wantErr(t, err, errs.ErrNotFound, "unknown series")
	// E-mails compare case-insensitively.
	if _, err := f.svc.List(ctx, agenda.Actor{Email: " Ren@Example.COM", Role: agenda.RoleReport}, "s_1", occ0); err != nil {
		t.Errorf("List with a differently cased e-mail: %v", err)
	}

	// Aiko's private note.
	secret := "Ren seems tired; ask about workload"
	priv := f.add(t, aiko, occ0, "p_1", agenda.NewItem{Kind: agenda.KindPrivateNote, Text: secret, Parent: "t_1"})
	f.apply(t, aiko, occ0, agenda.Op{ID: "p-edit", Kind: agenda.OpEdit, Item: "p_1", Field: "text", Value: secret + "!", BaseVersion: priv.Version})
	f.apply(t, aiko, occ0, agenda.Op{ID: "p-move", Kind: agenda.OpMove, Item: "p_1"})

	if got := itemIDs(f.list(t, aiko, occ0).Items); !slices.Equal(got, []string{"p_1", "t_1"}) {
		t.Errorf("Aiko sees %v", got)
	}
	if got := itemIDs(f.list(t, ren, occ0).Items); !slices.Equal(got, []string{"t_1"}) {
		t.Errorf("Ren sees %v", got)
	}
	// Ren can neither change it nor learn that it exists.
	for i, op := range []agenda.Op{
		{Kind: agenda.OpEdit, Item: "p_1", Field: "text", Value: "x", BaseVersion: 1},
		{Kind: agenda.OpCheck, Item: "p_1", Value: "true"},
		{Kind: agenda.OpDelete, Item: "p_1"},
		{Kind: agenda.OpMove, Item: "p_1", Value: "t_1"},
	} {
		op.ID = fmt.Sprintf("ren-%d", i)
		_, err := f.svc.Apply(ctx, ren, "s_1", occ0, op)
		wantErr(t, err, errs.ErrNotFound, "Ren's "+string(op.Kind)+" of Aiko's private note")
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the note: %v", err)
		}
	}
	_, err = f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "ren-mv", Kind: agenda.OpMove, Item: "t_1", Value: "p_1"})
	wantInvalid(t, err, "value", "Ren moving after Aiko's private note")
	_, err = f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: "ren-add", Kind: agenda.OpAdd, Item: "p_1", Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "x"}})
	wantErr(t, err, errs.ErrConflict, "Ren adding with the private note's id")

	// Broadcasts: every event about the note is for Aiko only.
	for _, ev := range f.bc.to(ren.Email) {
		if ev.Item.ID == "p_1" || strings.Contains(ev.Item.Text, secret) {
			t.Errorf("Ren receives %+v", ev)
		}
	}
	var aikoGot int
	for _, ev := range f.bc.to(aiko.Email) {
		if ev.Item.ID == "p_1" {
			aikoGot++
			if ev.VisibleTo != aiko.Email {
				t.Errorf("private event VisibleTo = %q", ev.VisibleTo)
			}
		}
	}
	if aikoGot != 3 {
		t.Errorf("Aiko received %d events about her note, want 3", aikoGot)
	}
	// History and occurrence summaries do not show it to Ren either.
	hist, err := f.svc.History(ctx, ren, "s_1", occ0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range hist {
		if ev.Item.ID == "p_1" {
			t.Errorf("Ren's history has %+v", ev)
		}
	}
	if hist, _ := f.svc.History(ctx, aiko, "s_1", occ0, 0, 0); len(hist) != 4 {
		t.Errorf("Aiko's history has %d entries, want 4", len(hist))
	}
	if occs, _ := f.svc.Occurrences(ctx, ren, "s_1", ""); len(occs) != 1 || occs[0].Items != 1 {
		t.Errorf("Ren's occurrences = %+v", occs)
	}
	// Private notes are not counted in metrics.
	if n := f.obs.get("platform/manager"); n != 0 {
		t.Errorf("manager items counted = %d, want 0 (only a private note)", n)
	}
	// A private note that only exists in an occurrence keeps it out of
	// Ren's occurrence list entirely.
	f.add(t, aiko, occ1, "p_2", agenda.NewItem{Kind: agenda.KindPrivateNote, Text: "prep"})
	if occs, _ := f.svc.Occurrences(ctx, ren, "s_1", ""); len(occs) != 1 {
		t.Errorf("Ren's occurrences = %+v", occs)
	}
}

func TestOccurrenceKeys(t *testing.T) {
	f := newFixture(t)
	add := agenda.Op{ID: "x", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "hi"}}
	_, err := f.svc.Apply(ctx, ren, "s_1", "2026-12-01", add)
	wantInvalid(t, err, "occurrence", "malformed key")
	_, err = f.svc.List(ctx, ren, "s_1", "tomorrow")
	wantInvalid(t, err, "occurrence", "malformed key in List")
	// A Wednesday is no occurrence of a Tuesday series.
	_, err = f.svc.Apply(ctx, ren, "s_1", "20261202T010000Z", add)
	wantErr(t, err, errs.ErrNotFound, "key off the rule")
	// Before the first occurrence there is none either.
	_, err = f.svc.Apply(ctx, ren, "s_1", "20261124T010000Z", add)
	wantErr(t, err, errs.ErrNotFound, "key before the start")
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	f.add(t, ren, occ0, "t_1", topic("topic"))
	f.add(t, ren, occ0, "n_1", agenda.NewItem{Kind: agenda.KindNote, Text: "note"})
	long := func(n int) string { return strings.Repeat("あ", n) }
	add := func(n agenda.NewItem) agenda.Op { return agenda.Op{ID: "op", Kind: agenda.OpAdd, Add: &n} }
	tests := []struct {
		name  string
		op    agenda.Op
		field string // "" = valid
	}{
		{"topic at limit", add(agenda.NewItem{Kind: agenda.KindTopic, Text: long(agenda.MaxShortText)}), ""},
		{"topic over limit", add(agenda.NewItem{Kind: agenda.KindTopic, Text: long(agenda.MaxShortText + 1)}), "add.text"},
		{"note over the topic limit", add(agenda.NewItem{Kind: agenda.KindNote, Text: long(agenda.MaxShortText + 1)}), ""},
		{"note over limit", add(agenda.NewItem{Kind: agenda.KindNote, Text: long(agenda.MaxLongText + 1)}), "add.text"},
		{"action over limit", add(agenda.NewItem{Kind: agenda.KindAction, Text: long(agenda.MaxShortText + 1)}), "add.text"},
		{"empty text", add(agenda.NewItem{Kind: agenda.KindTopic, Text: " \n\t"}), "add.text"},
		{"control character", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "a\x00b"}), "add.text"},
		{"escape", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "a\x1b[31mb"}), "add.text"},
		{"carriage return", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "a\r\nb"}), "add.text"},
		{"C1 control", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "a\u0085b"}), "add.text"},
		{"invalid UTF-8", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "a\xffb"}), "add.text"},
		{"HTML is text", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "<script>alert(1)</script>"}), ""},
		{"unknown kind", add(agenda.NewItem{Kind: "memo", Text: "x"}), "add.kind"},
		{"unknown tag", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "x", Tag: "gossip"}), "add.tag"},
		{"tag on a note", add(agenda.NewItem{Kind: agenda.KindNote, Text: "x", Tag: agenda.TagCareer}), "add.tag"},
		{"parent of a topic", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "x", Parent: "t_1"}), "add.parent"},
		{"parent not a topic", add(agenda.NewItem{Kind: agenda.KindNote, Text: "x", Parent: "n_1"}), "add.parent"},
		{"parent unknown", add(agenda.NewItem{Kind: agenda.KindNote, Text: "x", Parent: "t_9"}), "add.parent"},
		{"owner outside the pair", add(agenda.NewItem{Kind: agenda.KindAction, Text: "x", Owner: "boss@example.com"}), "add.owner"},
		{"owner of a topic", add(agenda.NewItem{Kind: agenda.KindTopic, Text: "x", Owner: ren.Email}), "add.owner"},
		{"bad due date", add(agenda.NewItem{Kind: agenda.KindAction, Text: "x", Due: "next week"}), "add.due"},
		{"no add", agenda.Op{ID: "op", Kind: agenda.OpAdd}, "add"},
		{"no op id", agenda.Op{Kind: agenda.OpCheck, Item: "t_1", Value: "true"}, "id"},
		{"bad op id", agenda.Op{ID: "a b", Kind: agenda.OpCheck, Item: "t_1", Value: "true"}, "id"},
		{"unknown op", agenda.Op{ID: "op", Kind: "merge", Item: "t_1"}, "kind"},
		{"no item", agenda.Op{ID: "op", Kind: agenda.OpCheck, Value: "true"}, "item"},
		{"edit without base", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "t_1", Field: "text", Value: "x"}, "base_version"},
		{"edit unknown field", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "t_1", Field: "author", Value: "x", BaseVersion: 1}, "field"},
		{"edit text too long", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "t_1", Field: "text", Value: long(agenda.MaxShortText + 1), BaseVersion: 1}, "value"},
		{"edit note text long", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "n_1", Field: "text", Value: long(agenda.MaxShortText + 1), BaseVersion: 1}, ""},
		{"edit owner of a topic", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "t_1", Field: "owner", Value: ren.Email, BaseVersion: 1}, "field"},
		{"edit tag unknown", agenda.Op{ID: "op", Kind: agenda.OpEdit, Item: "t_1", Field: "tag", Value: "x", BaseVersion: 1}, "value"},
		{"check a note", agenda.Op{ID: "op", Kind: agenda.OpCheck, Item: "n_1", Value: "true"}, "item"},
		{"check yes", agenda.Op{ID: "op", Kind: agenda.OpCheck, Item: "t_1", Value: "yes"}, "value"},
		{"field on a check", agenda.Op{ID: "op", Kind: agenda.OpCheck, Item: "t_1", Field: "text", Value: "true"}, "field"},
		{"negative base", agenda.Op{ID: "op", Kind: agenda.OpDelete, Item: "t_1", BaseVersion: -1}, "base_version"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.op.ID == "op" {
				tt.op.ID = fmt.Sprintf("op%d", i)
			}
			_, err := f.svc.Apply(ctx, ren, "s_1", occ0, tt.op)
			if tt.field == "" {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			wantInvalid(t, err, tt.field, tt.name)
			if err != nil && strings.Contains(err.Error(), "あああああああああああああああああああああああああああああああああああああああああああ") {
				t.Error("error echoes the whole text")
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	tpl, err := agenda.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Langs(); !slices.Equal(got, []string{"en", "ja"}) {
		t.Fatalf("languages %v", got)
	}
	ids := func(lang string) []string {
		var out []string
		for _, tp := range tpl.List(lang) {
			for _, top := range tp.Topics {
				out = append(out, tp.ID+"/"+top.ID+"/"+string(top.Tag))
			}
		}
		return out
	}
	if en, ja := ids("en"), ids("ja"); !slices.Equal(en, ja) || len(en) == 0 {
		t.Errorf("ids differ:\nen %v\nja %v", en, ja)
	}
	for _, id := range []string{"first", "regular", "career"} {
		if _, err := tpl.Get(id, "ja"); err != nil {
			t.Errorf("template %s: %v", id, err)
		}
	}
	// The career template speaks of the manager's five roles in the
	// article's words.
	career, _ := tpl.Get("career", "ja")
	var text strings.Builder
	for _, top := range career.Topics {
		text.WriteString(top.Text)
	}
	for _, word := range []string{"ガイド", "言語化", "結びつけ", "メンタリング", "決裁者へのアクセス"} {
		if !strings.Contains(text.String(), word) {
			t.Errorf("career template (ja) lacks %s", word)
		}
	}
	if fr := tpl.List("fr"); len(fr) != len(tpl.List("en")) || fr[0].Name != tpl.List("en")[0].Name {
		t.Error("an unknown language does not fall back to English")
	}

	f := newFixture(t)
	res, err := f.svc.ApplyTemplate(ctx, aiko, "s_1", occ0, "career", "ja")
	if err != nil || len(res) != 5 {
		t.Fatalf("ApplyTemplate = %d results, %v", len(res), err)
	}
	got := f.list(t, ren, occ0)
	if len(got.Items) != 5 || got.Items[0].Tag != agenda.TagCareer || !strings.HasPrefix(got.Items[0].Text, "ガイド") ||
		got.Items[0].AuthorRole != agenda.RoleManager {
		t.Errorf("after the template: %+v", got.Items)
	}
	// Applying it again, in English, adds nothing.
	if _, err := f.svc.ApplyTemplate(ctx, aiko, "s_1", occ0, "career", "en"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.list(t, ren, occ0).Items); n != 5 {
		t.Errorf("%d items after applying twice, want 5", n)
	}
	if n := f.obs.get("platform/manager"); n != 0 {
		t.Errorf("template topics counted as prepared items: %d", n)
	}
	_, err = f.svc.ApplyTemplate(ctx, aiko, "s_1", occ0, "nope", "en")
	wantInvalid(t, err, "template", "unknown template")
	_, err = f.svc.ApplyTemplate(ctx, stranger, "s_1", occ0, "first", "en")
	wantErr(t, err, errs.ErrForbidden, "stranger applying a template")
}
