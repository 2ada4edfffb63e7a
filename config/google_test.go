package config

import (
	"bytes"
	"strings"
	"testing"
)

const oauthClientJSON = `{"web":{"client_id":"1-x.apps.googleusercontent.com","client_secret":"s","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token"}}`

func TestGoogleConsentFlowKeys(t *testing.T) {
	key32 := "0123456789abcdef0123456789abcdef"
	keyB64 := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	tests := []struct {
		name    string
		g       GoogleConfig
		wantKey string // "" = valid
	}{
		{"service account", GoogleConfig{Credentials: NewSecret(`{"type":"service_account"}`)}, ""},
		{"oauth client with a base64 key", GoogleConfig{OAuthClient: NewSecret(oauthClientJSON), TokenKey: NewSecret(keyB64)}, ""},
		{"oauth client with a raw key", GoogleConfig{OAuthClient: NewSecret(oauthClientJSON), TokenKey: NewSecret(key32)}, ""},
		{"oauth client given as credentials", GoogleConfig{Credentials: NewSecret(oauthClientJSON), TokenKey: NewSecret(keyB64)}, ""},
		{"nothing", GoogleConfig{}, "google.credentials_file"},
		{"both", GoogleConfig{Credentials: NewSecret(`{"type":"service_account"}`), OAuthClient: NewSecret(oauthClientJSON), TokenKey: NewSecret(key32)}, "google.oauth_client_file"},
		{"oauth client without a key", GoogleConfig{OAuthClient: NewSecret(oauthClientJSON)}, "google.token_key_file"},
		{"credentials holding an oauth client without a key", GoogleConfig{Credentials: NewSecret(oauthClientJSON)}, "google.token_key_file"},
		{"short key", GoogleConfig{OAuthClient: NewSecret(oauthClientJSON), TokenKey: NewSecret("too-short-key")}, "google.token_key_file"},
		{"base64 of 16 bytes", GoogleConfig{OAuthClient: NewSecret(oauthClientJSON), TokenKey: NewSecret("MDEyMzQ1Njc4OWFiY2RlZg==")}, "google.token_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			g := tt.g
			c.Calendars = []CalendarConfig{{ID: "workspace", Google: &g}}
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "calendars[0]."+tt.wantKey) {
				t.Fatalf("Validate = %v, want a problem at calendars[0].%s", err, tt.wantKey)
			}
			if strings.Contains(err.Error(), key32) || strings.Contains(err.Error(), "too-short-key") {
				t.Errorf("the message shows the key: %v", err)
			}
		})
	}
	g := GoogleConfig{TokenKey: NewSecret(keyB64 + "\n")}
	if b, err := g.TokenKeyBytes(); err != nil || !bytes.Equal(b, []byte(key32)) {
		t.Errorf("TokenKeyBytes = %q, %v", b, err)
	}
	if !(GoogleConfig{Credentials: NewSecret(oauthClientJSON)}).IsOAuthClient() ||
		(GoogleConfig{Credentials: NewSecret(`{"type":"service_account"}`)}).IsOAuthClient() {
		t.Error("IsOAuthClient cannot tell the kinds apart")
	}
}
