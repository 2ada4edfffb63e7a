package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

func TestAgendaSQLite(t *testing.T)   { runAgendaSuite(t, sqliteDSN) }
func TestAgendaPostgres(t *testing.T) { runAgendaSuite(t, postgresDSN) }

func runAgendaSuite(t *testing.T, newDSN func(testing.TB) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"ItemRoundTrip", testAgendaItemRoundTrip},
		{"CarryOverAndPrivacy", testAgendaCarryOver},
		{"OpLog", testAgendaOpLog},
		{"Occurrences", testAgendaOccurrences},
		{"OpenActionItems", testAgendaOpenActions},
		{"RollbackLeavesNothing", testAgendaRollback},
		{"SerialisedPerSeries", testAgendaSerialised},
		{"DeletedWithSeries", testAgendaCascade},
		{"ConcurrentWritesFailAlone", testAgendaFailAlone},
		{"RefusedAfterClose", testAgendaClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, newDSN(t))
			mustCreate(t, s, newSeries("s_1", "aiko@example.com", "ren@example.com"))
			tt.run(t, s)
		})
	}
}

const (
	occ1 = "20261201T010000Z"
	occ2 = "20261208T010000Z"
	occ3 = "20261215T010000Z"
)

var agendaTime = time.Date(2026, 11, 30, 9, 0, 0, 123456789, time.UTC)

func item(id, occurrence string, kind agenda.Kind, author string) agenda.Item {
	role := agenda.RoleManager
	if author == "ren@example.com" {
		role = agenda.RoleReport
	}
	return agenda.Item{ID: id, SeriesID: "s_1", Occurrence: occurrence, Kind: kind, Text: "text of " + id,
		AuthorEmail: author, AuthorRole: role, Position: "V", Version: 1, Created: agendaTime, Updated: agendaTime,
		FieldVersions: agenda.FieldVersions{Text: 1, Tag: 1, Parent: 1, Owner: 1, Due: 1, Done: 1, Position: 1}}
}

func putItems(t *testing.T, s *Store, items ...agenda.Item) {
	t.Helper()
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		for _, it := range items {
			if err := tx.PutItem(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(items []agenda.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	sort.Strings(out)
	return out
}

func testAgendaItemRoundTrip(t *testing.T, s *Store) {
	in := item("i_1", occ1, agenda.KindAction, "aiko@example.com")
	in.Text = "Ren: draft the migration plan\n\t– 移行計画"
	in.Tag, in.Parent, in.Owner, in.Due = "", "i_0", "ren@example.com", "2026-12-08"
	in.Done, in.ClosedIn, in.Position, in.Version = true, occ2, "Vk3", 7
	in.FieldVersions = agenda.FieldVersions{Text: 2, Tag: 1, Parent: 3, Owner: 4, Due: 5, Done: 7, Position: 6}
	in.Updated = agendaTime.Add(time.Hour)
	putItems(t, s, in)
	var got agenda.Item
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		var err error
		got, err = tx.Item(ctx, "s_1", "i_1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !itemEqual(got, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
	}

	// PutItem replaces.
	in.Text, in.Version, in.Deleted = "changed", 8, true
	putItems(t, s, in)
	_ = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		got, err = tx.Item(ctx, "s_1", "i_1")
		return err
	})
	if err != nil || !itemEqual(got, in) {
		t.Errorf("after replace: %+v, %v", got, err)
	}

	err = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		_, err := tx.Item(ctx, "s_1", "i_none")
		return err
	})
	errorsIs(t, err, errs.ErrNotFound, "Item of an unknown id")
	// An item of an unknown series is refused by the foreign key.
	err = s.UpdateAgenda(ctx, "s_none", func(tx agenda.Tx) error {
		it := item("i_x", occ1, agenda.KindTopic, "aiko@example.com")
		it.SeriesID = "s_none"
		return tx.PutItem(ctx, it)
	})
	errorsIs(t, err, errs.ErrNotFound, "PutItem of an unknown series")
}

