//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package daemon

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked by another process")

// On platforms without flock the data directory is not guarded; the daemon
// is built and supported for Linux, where it is.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) error { return nil }
