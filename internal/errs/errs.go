// Package errs holds the few error kinds that callers across packages must
// tell apart: a thing that does not exist, a write that conflicts with what
// is stored, and input that is invalid (naming the field). The HTTP layer
// maps them to 404, 409 and 400/422; main prints them. It owns no logic.
package errs

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by errors about a missing series, person, item…
var ErrNotFound = errors.New("not found")

// ErrConflict is wrapped by errors about a write that clashes with stored
// state: a duplicate manager/report pair, a stale version.
var ErrConflict = errors.New("conflict")

// ErrUnauthorized is wrapped by errors about a missing or wrong credential.
var ErrUnauthorized = errors.New("unauthorized")

// ErrForbidden is wrapped by errors about a caller who is known but not allowed.
var ErrForbidden = errors.New("forbidden")

// Invalid reports input that is wrong, naming the field (a JSON field, a
// config key, a CSV column) so that a user can find and fix it.
type Invalid struct {
	Field   string
	Message string
}

func (e *Invalid) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Invalidf builds an *Invalid for field with a formatted message.
func Invalidf(field, format string, args ...any) *Invalid {
	return &Invalid{Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsInvalid returns the *Invalid in err's chain, if any.
func AsInvalid(err error) (*Invalid, bool) {
	var inv *Invalid
	ok := errors.As(err, &inv)
	return inv, ok
}
