package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
)

var _ agenda.Store = (*Store)(nil)

// pgAgendaLockClass is the first key of the two-key advisory lock that
// serialises one series' agenda writes across daemons; the second is a
// hash of the series id.
const pgAgendaLockClass = 0x61676e64 // "agnd"

const agendaItemColumns = `series_id, id, occurrence, kind, text, tag, parent_id, owner_email, due, done, deleted,
	closed_in, author_email, author_role, position, version, text_v, tag_v, parent_v, owner_v, due_v, done_v,
	position_v, created, updated`

// The statements of an agenda write, prepared at Open (see txStmt).
const (
	qAgendaLock            = `SELECT pg_advisory_xact_lock($1, $2)`
	qAgendaItem            = `SELECT ` + agendaItemColumns + ` FROM agenda_items WHERE series_id = $1 AND id = $2`
	qAgendaOccurrenceItems = `SELECT ` + agendaItemColumns + ` FROM agenda_items
		WHERE series_id = $1 AND occurrence = $2`
	qAgendaPutItem = `INSERT INTO agenda_items (` + agendaItemColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		$21, $22, $23, $24, $25)
		ON CONFLICT (series_id, id) DO UPDATE SET
		occurrence = excluded.occurrence, kind = excluded.kind, text = excluded.text, tag = excluded.tag,
		parent_id = excluded.parent_id, owner_email = excluded.owner_email, due = excluded.due,
		done = excluded.done, deleted = excluded.deleted, closed_in = excluded.closed_in,
		author_email = excluded.author_email, author_role = excluded.author_role, position = excluded.position,
		version = excluded.version, text_v = excluded.text_v, tag_v = excluded.tag_v,
		parent_v = excluded.parent_v, owner_v = excluded.owner_v, due_v = excluded.due_v,
		done_v = excluded.done_v, position_v = excluded.position_v, created = excluded.created,
		updated = excluded.updated`
	qAgendaOp = `SELECT ` + agendaOpColumns + ` FROM agenda_ops
		WHERE series_id = $1 AND occurrence = $2 AND op_id = $3`
	qAgendaLastSeq  = `SELECT MAX(seq) FROM agenda_ops WHERE series_id = $1 AND occurrence = $2`
	qAgendaAppendOp = `INSERT INTO agenda_ops (series_id, occurrence, seq, op_id, kind, item_id, field,
		actor_email, actor_role, visible_to, result, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
)

// agendaWriteQueries are prepared at Open: PostgreSQL's advisory lock,
// SQLite's savepoints of the group commit.
func agendaWriteQueries(dialect string) []string {
	q := []string{qAgendaItem, qAgendaOccurrenceItems, qAgendaPutItem, qAgendaOp, qAgendaLastSeq, qAgendaAppendOp}
	if dialect == DialectPostgres {
		q = append(q, qAgendaLock)
	} else {
		q = append(q, qSavepoint, qRelease, qRollbackTo)
	}
	return q
}

// UpdateAgenda runs fn in a write transaction that holds the series'
// agenda lock (SQLite: its single writer; PostgreSQL: an advisory lock
// per series, so daemons sharing the database take turns).
//
// On SQLite, writes queued while another commits share its successor's
// transaction (see agendaWriter); each is still committed before
// UpdateAgenda returns.
func (s *Store) UpdateAgenda(ctx context.Context, seriesID string, fn func(tx agenda.Tx) error) error {
	if s.agendaWriter != nil {
		if err := s.agendaWriter.do(ctx, fn); err != nil {
			return fmt.Errorf("store: update agenda of %s: %w", seriesID, err)
		}
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := agendaTx{s: s, tx: tx}
		if s.dialect == DialectPostgres {
			h := fnv.New32a()
			h.Write([]byte(seriesID))
			if _, err := at.exec(ctx, qAgendaLock, int32(pgAgendaLockClass), int32(h.Sum32())); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		return fn(at)
	})
	if err != nil {
		return fmt.Errorf("store: update agenda of %s: %w", seriesID, err)
	}
	return nil
}

// agendaTx is agenda.Tx over one SQL transaction.
type agendaTx struct {
	s  *Store
	tx *sql.Tx
}