func itemEqual(a, b agenda.Item) bool {
	return a.ID == b.ID && a.SeriesID == b.SeriesID && a.Occurrence == b.Occurrence && a.Kind == b.Kind &&
		a.Text == b.Text && a.Tag == b.Tag && a.Parent == b.Parent && a.Owner == b.Owner && a.Due == b.Due &&
		a.Done == b.Done && a.Deleted == b.Deleted && a.ClosedIn == b.ClosedIn && a.AuthorEmail == b.AuthorEmail &&
		a.AuthorRole == b.AuthorRole && a.Position == b.Position && a.Version == b.Version &&
		a.FieldVersions == b.FieldVersions && a.Created.Equal(b.Created) && a.Updated.Equal(b.Updated)
}

func testAgendaCarryOver(t *testing.T, s *Store) {
	open1 := item("a_open", occ1, agenda.KindAction, "aiko@example.com")
	done1 := item("a_done_in_1", occ1, agenda.KindAction, "aiko@example.com")
	done1.Done, done1.ClosedIn = true, occ1
	doneIn2 := item("a_done_in_2", occ1, agenda.KindAction, "ren@example.com")
	doneIn2.Done, doneIn2.ClosedIn = true, occ2
	dropped := item("a_dropped_in_2", occ1, agenda.KindAction, "ren@example.com")
	dropped.Deleted, dropped.ClosedIn = true, occ2
	topic1 := item("t_1", occ1, agenda.KindTopic, "ren@example.com")
	topic2 := item("t_2", occ2, agenda.KindTopic, "ren@example.com")
	gone2 := item("t_gone", occ2, agenda.KindTopic, "ren@example.com")
	gone2.Deleted = true
	privAiko := item("p_aiko", occ2, agenda.KindPrivateNote, "aiko@example.com")
	privRen := item("p_ren", occ2, agenda.KindPrivateNote, "ren@example.com")
	action2 := item("a_2", occ2, agenda.KindAction, "ren@example.com")
	later := item("a_later", occ3, agenda.KindAction, "aiko@example.com")
	putItems(t, s, open1, done1, doneIn2, dropped, topic1, topic2, gone2, privAiko, privRen, action2, later)

	tests := []struct {
		key, viewer string
		want        []string
	}{
		{occ1, "aiko@example.com", []string{"a_done_in_1", "a_done_in_2", "a_open", "t_1"}},
		// In occurrence 2 the open action and those closed there are
		// carried; the one done in 1 is not; deleted items never show.
		{occ2, "aiko@example.com", []string{"a_2", "a_done_in_2", "a_open", "p_aiko", "t_2"}},
		{occ2, "REN@example.com", []string{"a_2", "a_done_in_2", "a_open", "p_ren", "t_2"}},
		// In 3 only what is still open.
		{occ3, "ren@example.com", []string{"a_2", "a_later", "a_open"}},
		{"20261222T010000Z", "ren@example.com", []string{"a_2", "a_later", "a_open"}},
		{"20261124T010000Z", "ren@example.com", []string{}},
	}
	for _, tt := range tests {
		items, _, err := s.AgendaItems(ctx, "s_1", tt.key, tt.viewer)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(items); !slices.Equal(got, tt.want) {
			t.Errorf("AgendaItems(%s, %s) = %v, want %v", tt.key, tt.viewer, got, tt.want)
		}
	}
	// Another series' items never mix in.
	mustCreate(t, s, newSeries("s_2", "aiko@example.com", "mio@example.com"))
	if items, _, err := s.AgendaItems(ctx, "s_2", occ3, "aiko@example.com"); err != nil || len(items) != 0 {
		t.Errorf("AgendaItems of s_2 = %v, %v", ids(items), err)
	}
}

