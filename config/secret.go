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
	// value is unexported so that reflection-based printers cannot reach it
	// through an exported field either.
	value string
}

// NewSecret wraps s (for tests and code that builds a Config by hand).
func NewSecret(s string) Secret { return Secret{value: s} }

// Reveal returns the secret itself. Call it only where the value is handed
// to the thing that needs it (an HTTP client, an SMTP dialer).
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether a non-empty secret was given.
func (s Secret) IsSet() bool { return s.value != "" }

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