func (t agendaTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.s.txStmt(ctx, t.tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow is QueryRowContext through a prepared statement; a failed
// prepare shows as the row's error.
func (t agendaTx) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := t.s.txStmt(ctx, t.tx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// errRow is a row that failed before its query ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t agendaTx) Item(ctx context.Context, seriesID, id string) (agenda.Item, error) {
	it, err := scanItem(t.queryRow(ctx, qAgendaItem, seriesID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return agenda.Item{}, fmt.Errorf("agenda item %s: %w", id, errs.ErrNotFound)
	}
	return it, err
}

func (t agendaTx) OccurrenceItems(ctx context.Context, seriesID, key string) ([]agenda.Item, error) {
	st, err := t.s.txStmt(ctx, t.tx, qAgendaOccurrenceItems)
	if err != nil {
		return nil, err
	}
	return queryItems(ctx, stmtQuerier{st}, "", seriesID, key)
}

func (t agendaTx) PutItem(ctx context.Context, it agenda.Item) error {
	created, err := nanos("created", it.Created)
	if err != nil {
		return err
	}
	updated, err := nanos("updated", it.Updated)
	if err != nil {
		return err
	}
	fv := it.FieldVersions
	_, err = t.exec(ctx, qAgendaPutItem,
		it.SeriesID, it.ID, it.Occurrence, string(it.Kind), it.Text, string(it.Tag), it.Parent, it.Owner, it.Due,
		it.Done, it.Deleted, it.ClosedIn, it.AuthorEmail, string(it.AuthorRole), it.Position, it.Version,
		fv.Text, fv.Tag, fv.Parent, fv.Owner, fv.Due, fv.Done, fv.Position, created, updated)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("series %s: %w", it.SeriesID, errs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put agenda item %s: %w", it.ID, err)
	}
	return nil
}

func (t agendaTx) Op(ctx context.Context, seriesID, key, opID string) (agenda.OpRecord, error) {
	rec, err := scanOp(t.queryRow(ctx, qAgendaOp, seriesID, key, opID))
	if errors.Is(err, sql.ErrNoRows) {
		return agenda.OpRecord{}, fmt.Errorf("agenda op %s: %w", opID, errs.ErrNotFound)
	}
	return rec, err
}

func (t agendaTx) NextSeq(ctx context.Context, seriesID, key string) (int64, error) {
	var last sql.NullInt64
	if err := t.queryRow(ctx, qAgendaLastSeq, seriesID, key).Scan(&last); err != nil {
		return 0, fmt.Errorf("next agenda seq: %w", err)
	}
	return last.Int64 + 1, nil
}

func (t agendaTx) AppendOp(ctx context.Context, rec agenda.OpRecord) error {
	at, err := nanos("at", rec.At)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, qAgendaAppendOp,
		rec.SeriesID, rec.Occurrence, rec.Seq, rec.OpID, string(rec.Kind), rec.ItemID, rec.Field,
		rec.ActorEmail, string(rec.ActorRole), rec.VisibleTo, string(rec.Result), at)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("agenda op %s (seq %d) is already logged: %w", rec.OpID, rec.Seq, errs.ErrConflict)
	case isForeignKeyViolation(err):
		return fmt.Errorf("series %s: %w", rec.SeriesID, errs.ErrNotFound)
	case err != nil:
		return fmt.Errorf("log agenda op %s: %w", rec.OpID, err)
	}
	return nil
}

// stmtQuerier runs a prepared statement where queryItems wants a querier;
// the query text it is given is ignored.
type stmtQuerier struct{ st *sql.Stmt }

func (q stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return q.st.QueryContext(ctx, args...)
}

func (q stmtQuerier) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return q.st.QueryRowContext(ctx, args...)
}

