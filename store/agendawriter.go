package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/oneonone/oneonone/agenda"
)

// agendaBatchMax caps how many queued agenda writes share one transaction.
const agendaBatchMax = 64

// The savepoint statements of a group commit, prepared at Open.
const (
	qSavepoint  = `SAVEPOINT agenda_op`
	qRelease    = `RELEASE agenda_op`
	qRollbackTo = `ROLLBACK TO agenda_op`
)

// agendaWriter is SQLite's group commit for agenda writes. SQLite has one
// writer, and under load BEGIN and COMMIT (writing the transaction's pages
// to the WAL) cost half as much as the op's own statements; so one goroutine
// takes every UpdateAgenda queued while it was busy and runs them in one
// transaction, each in its own savepoint, so that one that fails is undone
// alone. No caller hears back before the transaction is committed, so an
// op is still durable (to synchronous=NORMAL) before its result or
// broadcast, and nobody learns of a write that a failed commit then lost.
//
// PostgreSQL does not use it: there, writes of different series run in
// parallel on their own connections under per-series advisory locks.
type agendaWriter struct {
	s        *Store
	reqs     chan *agendaReq // unbuffered: a send succeeds only while the loop runs
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type agendaReq struct {
	ctx   context.Context
	fn    func(agenda.Tx) error
	err   error
	ready chan struct{}
}

func startAgendaWriter(s *Store) *agendaWriter {
	w := &agendaWriter{s: s, reqs: make(chan *agendaReq), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// close stops the loop after the batch in hand and waits for it.
func (w *agendaWriter) close() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

// do queues fn and waits until its batch is committed or has failed. It
// waits even when ctx ends meanwhile: fn may already be running, and the
// caller must not report a failure for a write that then commits. ctx
// ending makes fn's statements fail fast instead.
func (w *agendaWriter) do(ctx context.Context, fn func(agenda.Tx) error) error {
	r := &agendaReq{ctx: ctx, fn: fn, ready: make(chan struct{})}
	select {
	case w.reqs <- r:
	case <-w.stop:
		return errors.New("the store is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	<-r.ready
	return r.err
}

func (w *agendaWriter) loop() {
	defer close(w.done)
	batch := make([]*agendaReq, 0, agendaBatchMax)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.stop:
			return
		}
	more:
		for len(batch) < agendaBatchMax {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.run(batch)
		for i, r := range batch {
			close(r.ready)
			batch[i] = nil
		}
	}
}

// run applies a batch in one transaction and sets each request's error.
func (w *agendaWriter) run(batch []*agendaReq) {
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	// The transaction is the batch's, not one caller's: a caller whose
	// context ends must not roll back the others' writes.
	tx, err := w.s.write.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	for _, r := range batch {
		if r.err = r.ctx.Err(); r.err != nil {
			continue
		}
		if err := w.one(tx, r); err != nil {
			// The savepoint could not be taken or undone: the transaction
			// is in no known state, so nothing in it may commit.
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
	}
}

// one runs r in a savepoint of tx. r.err is fn's error (its writes are
// undone); the returned error means the transaction itself is broken.
func (w *agendaWriter) one(tx *sql.Tx, r *agendaReq) (broken error) {
	ctx := context.Background()
	at := agendaTx{s: w.s, tx: tx}
	if _, err := at.exec(ctx, qSavepoint); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	r.err = runAgendaFn(r.fn, at)
	if r.err != nil {
		if _, err := at.exec(ctx, qRollbackTo); err != nil {
			return errors.Join(r.err, fmt.Errorf("rollback to savepoint: %w", err))
		}
	}
	if _, err := at.exec(ctx, qRelease); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// runAgendaFn runs fn, turning a panic into an error: fn runs on the
// writer's goroutine, where a panic would stop every agenda write.
func runAgendaFn(fn func(agenda.Tx) error, tx agenda.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in agenda write: %v", p)
		}
	}()
	return fn(tx)
}
