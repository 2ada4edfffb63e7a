package store

import (
	"testing"
)

// TestLeasePostgres: of two daemons sharing a database, one holds a lease
// until it releases it; different names do not block each other.
func TestLeasePostgres(t *testing.T) {
	dsn := postgresDSN(t)
	a, b := openStore(t, dsn), openStore(t, dsn)

	la, ok, err := a.TryLease(ctx, "calendar-sync:team")
	if err != nil || !ok {
		t.Fatalf("first daemon: lease = %v, %v; want granted", ok, err)
	}
	if err := la.Alive(ctx); err != nil {
		t.Fatalf("held lease not alive: %v", err)
	}
	if _, ok, err := b.TryLease(ctx, "calendar-sync:team"); err != nil || ok {
		t.Fatalf("second daemon while held: lease = %v, %v; want refused", ok, err)
	}
	lo, ok, err := b.TryLease(ctx, "calendar-sync:other")
	if err != nil || !ok {
		t.Fatalf("another name: lease = %v, %v; want granted", ok, err)
	}
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	lb, ok, err := b.TryLease(ctx, "calendar-sync:team")
	if err != nil || !ok {
		t.Fatalf("second daemon after release: lease = %v, %v; want granted", ok, err)
	}
	lb.Release()
	lo.Release()

	// A daemon whose connection dies (a crash, a network cut: here the
	// server ends it) loses its lease, notices, and another takes it.
	c := openStore(t, dsn)
	lc, ok, _ := c.TryLease(ctx, "calendar-sync:crash")
	if !ok {
		t.Fatal("lease not granted")
	}
	if _, err := a.write.ExecContext(ctx, `SELECT pg_terminate_backend(pid, 5000) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = $2`, pgLeaseClass, int64(uint32(lc.key))); err != nil {
		t.Fatal(err)
	}
	if err := lc.Alive(ctx); err == nil {
		t.Error("a lease whose connection was cut still reports alive")
	}
	if l, ok, err := a.TryLease(ctx, "calendar-sync:crash"); err != nil || !ok {
		t.Fatalf("after the holder closed: lease = %v, %v; want granted", ok, err)
	} else {
		l.Release()
	}
}

// TestLeaseSQLite: one daemon owns a SQLite database, so leases are granted.
func TestLeaseSQLite(t *testing.T) {
	s := openStore(t, sqliteDSN(t))
	for range 2 {
		l, ok, err := s.TryLease(ctx, "calendar-sync:team")
		if err != nil || !ok {
			t.Fatalf("lease = %v, %v; want granted", ok, err)
		}
		if err := l.Alive(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