// AgendaItems returns the live items of occurrence key (its own and the
// action items carried into it), without other people's private notes,
// and the occurrence's last seq, read in one snapshot.
func (s *Store) AgendaItems(ctx context.Context, seriesID, key, viewer string) ([]agenda.Item, int64, error) {
	viewer = normalizeEmail(viewer)
	var (
		items []agenda.Item
		seq   sql.NullInt64
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		// Own items, and action items of earlier occurrences that were
		// still open then: not closed, or closed in this occurrence or later.
		items, err = queryItems(ctx, tx, `SELECT `+agendaItemColumns+` FROM agenda_items
			WHERE series_id = $1 AND deleted = FALSE
			AND (kind <> 'private_note' OR author_email = $3)
			AND (occurrence = $2 OR (kind = 'action' AND occurrence < $2 AND (closed_in = '' OR closed_in >= $2)))`,
			seriesID, key, viewer)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM agenda_ops WHERE series_id = $1 AND occurrence = $2`,
			seriesID, key).Scan(&seq)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: agenda of %s/%s: %w", seriesID, key, err)
	}
	return items, seq.Int64, nil
}

// readTx runs fn in a read-only transaction that sees one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == DialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

const agendaOpColumns = `series_id, occurrence, seq, op_id, kind, item_id, field, actor_email, actor_role,
	visible_to, result, at`

// AgendaOps returns the op log of occurrence key after afterSeq, in order,
// at most limit (0 = all), without the ops only another person may see.
func (s *Store) AgendaOps(ctx context.Context, seriesID, key, viewer string, afterSeq int64, limit int) ([]agenda.OpRecord, error) {
	if limit < 0 {
		return nil, fmt.Errorf("store: agenda ops: %w", errs.Invalidf("limit", "must not be negative, got %d", limit))
	}
	query := `SELECT ` + agendaOpColumns + ` FROM agenda_ops
		WHERE series_id = $1 AND occurrence = $2 AND seq > $3 AND (visible_to = '' OR visible_to = $4)
		ORDER BY seq`
	args := []any{seriesID, key, afterSeq, normalizeEmail(viewer)}
	if limit > 0 {
		query += ` LIMIT $5`
		args = append(args, int64(limit))
	}
	out, err := func() ([]agenda.OpRecord, error) {
		rows, err := s.read.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []agenda.OpRecord{}
		for rows.Next() {
			rec, err := scanOp(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: agenda ops of %s/%s: %w", seriesID, key, err)
	}
	return out, nil
}

// AgendaOccurrences summarises the occurrences of a series with live items
// visible to viewer, newest first, only those before before when set.
func (s *Store) AgendaOccurrences(ctx context.Context, seriesID, viewer, before string) ([]agenda.OccurrenceSummary, error) {
	out, err := func() ([]agenda.OccurrenceSummary, error) {
		rows, err := s.read.QueryContext(ctx, `SELECT occurrence, COUNT(*), MAX(updated) FROM agenda_items
			WHERE series_id = $1 AND deleted = FALSE AND (kind <> 'private_note' OR author_email = $2)
			AND ($3 = '' OR occurrence < $3)
			GROUP BY occurrence ORDER BY occurrence DESC`, seriesID, normalizeEmail(viewer), before)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []agenda.OccurrenceSummary{}
		for rows.Next() {
			var (
				o       agenda.OccurrenceSummary
				n       int64
				updated int64
			)
			if err := rows.Scan(&o.Key, &n, &updated); err != nil {
				return nil, err
			}
			o.Items, o.Updated = int(n), fromNanos(updated)
			out = append(out, o)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: agenda occurrences of %s: %w", seriesID, err)
	}
	return out, nil
}

// OpenActionItems returns the open action items of a series.
func (s *Store) OpenActionItems(ctx context.Context, seriesID string) ([]agenda.Item, error) {
	out, err := queryItems(ctx, s.read, `SELECT `+agendaItemColumns+` FROM agenda_items
		WHERE series_id = $1 AND kind = 'action' AND done = FALSE AND deleted = FALSE`, seriesID)
	if err != nil {
		return nil, fmt.Errorf("store: open action items of %s: %w", seriesID, err)
	}
	return out, nil
}

// OpenActionItemsByTeam counts open action items per series team ("" for
// series without one).
func (s *Store) OpenActionItemsByTeam(ctx context.Context) (map[string]int, error) {
	out, err := func() (map[string]int, error) {
		rows, err := s.read.QueryContext(ctx, `SELECT s.team, COUNT(*) FROM agenda_items a
			JOIN series s ON s.id = a.series_id
			WHERE a.kind = 'action' AND a.done = FALSE AND a.deleted = FALSE
			GROUP BY s.team`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var (
				team string
				n    int64
			)
			if err := rows.Scan(&team, &n); err != nil {
				return nil, err
			}
			out[team] = int(n)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: open action items by team: %w", err)
	}
	return out, nil
}

func queryItems(ctx context.Context, q querier, query string, args ...any) ([]agenda.Item, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agenda.Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func scanItem(sc scanner) (agenda.Item, error) {
	var (
		it               agenda.Item
		kind, tag, role  string
		created, updated int64
		fv               = &it.FieldVersions
	)
	if err := sc.Scan(&it.SeriesID, &it.ID, &it.Occurrence, &kind, &it.Text, &tag, &it.Parent, &it.Owner, &it.Due,
		&it.Done, &it.Deleted, &it.ClosedIn, &it.AuthorEmail, &role, &it.Position, &it.Version,
		&fv.Text, &fv.Tag, &fv.Parent, &fv.Owner, &fv.Due, &fv.Done, &fv.Position, &created, &updated); err != nil {
		return agenda.Item{}, err
	}
	it.Kind, it.Tag, it.AuthorRole = agenda.Kind(kind), agenda.Tag(tag), agenda.Role(role)
	it.Created, it.Updated = fromNanos(created), fromNanos(updated)
	return it, nil
}

func scanOp(sc scanner) (agenda.OpRecord, error) {
	var (
		rec             agenda.OpRecord
		kind, role, res string
		at              int64
	)
	if err := sc.Scan(&rec.SeriesID, &rec.Occurrence, &rec.Seq, &rec.OpID, &kind, &rec.ItemID, &rec.Field,
		&rec.ActorEmail, &role, &rec.VisibleTo, &res, &at); err != nil {
		return agenda.OpRecord{}, err
	}
	rec.Kind, rec.ActorRole, rec.Result, rec.At = agenda.OpKind(kind), agenda.Role(role), []byte(res), fromNanos(at)
	return rec, nil
}