func testAgendaOpLog(t *testing.T, s *Store) {
	rec := func(key string, seq int64, opID, visibleTo string) agenda.OpRecord {
		return agenda.OpRecord{SeriesID: "s_1", Occurrence: key, Seq: seq, OpID: opID, Kind: agenda.OpAdd,
			ItemID: "i_" + opID, Field: "", ActorEmail: "ren@example.com", ActorRole: agenda.RoleReport,
			VisibleTo: visibleTo, Result: []byte(`{"op_id":"` + opID + `"}`), At: agendaTime.Add(time.Duration(seq) * time.Second)}
	}
	appendAll := func(recs ...agenda.OpRecord) error {
		return s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
			for _, r := range recs {
				next, err := tx.NextSeq(ctx, r.SeriesID, r.Occurrence)
				if err != nil {
					return err
				}
				if next != r.Seq {
					return fmt.Errorf("NextSeq = %d, want %d", next, r.Seq)
				}
				if err := tx.AppendOp(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := appendAll(rec(occ1, 1, "op1", ""), rec(occ1, 2, "op2", "ren@example.com"), rec(occ1, 3, "op3", ""),
		rec(occ2, 1, "op1", "")); err != nil {
		t.Fatal(err)
	}
	// The same op id twice in one occurrence is a conflict.
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error { return tx.AppendOp(ctx, rec(occ1, 4, "op2", "")) })
	errorsIs(t, err, errs.ErrConflict, "duplicate op id")

	var got agenda.OpRecord
	err = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		var err error
		got, err = tx.Op(ctx, "s_1", occ1, "op2")
		return err
	})
	want := rec(occ1, 2, "op2", "ren@example.com")
	if err != nil || got.OpID != want.OpID || got.Seq != 2 || got.VisibleTo != want.VisibleTo ||
		string(got.Result) != string(want.Result) || !got.At.Equal(want.At) || got.ActorRole != agenda.RoleReport ||
		got.Kind != agenda.OpAdd || got.ItemID != "i_op2" {
		t.Errorf("Op = %+v, %v; want %+v", got, err, want)
	}
	err = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error { _, err := tx.Op(ctx, "s_1", occ3, "op1"); return err })
	errorsIs(t, err, errs.ErrNotFound, "Op in another occurrence")

	seqs := func(viewer string, after int64, limit int) []int64 {
		recs, err := s.AgendaOps(ctx, "s_1", occ1, viewer, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		return out
	}
	for _, tt := range []struct {
		viewer string
		after  int64
		limit  int
		want   []int64
	}{
		{"ren@example.com", 0, 0, []int64{1, 2, 3}},
		{"aiko@example.com", 0, 0, []int64{1, 3}}, // Ren's private op is not Aiko's to read
		{"ren@example.com", 1, 0, []int64{2, 3}},
		{"ren@example.com", 0, 2, []int64{1, 2}},
		{"ren@example.com", 3, 0, []int64{}},
	} {
		if got := seqs(tt.viewer, tt.after, tt.limit); !slices.Equal(got, tt.want) {
			t.Errorf("AgendaOps(%s, after %d, limit %d) = %v, want %v", tt.viewer, tt.after, tt.limit, got, tt.want)
		}
	}
	if _, seq, err := s.AgendaItems(ctx, "s_1", occ1, "ren@example.com"); err != nil || seq != 3 {
		t.Errorf("AgendaItems seq = %d, %v; want 3", seq, err)
	}
}

func testAgendaOccurrences(t *testing.T, s *Store) {
	a := item("t_a", occ1, agenda.KindTopic, "aiko@example.com")
	b := item("t_b", occ2, agenda.KindTopic, "ren@example.com")
	b.Updated = agendaTime.Add(time.Hour)
	c := item("t_c", occ2, agenda.KindNote, "aiko@example.com")
	p := item("p_only", occ3, agenda.KindPrivateNote, "aiko@example.com")
	gone := item("t_gone", "20261222T010000Z", agenda.KindTopic, "aiko@example.com")
	gone.Deleted = true
	putItems(t, s, a, b, c, p, gone)

	keys := func(viewer, before string) []string {
		got, err := s.AgendaOccurrences(ctx, "s_1", viewer, before)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, o := range got {
			out = append(out, fmt.Sprintf("%s:%d", o.Key, o.Items))
		}
		return out
	}
	if got, want := keys("aiko@example.com", ""), []string{occ3 + ":1", occ2 + ":2", occ1 + ":1"}; !slices.Equal(got, want) {
		t.Errorf("Aiko's occurrences = %v, want %v", got, want)
	}
	// Ren does not learn that Aiko wrote a private note in occurrence 3.
	if got, want := keys("ren@example.com", ""), []string{occ2 + ":2", occ1 + ":1"}; !slices.Equal(got, want) {
		t.Errorf("Ren's occurrences = %v, want %v", got, want)
	}
	if got, want := keys("ren@example.com", occ2), []string{occ1 + ":1"}; !slices.Equal(got, want) {
		t.Errorf("occurrences before %s = %v, want %v", occ2, got, want)
	}
	got, _ := s.AgendaOccurrences(ctx, "s_1", "ren@example.com", "")
	if len(got) == 0 || !got[0].Updated.Equal(b.Updated) {
		t.Errorf("latest change of %s = %+v, want %v", occ2, got, b.Updated)
	}
}

