package identity_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/identity"
)

// fakeMailer records messages; the SMTP path is SMTPMailer's own test.
type fakeMailer struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct{ to, subject, body string }

func (m *fakeMailer) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{to, subject, body})
	return nil
}

func (m *fakeMailer) all() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMail(nil), m.sent...)
}

// waitMails waits until n mails were sent (mail goes out in the
// background).
func (m *fakeMailer) waitMails(t *testing.T, n int) []sentMail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := m.all(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("only %d of %d mails sent", len(m.all()), n)
	return nil
}

var linkInMail = regexp.MustCompile(`http://\S+/auth/email/verify\?token=[A-Za-z0-9_-]+`)
var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

func TestEmailSignIn(t *testing.T) {
	m := &fakeMailer{}
	e := newEnv(t, func(o *identity.Options) { o.Mailer = m })
	c := e.client(false)

	form := get(t, c, e.srv.URL+"/auth/email?next=/r/s_1")
	if form.status != http.StatusOK || !strings.Contains(form.body, `action="/auth/email"`) || !strings.Contains(form.body, `value="/r/s_1"`) {
		t.Fatalf("form: %d %q", form.status, form.body)
	}
	known := post(t, c, e.srv.URL+"/auth/email", "email=Ren%40Example.com&next=%2Fr%2Fs_1")
	unknown := post(t, c, e.srv.URL+"/auth/email", "email=mallory%40example.com&next=%2Fr%2Fs_1")
	if known.status != http.StatusOK || known.body != unknown.body || unknown.status != known.status {
		t.Errorf("a known and an unknown address are answered differently:\n%d %q\n%d %q", known.status, known.body, unknown.status, unknown.body)
	}
	msgs := m.waitMails(t, 1)
	if msgs[0].to != report || !strings.Contains(msgs[0].body, "15 minutes") {
		t.Fatalf("mail: %+v", msgs[0])
	}
	link := linkInMail.FindString(msgs[0].body)
	if link == "" {
		t.Fatalf("no link in %q", msgs[0].body)
	}

	// Opening the link (a mail scanner does) changes nothing.
	page := get(t, e.client(false), link)
	if page.status != http.StatusOK || e.whoami(c) != "" {
		t.Fatalf("GET of the link: %d, signed in: %q", page.status, e.whoami(c))
	}
	tok := hiddenToken.FindStringSubmatch(page.body)
	if tok == nil {
		t.Fatalf("no token field in %q", page.body)
	}
	a := post(t, c, e.srv.URL+"/auth/email/verify", "token="+url.QueryEscape(tok[1]))
	if a.status != http.StatusOK || a.body != "room s_1: ren@example.com via email" {
		t.Errorf("after verify: %d %q (at %s)", a.status, a.body, a.url)
	}
	// Single use.
	again := post(t, e.client(false), e.srv.URL+"/auth/email/verify", "token="+url.QueryEscape(tok[1]))
	if again.status != http.StatusGone {
		t.Errorf("second use: %d", again.status)
	}

	e.svc.Close() // waits for background sends
	if got := m.all(); len(got) != 1 {
		t.Errorf("%d mails sent, want 1 (none to the unknown address)", len(got))
	}
}

func TestEmailLinkExpires(t *testing.T) {
	m := &fakeMailer{}
	e := newEnv(t, func(o *identity.Options) { o.Mailer = m })
	c := e.client(false)
	post(t, c, e.srv.URL+"/auth/email", "email=ren%40example.com")
	link := linkInMail.FindString(m.waitMails(t, 1)[0].body)
	token := strings.SplitN(link, "token=", 2)[1]
	e.clock.Add(identity.DefaultEmailLinkTTL + time.Second)
	a := do(t, c, "POST", e.srv.URL+"/auth/email/verify", strings.NewReader("token="+token), "Accept-Language", "ja")
	if a.status != http.StatusGone || !strings.Contains(a.body, "有効期限切れ") {
		t.Errorf("expired link: %d %q", a.status, a.body)
	}
	if e.whoami(c) != "" {
		t.Error("signed in with an expired link")
	}
}

func TestEmailRateLimit(t *testing.T) {
	m := &fakeMailer{}
	e := newEnv(t, func(o *identity.Options) { o.Mailer = m })
	c := e.client(false)
	for range 8 {
		if a := post(t, c, e.srv.URL+"/auth/email", "email=ren%40example.com"); a.status != http.StatusOK {
			t.Fatalf("status %d", a.status)
		}
	}
	e.svc.Close()
	if n := len(m.all()); n != identity.DefaultEmailRateLimit {
		t.Errorf("%d mails in an hour, want %d", n, identity.DefaultEmailRateLimit)
	}
}
