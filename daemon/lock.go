package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// LockFile is the file in the data directory that one daemon holds locked
// while it runs; it contains that daemon's pid.
const LockFile = "oneonone.lock"

// ErrDataDirInUse is wrapped by the error of a second daemon started on a
// data directory that another one holds.
var ErrDataDirInUse = errors.New("data directory in use")

// dirLock is a held lock on a data directory.
type dirLock struct {
	f *os.File
}

// lockDataDir takes the exclusive lock of dir, or fails at once when
// another process holds it. The lock is the kernel's (flock), so it goes
// away with the process, even after SIGKILL: no stale lock to clean up.
func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := tryLock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("data directory %s is in use by another oneonone (pid %s): %w", dir, pid, ErrDataDirInUse)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is for the message above and for operators; the lock itself
	// is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func readPID(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := string(bytes.TrimSpace(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}

// release unlocks and closes. The file stays: removing it would let a
// third process lock a new inode while a second one holds the old.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("release data directory lock: %w", err)
	}
	return nil
}
