package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestDSNGivesFreshEmptyDatabases(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		first = DSN(t)
		conn, err := pgx.Connect(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var tables int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("new database has %d tables, want 0", tables)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
			t.Fatal(err)
		}
		if second := DSN(t); second == first {
			t.Errorf("two calls returned the same database %s", first)
		}
	})
	if first == "" {
		return // skipped
	}
	// The subtest's cleanup dropped its database.
	if conn, err := pgx.Connect(ctx, first); err == nil {
		conn.Close(ctx)
		t.Errorf("database %s still exists after its test ended", first)
	}
}

// With EnvDSN set, databases are made on that server. The test points it at
// the throwaway cluster, which stands in for an external server.
func TestDSNUsesServerFromEnvironment(t *testing.T) {
	ctx := context.Background()
	if os.Getenv(EnvDSN) != "" {
		t.Skipf("%s is already set, so this test of starting a cluster has nothing to start (not a missing component; CI leaves it unset)", EnvDSN)
	}
	DSN(t) // starts the cluster, or skips without binaries
	t.Setenv(EnvDSN, shared.adminDSN())
	var dsn string
	t.Run("db", func(t *testing.T) {
		dsn = DSN(t)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	})
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Errorf("database %s still exists after its test ended", dsn)
	}

	if _, err := createDatabase(t, "host=127.0.0.1 user=postgres"); err == nil {
		t.Error("a keyword/value DSN was accepted; DSN returns URLs")
	}
}
