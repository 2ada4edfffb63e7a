package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), SecretFile)
	key, created, err := LoadOrCreateSecret(path)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("first start: %d bytes, created %v, %v", len(key), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	again, created, err := LoadOrCreateSecret(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second start: created %v, same %v, %v", created, bytes.Equal(again, key), err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	// A broken file is an error that does not quote it.
	os.WriteFile(path, []byte("short-and-secret\n"), 0o600)
	if _, _, err := LoadOrCreateSecret(path); err == nil || strings.Contains(err.Error(), "short-and-secret") {
		t.Errorf("broken key file: %v", err)
	}
}

func TestParseSecret(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11) // 33 bytes with + and / in std base64
	for _, text := range []string{
		hex.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw) + "\n",
		base64.RawURLEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
	} {
		got, err := ParseSecret(text)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseSecret(%q) = %x, %v", text, got, err)
		}
	}
	for _, bad := range []string{"", "not base64 !!", base64.StdEncoding.EncodeToString(raw[:31])} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}
