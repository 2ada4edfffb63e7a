package identity_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/meet/joinlink"
)

// TestNoSecretsInLogs runs every flow, good and bad, with debug logging
// and then looks for each token, cookie, code and key in the output.
func TestNoSecretsInLogs(t *testing.T) {
	idp := newFakeIdP(t)
	m := &fakeMailer{}
	// OIDC and e-mail need separate services (one mode each); they share
	// the log buffer's checks.
	oidcE := newEnv(t, func(o *identity.Options) {
		o.OIDC = &identity.OIDCOptions{Issuer: idp.srv.URL, ClientID: clientID, ClientSecret: clientSecret}
	})
	mailE := newEnv(t, func(o *identity.Options) { o.Mailer = m })

	var secrets []string
	collect := func(c *http.Client, base string) {
		u, _ := url.Parse(base)
		for _, ck := range c.Jar.Cookies(u) {
			secrets = append(secrets, ck.Value)
		}
	}

	// Personal links: good, tampered, expired, revoked.
	c := oidcE.client(false)
	link := oidcE.link("s_1", report, joinlink.RoleReport)
	token := strings.SplitN(link, "?t=", 2)[1]
	secrets = append(secrets, token)
	get(t, c, link)
	get(t, oidcE.client(false), link+"x")
	collect(c, oidcE.srv.URL)
	do(t, c, "POST", oidcE.srv.URL+"/auth/logout", nil)

	// OIDC.
	c = oidcE.client(false)
	get(t, c, oidcE.srv.URL+"/auth/oidc/login?next=/r/s_1")
	collect(c, oidcE.srv.URL)
	idp.set(func(p *fakeIdP) { p.nonce = "wrong" })
	get(t, oidcE.client(false), oidcE.srv.URL+"/auth/oidc/login?next=/r/s_1")
	idp.mu.Lock()
	secrets = append(secrets, idp.issued...)
	idp.mu.Unlock()

	// E-mail.
	c = mailE.client(false)
	post(t, c, mailE.srv.URL+"/auth/email", "email=ren%40example.com")
	mailLink := linkInMail.FindString(m.waitMails(t, 1)[0].body)
	mailToken := strings.SplitN(mailLink, "token=", 2)[1]
	secrets = append(secrets, mailToken)
	post(t, c, mailE.srv.URL+"/auth/email/verify", "token="+mailToken)
	post(t, c, mailE.srv.URL+"/auth/email/verify", "token="+mailToken)
	collect(c, mailE.srv.URL)

	secrets = append(secrets, string(secret), base64.RawURLEncoding.EncodeToString(secret), clientSecret)
	logs := oidcE.logs.String() + mailE.logs.String()
	if !strings.Contains(logs, "signed in") {
		t.Fatalf("the flows logged nothing; the test would prove nothing:\n%s", logs)
	}
	for _, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("suspiciously short secret %q", s)
		}
		// The signature half of a token or cookie must not appear either.
		parts := append([]string{s}, strings.Split(s, ".")...)
		for _, p := range parts {
			if len(p) >= 16 && strings.Contains(logs, p) {
				t.Errorf("logs contain a secret (%d chars):\n%s", len(p), logs)
			}
		}
	}
	for _, who := range []string{report, manager} {
		if strings.Contains(logs, who) {
			t.Errorf("logs name a person (%s)", who)
		}
	}
}
