package config

import (
	"fmt"
	"log/slog"
)

// redacted is what every way of printing a Secret shows.
const redacted = "[redacted]"

// Secret is a password, client secret or key. It never prints: fmt (every
// verb, %+v and %#v included), slog, encoding/json, yaml and any other
// TextMarshaler-aware encoder show "[redacted]", so logging a whole Config is
// safe. Use Reveal where the value is really needed.
type Secret struct {
	// reveal hides the value behind a func: fmt prints a func as an
	// address whatever the verb, even where it bypasses String and Format
	// (a bad verb such as %s on a pointer to a struct holding a Secret
	// prints that struct by raw reflection). An unexported string field
	// would show there.
	reveal func() string
}

// NewSecret wraps s (for tests and code that builds a Config by hand).
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{reveal: func() string { return s }}
}

// Reveal returns the secret itself. Call it only where the value is handed
// to the thing that needs it (an HTTP client, an SMTP dialer).
func (s Secret) Reveal() string {
	if s.reveal == nil {
		return ""
	}
	return s.reveal()
}

// IsSet reports whether a non-empty secret was given.
func (s Secret) IsSet() bool { return s.reveal != nil }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so that no verb (not even %d or %x,
// which would bypass String) shows the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler (used by encoding/json,
// yaml.v3 and slog's handlers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
