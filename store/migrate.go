package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations live in migrations/ as NNNN_name.sql, run by both engines, or
// as a pair NNNN_name.sqlite.sql + NNNN_name.postgres.sql when the engines
// need different SQL. Versions start at 1 and have no gaps. A migration is
// never edited once released; a change is a new file.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// migration is one schema step for one dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// pgMigrationLock is the advisory lock key that serialises migrations when
// several daemons start against one PostgreSQL at once.
const pgMigrationLock = 0x6f6e656f6e65 // "oneone"

// loadMigrations reads the migrations of dialect from fsys (a directory
// "migrations"), in version order.
func loadMigrations(fsys fs.FS, dialect string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	type candidate struct {
		name, file string
		specific   bool // written for this dialect only
	}
	byVersion := map[int]candidate{}
	otherDialect := map[int]string{}
	for _, e := range entries {
		file := e.Name()
		base, ok := strings.CutSuffix(file, ".sql")
		if !ok || e.IsDir() {
			continue
		}
		num, name, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 || name == "" {
			return nil, fmt.Errorf("migration %s: want a name like 0001_what.sql", file)
		}
		specific := false
		if stem, d, ok := cutDialect(name); ok {
			if d != dialect {
				otherDialect[version] = file
				continue
			}
			name, specific = stem, true
		}
		prev, dup := byVersion[version]
		switch {
		case !dup, specific && !prev.specific:
			byVersion[version] = candidate{name: name, file: file, specific: specific}
		case specific == prev.specific:
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev.file, file, version)
		}
	}
	for v, file := range otherDialect {
		if _, ok := byVersion[v]; !ok {
			return nil, fmt.Errorf("migration %s has no %s counterpart", file, dialect)
		}
	}
	versions := make([]int, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	sort.Ints(versions)
	out := make([]migration, 0, len(versions))
	for i, v := range versions {
		if v != i+1 {
			return nil, fmt.Errorf("migration version %d is missing", i+1)
		}
		c := byVersion[v]
		text, err := fs.ReadFile(fsys, path.Join("migrations", c.file))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", c.file, err)
		}
		out = append(out, migration{version: v, name: c.name, sql: string(text)})
	}
	return out, nil
}

// cutDialect splits "name.sqlite" or "name.postgres" into name and dialect.
func cutDialect(name string) (stem, dialect string, ok bool) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		if stem, ok := strings.CutSuffix(name, "."+d); ok {
			return stem, d, true
		}
	}
	return name, "", false
}

// migrate brings the schema up to the newest migration in fsys, one
// transaction per migration, and refuses a schema newer than fsys knows.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys, s.dialect)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	latest := len(ms)
	var current int
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    BIGINT NOT NULL PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}
		current, err = schemaVersion(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if current > latest {
		return fmt.Errorf("store: the database schema is at version %d, newer than this binary knows (%d); run a newer oneonone", current, latest)
	}
	for _, m := range ms[current:] {
		applied := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := s.lockMigrations(ctx, tx); err != nil {
				return err
			}
			// Another daemon may have applied it while we waited.
			v, err := schemaVersion(ctx, tx)
			if err != nil || v >= m.version {
				return err
			}
			if v != m.version-1 {
				return fmt.Errorf("schema is at version %d, expected %d", v, m.version-1)
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("record version: %w", err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
		}
		if applied {
			s.logger.Info("store: applied migration", "dialect", s.dialect, "version", m.version, "name", m.name)
		}
	}
	return nil
}

func (s *Store) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != DialectPostgres {
		return nil // SQLite's write transactions are already exclusive.
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// SchemaVersion reports the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.read)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return v, nil
}
