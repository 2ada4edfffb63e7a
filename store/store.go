// Package store keeps the daemon's state in SQLite (the default, no cgo) or
// PostgreSQL, and implements the storage interfaces the domain packages
// define (calendar.Store first). It owns the schema and its migrations.
//
// Both engines run the same SQL: placeholders are $1…$n (modernc.org/sqlite
// accepts them), instants are BIGINT Unix nanoseconds in UTC, and a series'
// start is its wall clock plus its time zone. The store does no domain
// validation beyond what it needs to store a value faithfully; it must not
// log personal data, agenda text or tokens.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteBusyTimeout is how long a SQLite connection waits for a lock held by
// another process (another oneonone, the sqlite3 shell) before failing.
const sqliteBusyTimeout = 10 * time.Second

// Store is a database holding the daemon's state. It is safe for concurrent
// use.
type Store struct {
	dialect string
	// write takes every write. On SQLite it is a pool of one connection, so
	// writers queue in Go instead of failing with SQLITE_BUSY, and its
	// transactions BEGIN IMMEDIATE so that a second process waits on
	// busy_timeout rather than deadlocking on a lock upgrade. On PostgreSQL
	// read and write are the same pool.
	write *sql.DB
	// read serves queries outside transactions; on SQLite (WAL) readers
	// never block the writer.
	read   *sql.DB
	logger *slog.Logger
	// prepared holds hot write statements prepared on the write pool at
	// Open, by SQL text; it is not changed afterwards. See txStmt.
	prepared map[string]*sql.Stmt
	// agendaWriter is SQLite's group commit of agenda writes; nil on
	// PostgreSQL.
	agendaWriter *agendaWriter
}

// Open opens the database named by dsn and migrates it to the schema this
// binary knows. dsn is "sqlite:PATH" (the parent directory is created, mode
// 0700) or a "postgres://" / "postgresql://" URL. A database whose schema is
// newer than this binary is refused. A nil logger discards logs.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dialect, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var s *Store
	if dialect == DialectSQLite {
		s, err = openSQLite(ctx, target, logger)
	} else {
		s, err = openPostgres(ctx, target, logger)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, embeddedMigrations); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx, agendaWriteQueries(s.dialect)); err != nil {
		s.Close()
		return nil, err
	}
	if s.dialect == DialectSQLite {
		s.agendaWriter = startAgendaWriter(s)
	}
	return s, nil
}

// prepare prepares queries on the write pool, for txStmt. It runs at Open,
// after the migrations and before any transaction: preparing on the pool
// takes a connection, and SQLite's write pool has only the one a
// transaction holds.
func (s *Store) prepare(ctx context.Context, queries []string) error {
	s.prepared = make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := s.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		s.prepared[q] = st
	}
	return nil
}

// txStmt returns query bound to tx. A query prepared at Open is reused:
// database/sql prepares it once per connection (SQLite's one writer, each
// PostgreSQL connection) and hands that back, where running the text would
// have SQLite parse it again each time, a third of an agenda write's CPU.
// Any other query is prepared for this transaction only. The statement is
// closed with tx.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.prepared[query]; st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return st, nil
}

// parseDSN tells the engine from dsn and returns what that engine opens: a
// file path for SQLite, the URL itself for PostgreSQL.
func parseDSN(dsn string) (dialect, target string, err error) {
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return "", "", fmt.Errorf("store: DSN %q has no scheme; want sqlite:PATH or postgres://…", redactDSN(dsn))
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return DialectPostgres, dsn, nil
	case "sqlite":
	default:
		return "", "", fmt.Errorf("store: unsupported DSN scheme %q; want sqlite:PATH or postgres://…", scheme)
	}
	// sqlite:///abs/path and sqlite://./rel/path are the URL spellings of
	// sqlite:/abs/path and sqlite:./rel/path.
	path := strings.TrimPrefix(rest, "//")
	switch {
	case path == "":
		return "", "", errors.New("store: sqlite DSN has no file path; want sqlite:PATH, e.g. sqlite:./data/oneonone.db")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		// An in-memory database is private to one connection, and the store
		// uses two pools.
		return "", "", fmt.Errorf("store: sqlite DSN %q: only a file path is supported, e.g. sqlite:./data/oneonone.db", path)
	case strings.ContainsAny(path, "?#\x00"):
		// The driver reads its options after '?'.
		return "", "", fmt.Errorf("store: sqlite DSN %q: the path must not contain '?', '#' or NUL", path)
	}
	return DialectSQLite, path, nil
}

func openSQLite(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	// SQLite gives its -wal and -shm files the database file's mode, so
	// creating the file 0600 first keeps all three private to the daemon.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)",
		sqliteBusyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	// The first connection switches the file to WAL before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	logger.Debug("store: opened", "dialect", DialectSQLite, "path", path)
	return &Store{dialect: DialectSQLite, write: write, read: read, logger: logger}, nil
}

func openPostgres(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors already redact the password.
		return nil, fmt.Errorf("store: postgres DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	logger.Debug("store: opened", "dialect", DialectPostgres, "host", cfg.Host, "database", cfg.Database)
	return &Store{dialect: DialectPostgres, write: db, read: db, logger: logger}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.agendaWriter != nil {
		s.agendaWriter.close()
	}
	var err error
	for _, st := range s.prepared {
		err = errors.Join(err, st.Close())
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for readiness probes. It uses a
// reading connection, so a long write does not make the daemon unready.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Dialect reports the engine: DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// inTx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what reads need from either a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY violation.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// redactDSN hides a password in a DSN that is echoed in an error.
func redactDSN(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at >= 0 {
		return "…" + dsn[at:]
	}
	return dsn
}
