package identity

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// csp is the Content-Security-Policy of every identity page: no scripts at
// all, forms only to ourselves.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secured sets the headers every identity response carries. Pages carry
// tokens in their URLs, so no referrer leaves them and nothing is cached.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// Message keys of the plain pages.
const (
	msgLinkExpired  = "link_expired"
	msgLinkInvalid  = "link_invalid"
	msgSignInFailed = "signin_failed"
	msgUnverified   = "email_unverified"
	msgCheckInbox   = "check_inbox"
	msgEmailExpired = "email_link_expired"
	msgSignedOut    = "signed_out"
	msgServerError  = "server_error"
	msgBadRequest   = "bad_request"
)

type text struct{ Title, Body string }

// messages are the page texts in English and Japanese.
var messages = map[string]map[string]text{
	"en": {
		msgLinkExpired:  {"This link has expired", "This link has expired or was replaced. Ask for a new one (your calendar feed always carries your current link)."},
		msgLinkInvalid:  {"This link does not work", "This link is not valid. Open the link from your own calendar or e-mail, or ask for a new one."},
		msgSignInFailed: {"Sign-in failed", "Signing in did not work. Please try again from the start."},
		msgUnverified:   {"Sign-in refused", "Your identity provider did not confirm your e-mail address, so you cannot be signed in."},
		msgCheckInbox:   {"Check your inbox", "If this address belongs to someone with 1on1s here, a sign-in link is on its way. It works once, for a short time."},
		msgEmailExpired: {"This sign-in link has expired", "This sign-in link was already used or has expired. Ask for a new one."},
		msgSignedOut:    {"Signed out", "You are signed out."},
		msgServerError:  {"Something went wrong", "Something went wrong on our side. Please try again in a moment."},
		msgBadRequest:   {"Bad request", "This request could not be understood."},
		"email_title":   {"Sign in to your 1on1", "Enter your e-mail address and we will send you a sign-in link."},
		"email_label":   {"E-mail address", "Send sign-in link"},
		"verify_title":  {"Sign in", "Press the button to sign in on this device."},
		"verify_button": {"Sign in", ""},
	},
	"ja": {
		msgLinkExpired:  {"このリンクは有効期限切れです", "このリンクは有効期限が切れたか、新しいリンクに置き換えられました。新しいリンクを依頼してください（カレンダーのフィードには常に最新のリンクが入っています）。"},
		msgLinkInvalid:  {"このリンクは使えません", "このリンクは無効です。ご自身のカレンダーまたはメールのリンクを開くか、新しいリンクを依頼してください。"},
		msgSignInFailed: {"サインインできませんでした", "サインインに失敗しました。最初からやり直してください。"},
		msgUnverified:   {"サインインできません", "IDプロバイダーがメールアドレスを確認していないため、サインインできません。"},
		msgCheckInbox:   {"メールを確認してください", "このアドレスが1on1の参加者のものであれば、サインイン用のリンクを送りました。リンクは短い時間、1回だけ使えます。"},
		msgEmailExpired: {"このサインインリンクは有効期限切れです", "このサインインリンクは使用済みか、有効期限が切れています。新しいリンクを依頼してください。"},
		msgSignedOut:    {"サインアウトしました", "サインアウトしました。"},
		msgServerError:  {"エラーが発生しました", "サーバー側でエラーが発生しました。しばらくしてからもう一度お試しください。"},
		msgBadRequest:   {"不正なリクエスト", "このリクエストは処理できません。"},
		"email_title":   {"1on1にサインイン", "メールアドレスを入力すると、サインイン用のリンクを送ります。"},
		"email_label":   {"メールアドレス", "サインインリンクを送る"},
		"verify_title":  {"サインイン", "ボタンを押すと、この端末でサインインします。"},
		"verify_button": {"サインイン", ""},
	},
}

// language picks "ja" or "en" from Accept-Language (highest q wins; ties
// go to the first listed).
func language(r *http.Request) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (primary == "ja" || primary == "en") && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Body}}</p>
{{- if eq .Form "email"}}
<form method="post" action="/auth/email">
<label>{{.Label}} <input type="email" name="email" required autocomplete="email"></label>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit">{{.Button}}</button>
</form>
{{- else if eq .Form "verify"}}
<form method="post" action="/auth/email/verify">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit">{{.Button}}</button>
</form>
{{- end}}
</main>
</body>
</html>
`))

type pageData struct {
	Lang, Title, Body string
	Form              string // "", "email" or "verify"
	Label, Button     string
	Next, Token       string
}

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, d); err != nil {
		s.log.WarnContext(r.Context(), "identity: render page", "err", err)
	}
}

// renderMessage writes a plain page saying messages[lang][key].
func (s *Service) renderMessage(w http.ResponseWriter, r *http.Request, status int, key string) {
	lang := language(r)
	t := messages[lang][key]
	s.render(w, r, status, pageData{Lang: lang, Title: t.Title, Body: t.Body})
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
