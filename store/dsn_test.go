package store

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, dialect, target string
	}{
		{"sqlite:./data/oneonone.db", DialectSQLite, "./data/oneonone.db"},
		{"sqlite:/var/lib/oneonone/db", DialectSQLite, "/var/lib/oneonone/db"},
		{"sqlite:///var/lib/oneonone/db", DialectSQLite, "/var/lib/oneonone/db"},
		{"SQLite:x.db", DialectSQLite, "x.db"},
		{"postgres://u@h/db?sslmode=disable", DialectPostgres, "postgres://u@h/db?sslmode=disable"},
		{"postgresql://u@h/db", DialectPostgres, "postgresql://u@h/db"},
	}
	for _, tt := range tests {
		d, target, err := parseDSN(tt.dsn)
		if err != nil || d != tt.dialect || target != tt.target {
			t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q", tt.dsn, d, target, err, tt.dialect, tt.target)
		}
	}
}

// FuzzParseDSN checks that any DSN either parses into something the engine
// can open or is refused, and that a refusal never echoes a password.
func FuzzParseDSN(f *testing.F) {
	for _, seed := range []string{
		"sqlite:./data/oneonone.db", "sqlite:", "sqlite::memory:", "sqlite:a?b", "sqlite://x",
		"postgres://u:pw@h/db", "mysql://u:pw@h/db", "u:pw@host", "", ":", "sqlite:\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		dialect, target, err := parseDSN(dsn)
		if err != nil {
			if dialect != "" || target != "" {
				t.Errorf("error %v with dialect %q target %q", err, dialect, target)
			}
			if at := strings.LastIndex(dsn, "@"); at > 0 && strings.Contains(dsn[:at], ":pw") &&
				strings.Contains(err.Error(), ":pw") {
				t.Errorf("error %q echoes the password", err)
			}
			return
		}
		switch dialect {
		case DialectSQLite:
			if target == "" || strings.ContainsAny(target, "?#\x00") || target == ":memory:" {
				t.Errorf("sqlite target %q", target)
			}
		case DialectPostgres:
			if target != dsn {
				t.Errorf("postgres target %q, want the DSN", target)
			}
		default:
			t.Errorf("dialect %q", dialect)
		}
	})
}