func testAgendaOpenActions(t *testing.T, s *Store) {
	mustCreate(t, s, func() calendar.Series {
		ser := newSeries("s_2", "kei@example.com", "mio@example.com")
		ser.Team = "platform"
		return ser
	}())
	open := item("a_open", occ1, agenda.KindAction, "aiko@example.com")
	done := item("a_done", occ1, agenda.KindAction, "aiko@example.com")
	done.Done = true
	dropped := item("a_dropped", occ2, agenda.KindAction, "aiko@example.com")
	dropped.Deleted = true
	topic := item("t_1", occ1, agenda.KindTopic, "aiko@example.com")
	putItems(t, s, open, done, dropped, topic)
	err := s.UpdateAgenda(ctx, "s_2", func(tx agenda.Tx) error {
		for i := range 3 {
			it := item(fmt.Sprintf("a_%d", i), occ1, agenda.KindAction, "kei@example.com")
			it.SeriesID = "s_2"
			if err := tx.PutItem(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenActionItems(ctx, "s_1")
	if err != nil || !slices.Equal(ids(got), []string{"a_open"}) {
		t.Errorf("OpenActionItems = %v, %v", ids(got), err)
	}
	byTeam, err := s.OpenActionItemsByTeam(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"": 1, "platform": 3}; fmt.Sprint(byTeam) != fmt.Sprint(want) {
		t.Errorf("OpenActionItemsByTeam = %v, want %v", byTeam, want)
	}
}

func testAgendaRollback(t *testing.T, s *Store) {
	boom := errors.New("boom")
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		if err := tx.PutItem(ctx, item("t_1", occ1, agenda.KindTopic, "ren@example.com")); err != nil {
			return err
		}
		if err := tx.AppendOp(ctx, agenda.OpRecord{SeriesID: "s_1", Occurrence: occ1, Seq: 1, OpID: "op1",
			Kind: agenda.OpAdd, ItemID: "t_1", ActorEmail: "ren@example.com", ActorRole: agenda.RoleReport,
			Result: []byte(`{}`), At: agendaTime}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateAgenda = %v, want boom", err)
	}
	items, seq, err := s.AgendaItems(ctx, "s_1", occ1, "ren@example.com")
	if err != nil || len(items) != 0 || seq != 0 {
		t.Errorf("after rollback: %d items, seq %d, %v", len(items), seq, err)
	}
}

// Concurrent UpdateAgenda calls of one series see each other's writes in
// turn: every NextSeq is used once and the log has no gaps.
func testAgendaSerialised(t *testing.T, s *Store) {
	const workers, each = 4, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := s.UpdateAgenda(context.Background(), "s_1", func(tx agenda.Tx) error {
					seq, err := tx.NextSeq(ctx, "s_1", occ1)
					if err != nil {
						return err
					}
					return tx.AppendOp(ctx, agenda.OpRecord{SeriesID: "s_1", Occurrence: occ1, Seq: seq,
						OpID: fmt.Sprintf("w%d-%d", w, i), Kind: agenda.OpCheck, ItemID: "x",
						ActorEmail: "ren@example.com", ActorRole: agenda.RoleReport, Result: []byte(`{}`), At: agendaTime})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	recs, err := s.AgendaOps(ctx, "s_1", occ1, "ren@example.com", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != workers*each {
		t.Fatalf("%d ops logged, want %d", len(recs), workers*each)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("op %d has seq %d", i, r.Seq)
		}
	}
}

func testAgendaCascade(t *testing.T, s *Store) {
	putItems(t, s, item("t_1", occ1, agenda.KindTopic, "ren@example.com"))
	if err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		return tx.AppendOp(ctx, agenda.OpRecord{SeriesID: "s_1", Occurrence: occ1, Seq: 1, OpID: "op1",
			Kind: agenda.OpAdd, ItemID: "t_1", ActorEmail: "ren@example.com", ActorRole: agenda.RoleReport,
			Result: []byte(`{}`), At: agendaTime})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSeries(ctx, "s_1"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"agenda_items", "agenda_ops"} {
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s has %d rows after the series was deleted, %v", table, n, err)
		}
	}
}

// testAgendaFailAlone: writes running at once (on SQLite, queued into one
// group-commit transaction behind a slow one) each commit or fail on
// their own: a write that fails after writing leaves nothing, its
// neighbours are all there.
func testAgendaFailAlone(t *testing.T, s *Store) {
	const n = 30
	release := make(chan struct{})
	var wg sync.WaitGroup
	errsOf := make([]error, n)
	wg.Go(func() {
		// Holds the writer while the others queue.
		errsOf[0] = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
			<-release
			return tx.PutItem(ctx, item("i_0", occ1, agenda.KindTopic, "aiko@example.com"))
		})
	})
	time.Sleep(20 * time.Millisecond)
	for i := 1; i < n; i++ {
		wg.Go(func() {
			errsOf[i] = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
				if err := tx.PutItem(ctx, item(fmt.Sprintf("i_%d", i), occ1, agenda.KindTopic, "aiko@example.com")); err != nil {
					return err
				}
				if i%4 == 0 {
					return fmt.Errorf("write %d: %w", i, errs.ErrConflict)
				}
				return nil
			})
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	var want []string
	for i, err := range errsOf {
		if i > 0 && i%4 == 0 {
			errorsIs(t, err, errs.ErrConflict, fmt.Sprintf("write %d", i))
			continue
		}
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
		want = append(want, fmt.Sprintf("i_%d", i))
	}
	var got []agenda.Item
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		var err error
		got, err = tx.OccurrenceItems(ctx, "s_1", occ1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(want)
	if g := ids(got); !slices.Equal(g, want) {
		t.Errorf("items after the writes = %v, want %v", g, want)
	}
}

// testAgendaClosed: a write after Close is refused, not left waiting.
func testAgendaClosed(t *testing.T, s *Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.UpdateAgenda(ctx, "s_1", func(agenda.Tx) error { return nil }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("UpdateAgenda after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("UpdateAgenda after Close still waits")
	}
}

// TestAgendaWriterPanic: a write that panics on SQLite's group-commit
// goroutine fails alone, and the writer goes on.
func TestAgendaWriterPanic(t *testing.T) {
	s := openStore(t, sqliteDSN(t))
	mustCreate(t, s, newSeries("s_1", "aiko@example.com", "ren@example.com"))
	err := s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		if err := tx.PutItem(ctx, item("i_p", occ1, agenda.KindTopic, "aiko@example.com")); err != nil {
			return err
		}
		panic("boom")
	})
	if err == nil {
		t.Fatal("a panicking write succeeded")
	}
	putItems(t, s, item("i_1", occ1, agenda.KindTopic, "aiko@example.com"))
	err = s.UpdateAgenda(ctx, "s_1", func(tx agenda.Tx) error {
		if _, err := tx.Item(ctx, "s_1", "i_p"); !errors.Is(err, errs.ErrNotFound) {
			return fmt.Errorf("the panicking write's item: %v, want not found", err)
		}
		_, err := tx.Item(ctx, "s_1", "i_1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
