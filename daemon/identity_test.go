package daemon

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/store"
)

func TestNewIdentity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "oneonone.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	cfg := config.Default()
	cfg.DataDir = dir
	svc, err := newIdentity(ctx, cfg, st, dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if svc.Mode() != identity.ModeCapability {
		t.Errorf("zero-config mode = %s", svc.Mode())
	}
	keyPath := filepath.Join(dir, identity.SecretFile)
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v, %v", fi, err)
	}
	keyText, _ := os.ReadFile(keyPath)
	if strings.Contains(logs.String(), strings.TrimSpace(string(keyText))) {
		t.Error("the secret key was logged")
	}

	// SMTP → e-mail sign-in; OIDC wins over it.
	cfg.SMTP.Host, cfg.SMTP.From = "smtp.example.com", "1on1@example.com"
	if svc, err = newIdentity(ctx, cfg, st, dir, logger); err != nil || svc.Mode() != identity.ModeEmail {
		t.Errorf("with smtp: %v, %v", svc.Mode(), err)
	}
	svc.Close()
	cfg.Auth.OIDC = config.OIDCConfig{Issuer: "https://idp.example.com", ClientID: "c"}
	if svc, err = newIdentity(ctx, cfg, st, dir, logger); err != nil || svc.Mode() != identity.ModeOIDC {
		t.Errorf("with oidc: %v, %v", svc.Mode(), err)
	}
	svc.Close()

	// auth.secret replaces the file; a short one is refused.
	cfg.Auth.Secret = config.NewSecret(base64.StdEncoding.EncodeToString([]byte("a key shared by every daemon....!")))
	if _, err := newIdentity(ctx, cfg, st, dir, logger); err != nil {
		t.Errorf("auth.secret: %v", err)
	}
	cfg.Auth.Secret = config.NewSecret("c2hvcnQ=")
	if _, err := newIdentity(ctx, cfg, st, dir, logger); err == nil || !strings.Contains(err.Error(), "auth.secret") {
		t.Errorf("short auth.secret: %v", err)
	}
}
