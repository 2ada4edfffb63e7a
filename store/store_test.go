package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/oneonone/oneonone/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sqliteDSN is a database file in a directory that does not exist yet.
func sqliteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "data", "oneonone.db")
}

func postgresDSN(t testing.TB) string { return pgtest.DSN(t) }

func TestSQLite(t *testing.T)   { runSuite(t, sqliteDSN) }
func TestPostgres(t *testing.T) { runSuite(t, postgresDSN) }

// testLogger sends the store's logs to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestOpenRejectsBadDSNs(t *testing.T) {
	tests := []struct {
		dsn  string
		want string // in the error
	}{
		{"", "no scheme"},
		{"oneonone.db", "no scheme"},
		{"mysql://u@h/db", `unsupported DSN scheme "mysql"`},
		{"sqlite:", "no file path"},
		{"sqlite::memory:", "only a file path"},
		{"sqlite:file:x.db", "only a file path"},
		{"sqlite:x.db?mode=ro", "must not contain"},
		{"postgres://u:secret@127.0.0.1:notaport/db", "postgres DSN"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v, want an error containing %q", tt.dsn, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestOpenSQLiteCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	for _, dsn := range []string{"sqlite:" + filepath.Join(dir, "x.db"), "sqlite://" + filepath.Join(dir, "y.db")} {
		s := openStore(t, dsn)
		if s.Dialect() != DialectSQLite {
			t.Errorf("Dialect() = %q", s.Dialect())
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	for _, f := range []string{"x.db", "x.db-wal", "x.db-shm", "y.db"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []string // "version name sql" for sqlite
		wantErr string
	}{
		{
			name: "common and dialect-specific",
			fs: fstest.MapFS{
				"migrations/0001_base.sql":           file("common1"),
				"migrations/0002_rooms.sqlite.sql":   file("lite2"),
				"migrations/0002_rooms.postgres.sql": file("pg2"),
				"migrations/0003_more.sql":           file("common3"),
				"migrations/0003_more.sqlite.sql":    file("lite3"),
				"migrations/README":                  file("ignored"),
			},
			want: []string{"1 base common1", "2 rooms lite2", "3 more lite3"},
		},
		{
			name:    "gap",
			fs:      fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0003_c.sql": file("")},
			wantErr: "version 2 is missing",
		},
		{
			name:    "duplicate version",
			fs:      fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0001_b.sql": file("")},
			wantErr: "share version 1",
		},
		{
			name:    "only for the other engine",
			fs:      fstest.MapFS{"migrations/0001_a.postgres.sql": file("")},
			wantErr: "no sqlite counterpart",
		},
		{
			name:    "bad name",
			fs:      fstest.MapFS{"migrations/first.sql": file("")},
			wantErr: "want a name like",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fs, DialectSQLite)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, strings.Join([]string{strconv.Itoa(m.version), m.name, m.sql}, " "))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The embedded migrations must load for both engines.
func TestEmbeddedMigrationsLoad(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		if ms, err := loadMigrations(embeddedMigrations, d); err != nil || len(ms) == 0 {
			t.Errorf("%s: %d migrations, err %v", d, len(ms), err)
		}
	}
}

// errorsIs is errors.Is with a message, for table tests.
func errorsIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}
