package identity

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/oneonone/oneonone/meet/joinlink"
)

// SecretFile is the secret key's file name in the data directory.
const SecretFile = "secret.key"

// secretBytes is the size of a generated secret.
const secretBytes = 32

// ParseSecret decodes a secret key written as base64 (standard or URL
// alphabet, padded or not) or hex, e.g. the output of
// `openssl rand -base64 32`. It must decode to at least 32 bytes. Errors
// never quote the text.
func ParseSecret(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	var key []byte
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.RawURLEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.StdEncoding.DecodeString,
	} {
		if b, err := dec(text); err == nil {
			key = b
			break
		}
	}
	if key == nil {
		return nil, errors.New("secret key is neither base64 nor hex")
	}
	if len(key) < joinlink.MinKeySize {
		return nil, fmt.Errorf("secret key has %d bytes, want at least %d (create one with `openssl rand -base64 32`)", len(key), joinlink.MinKeySize)
	}
	return key, nil
}

// LoadOrCreateSecret reads the secret key at path, creating it on first
// start: 32 random bytes, base64url, mode 0600, written to a temporary file
// and linked into place so that a crash never leaves half a key and two
// starts racing agree on one. created reports a new key.
func LoadOrCreateSecret(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := ParseSecret(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("identity: %s: %w", path, err)
		}
		return key, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("identity: read secret key: %w", err)
	}
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, fmt.Errorf("identity: create secret key: %w", err)
	}
	if err := writeNew(path, []byte(base64.RawURLEncoding.EncodeToString(raw)+"\n")); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another start won the race: use its key.
			return LoadOrCreateSecret(path)
		}
		return nil, false, fmt.Errorf("identity: write secret key: %w", err)
	}
	return raw, true, nil
}

// writeNew writes data to a temporary file beside path (mode 0600) and
// hard-links it to path, which fails with fs.ErrExist instead of
// replacing a key another process just wrote.
func writeNew(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
