package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
)

// pgLeaseClass is the first key of the two-key advisory locks that leases
// take, so they never collide with the agenda's or the migrations' locks.
const pgLeaseClass = 0x0e1ea5e

// Lease is a named lock that one daemon among those sharing a database
// holds, so that work which must happen once (a calendar's sync loop) runs
// on one node. On PostgreSQL it is a session advisory lock on a connection
// of its own: it ends when Release is called or when that connection
// breaks, so a crashed daemon's lease passes to another. On SQLite the data
// directory lock already makes the daemon alone, and every lease is granted.
type Lease struct {
	conn *sql.Conn // nil on SQLite
	key  int32
}

// TryLease takes the lease called name if no other daemon holds it. It
// returns (nil, false, nil) when another one does.
func (s *Store) TryLease(ctx context.Context, name string) (*Lease, bool, error) {
	if s.dialect != DialectPostgres {
		return &Lease{}, true, nil
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	key := int32(h.Sum32())
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, pgLeaseClass, key).Scan(&got); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	if !got {
		conn.Close()
		return nil, false, nil
	}
	return &Lease{conn: conn, key: key}, true, nil
}

// Alive reports an error when the lease may have been lost (its
// connection broke); the holder must stop the leased work then.
func (l *Lease) Alive(ctx context.Context) error {
	if l.conn == nil {
		return nil
	}
	return l.conn.PingContext(ctx)
}

// Release gives the lease up.
func (l *Lease) Release() error {
	if l.conn == nil {
		return nil
	}
	_, err := l.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, pgLeaseClass, l.key)
	if cerr := l.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
