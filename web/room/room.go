// Package room owns the 1on1 room's pages: the room itself (video tiles,
// controls, connection quality, time left, the agenda's sidebar slot), the
// capability-mode chooser, the refused page and error pages, in English and
// Japanese, with their embedded plain-JS modules and CSS. It renders what
// its caller decided: it never checks who may enter a room, reads no store
// and speaks to no media server; the page's script speaks the meet/signal
// protocol to the WebSocket URL it is given.
package room

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed i18n/*.json
var i18nFS embed.FS

// AssetPrefix is where the caller mounts Assets (with http.StripPrefix);
// the pages reference their scripts and styles under it.
const AssetPrefix = "/r/static/"

// PageData is what the room page shows. The caller has already decided the
// person may enter; Role is their slot ("manager" or "report").
type PageData struct {
	RoomID, Lang, Role, SelfName, PeerName, SelfEmail, PeerEmail string
	// Start and End are the occurrence's window (the slot whose time left
	// is counted down); zero when the meeting is ad hoc.
	Start, End time.Time
	// Timezone is the IANA zone the occurrence time is shown in.
	Timezone string
	// WSURL is the signaling WebSocket, absolute (ws:, wss:) or a path on
	// the page's own origin.
	WSURL      string
	ICEServers []ICEServer
	// CapabilityMode: anyone with the room URL may take a free slot; the
	// page says so.
	CapabilityMode bool
	// JoinNow skips the pre-join screen (the chooser's click was the user
	// gesture). An addition to the contract; false keeps the pre-join
	// screen.
	JoinNow bool
}

// ICEServer is a STUN/TURN server handed to the browser.
type ICEServer struct {
	URLs                 []string
	Username, Credential string
}

// ChooserData is the capability-mode pre-join chooser: which of the two
// are you? The form posts field "role" ("manager" or "report") to Action.
type ChooserData struct {
	RoomID, Lang              string
	ManagerName, ReportName   string
	Start, End                time.Time
	Timezone                  string
	Action                    string // default "/r/{RoomID}"
	ManagerTaken, ReportTaken bool   // a taken slot's button is disabled
	// CSRFField and CSRFToken, when set, add a hidden field to the form.
	CSRFField, CSRFToken string
}

// RefusedData is the page for a signed-in person who is not one of the
// pair. It names the pair and nothing else.
type RefusedData struct {
	Lang                    string
	ManagerName, ReportName string
	// SignedInAs is shown so a person signed in with the wrong account
	// understands; SignOutURL (optional) offers a way out (POST).
	SignedInAs, SignOutURL string
}

// Message keys for RenderError.
const (
	MsgLinkExpired    = "link_expired"   // a personal link past its expiry or revoked
	MsgLinkInvalid    = "link_invalid"   // tampered or malformed link
	MsgRoomNotFound   = "room_not_found" // no such series
	MsgRoomFull       = "room_full"      // capability mode: both slots taken
	MsgSignInRequired = "sign_in_required"
	MsgInternal       = "internal"
)

// Languages the pages are written in; the first is the fallback.
var languages = []string{"en", "ja"}

// page is the parsed templates and translations; they are immutable once
// loaded, so one copy serves every request.
type page struct {
	room, chooser, refused, errPage *template.Template
	dicts                           map[string]map[string]string
	dictJSON                        map[string]template.JS
	versions                        map[string]string // asset name → content hash
}

var loaded = sync.OnceValues(load)

func load() (*page, error) {
	p := &page{dicts: map[string]map[string]string{}, dictJSON: map[string]template.JS{}, versions: map[string]string{}}
	for _, l := range languages {
		b, err := i18nFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			return nil, err
		}
		d := map[string]string{}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", l, err)
		}
		p.dicts[l] = d
	}
	for k := range p.dicts["en"] {
		for _, l := range languages[1:] {
			if _, ok := p.dicts[l][k]; !ok {
				return nil, fmt.Errorf("i18n/%s.json: missing key %q", l, k)
			}
		}
	}
	err := fs.WalkDir(staticFS, "static", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.versions[strings.TrimPrefix(name, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset": func(name string) string { return AssetPrefix + name + "?v=" + p.versions[name] },
	}
	parse := func(name string) (*template.Template, error) {
		return template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
	}
	if p.room, err = parse("room.html"); err != nil {
		return nil, err
	}
	if p.chooser, err = parse("chooser.html"); err != nil {
		return nil, err
	}
	if p.refused, err = parse("refused.html"); err != nil {
		return nil, err
	}
	if p.errPage, err = parse("error.html"); err != nil {
		return nil, err
	}
	return p, nil
}

func mustLoad() *page {
	p, err := loaded()
	if err != nil {
		// The package's tests load every embedded file, so this is a
		// build defect, not a runtime condition.
		panic("web/room: embedded files: " + err.Error())
	}
	return p
}

// dict looks up translations and falls back to English, then to the key.
type dict struct {
	m, en map[string]string
}

// Get returns the translation of key.
func (d dict) Get(key string) string {
	if s, ok := d.m[key]; ok {
		return s
	}
	if s, ok := d.en[key]; ok {
		return s
	}
	return key
}

// Format fills {name}-style placeholders of key's translation with pairs
// of name, value. Values stay text: the template escapes the result.
func (d dict) Format(key string, pairs ...string) string {
	s := d.Get(key)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// pickLang chooses the page language: the caller's choice, then ?lang=,
// then Accept-Language, then English.
func pickLang(r *http.Request, preferred string) string {
	for _, c := range []string{preferred, r.URL.Query().Get("lang")} {
		for _, l := range languages {
			if strings.EqualFold(c, l) {
				return l
			}
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		base := strings.SplitN(tag, "-", 2)[0]
		for _, l := range languages {
			if base == l {
				return l
			}
		}
	}
	return languages[0]
}

func (p *page) dictFor(lang string) dict { return dict{m: p.dicts[lang], en: p.dicts["en"]} }

// setHeaders sets the security headers every room page carries. connect
// allows the signaling WebSocket's origin besides 'self' (older browsers do
// not count ws: as 'self').
func setHeaders(w http.ResponseWriter, connect string) {
	h := w.Header()
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self'"
	if connect != "" {
		csp += " " + connect
	}
	csp += "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Camera and microphone for this origin only; nothing else.
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(), geolocation=()")
}

// wsOrigin returns the ws:/wss: origin of the signaling URL for the CSP,
// deriving it from the request when the URL is a path.
func wsOrigin(r *http.Request, wsURL string) string {
	u, err := url.Parse(wsURL)
	if err != nil {
		return ""
	}
	if u.Scheme == "ws" || u.Scheme == "wss" {
		return u.Scheme + "://" + u.Host
	}
	if u.Host != "" || r.Host == "" {
		return ""
	}
	scheme := "ws"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "wss"
	}
	return scheme + "://" + r.Host
}

func execute(w http.ResponseWriter, t *template.Template, status int, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return fmt.Errorf("room: render: %w", err)
	}
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("room: write page: %w", err)
	}
	return nil
}

// view is what every template sees.
type view struct {
	Lang    string
	T       dict
	Title   string
	Scripts []string // module scripts under AssetPrefix
	Body    string   // class of <body>
	Data    any
}

// roomConfig is the JSON the page's script reads from #room-config.
type roomConfig struct {
	RoomID         string      `json:"roomId"`
	Lang           string      `json:"lang"`
	Role           string      `json:"role"`
	SelfName       string      `json:"selfName"`
	PeerName       string      `json:"peerName"`
	Start          string      `json:"start,omitempty"`
	End            string      `json:"end,omitempty"`
	Timezone       string      `json:"timezone,omitempty"`
	WSURL          string      `json:"wsUrl"`
	ICEServers     []iceServer `json:"iceServers"`
	CapabilityMode bool        `json:"capabilityMode"`
	JoinNow        bool        `json:"joinNow"`
}

type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

type roomView struct {
	PageData
	Config   template.JS // JSON, placed in a non-executed data block
	I18N     template.JS
	When     string // the occurrence's time, formatted
	SelfName string
	PeerName string
	// PeerInitials and SelfInitials stand in for a video while its camera
	// is off (or there is none).
	PeerInitials string
	SelfInitials string
}

// Render writes the room page for d.
func Render(w http.ResponseWriter, r *http.Request, d PageData) error {
	p := mustLoad()
	lang := pickLang(r, d.Lang)
	t := p.dictFor(lang)
	cfg := roomConfig{
		RoomID: d.RoomID, Lang: lang, Role: d.Role,
		SelfName: displayName(d.SelfName, d.SelfEmail, t.Get("role_"+d.Role)),
		PeerName: displayName(d.PeerName, d.PeerEmail, t.Get("role_"+otherRole(d.Role))),
		Timezone: d.Timezone, WSURL: d.WSURL, ICEServers: []iceServer{},
		CapabilityMode: d.CapabilityMode, JoinNow: d.JoinNow,
	}
	if !d.Start.IsZero() {
		cfg.Start = d.Start.UTC().Format(time.RFC3339)
	}
	if !d.End.IsZero() {
		cfg.End = d.End.UTC().Format(time.RFC3339)
	}
	for _, s := range d.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, iceServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	cj, err := jsonForScript(cfg)
	if err != nil {
		return err
	}
	dj, err := jsonForScript(p.dicts[lang])
	if err != nil {
		return err
	}
	setHeaders(w, wsOrigin(r, d.WSURL))
	return execute(w, p.room, http.StatusOK, view{
		Lang: lang, T: t, Title: t.Get("title_room"), Scripts: []string{"room.js"}, Body: "room",
		Data: roomView{PageData: d, Config: cj, I18N: dj, When: formatWhen(t, lang, d.Start, d.End, d.Timezone),
			SelfName: cfg.SelfName, PeerName: cfg.PeerName, PeerInitials: initials(cfg.PeerName),
			SelfInitials: initials(cfg.SelfName)},
	})
}

// jsonForScript encodes v for a <script type="application/json"> block:
// json.Marshal escapes <, > and &, so no text can close the element.
func jsonForScript(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("room: encode page config: %w", err)
	}
	return template.JS(b), nil
}

func otherRole(role string) string {
	if role == "manager" {
		return "report"
	}
	return "manager"
}

// displayName is the name to show: the name, else the e-mail's local
// part, else the role's word.
func displayName(name, email, fallback string) string {
	if s := strings.TrimSpace(name); s != "" {
		return s
	}
	if at := strings.IndexByte(email, '@'); at > 0 {
		return email[:at]
	}
	return fallback
}

// initials are what a camera-off tile shows of a name: the first letters
// of its first and last words ("Aiko Tanaka" → "AT"), or its first
// character alone when the script has no capitals to make initials of
// ("田中 愛子" → "田").
func initials(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(words[0])
	last, _ := utf8.DecodeRuneInString(words[len(words)-1])
	hasCase := func(r rune) bool { return unicode.ToUpper(r) != unicode.ToLower(r) }
	if len(words) == 1 || !hasCase(first) || !hasCase(last) {
		return string(unicode.ToUpper(first))
	}
	return string(unicode.ToUpper(first)) + string(unicode.ToUpper(last))
}

// formatWhen renders an occurrence window in its zone, in the page's
// language ("Tue 1 Dec 2026, 10:00–10:30 (Asia/Tokyo)").
func formatWhen(t dict, lang string, start, end time.Time, tz string) string {
	if start.IsZero() {
		return t.Get("ad_hoc")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc, tz = time.UTC, "UTC"
	}
	s, e := start.In(loc), end.In(loc)
	var day string
	if lang == "ja" {
		wd := []string{"日", "月", "火", "水", "木", "金", "土"}[s.Weekday()]
		day = fmt.Sprintf("%d年%d月%d日(%s)", s.Year(), s.Month(), s.Day(), wd)
	} else {
		day = s.Format("Mon 2 Jan 2006")
	}
	span := s.Format("15:04")
	if !end.IsZero() {
		span += "–" + e.Format("15:04")
	}
	return day + " " + span + " (" + tz + ")"
}

type chooserView struct {
	ChooserData
	When string
}

// RenderChooser writes the capability-mode chooser.
func RenderChooser(w http.ResponseWriter, r *http.Request, d ChooserData) error {
	p := mustLoad()
	lang := pickLang(r, d.Lang)
	t := p.dictFor(lang)
	if d.Action == "" {
		d.Action = "/r/" + url.PathEscape(d.RoomID)
	}
	d.ManagerName = displayName(d.ManagerName, "", t.Get("role_manager"))
	d.ReportName = displayName(d.ReportName, "", t.Get("role_report"))
	setHeaders(w, "")
	return execute(w, p.chooser, http.StatusOK, view{
		Lang: lang, T: t, Title: t.Get("title_chooser"), Body: "chooser",
		Data: chooserView{ChooserData: d, When: formatWhen(t, lang, d.Start, d.End, d.Timezone)},
	})
}

// RenderRefused writes the page for a stranger, with status 403.
func RenderRefused(w http.ResponseWriter, r *http.Request, d RefusedData) error {
	p := mustLoad()
	lang := pickLang(r, d.Lang)
	t := p.dictFor(lang)
	d.ManagerName = displayName(d.ManagerName, "", t.Get("role_manager"))
	d.ReportName = displayName(d.ReportName, "", t.Get("role_report"))
	setHeaders(w, "")
	return execute(w, p.refused, http.StatusForbidden, view{Lang: lang, T: t, Title: t.Get("title_refused"), Body: "refused", Data: d})
}

type errorView struct {
	Message string
	Code    string
}

// RenderError writes an error page with status and the translation of
// messageKey (one of the Msg constants; unknown keys get a generic text).
func RenderError(w http.ResponseWriter, r *http.Request, status int, lang, messageKey string) error {
	p := mustLoad()
	lang = pickLang(r, lang)
	t := p.dictFor(lang)
	key := "error_" + messageKey
	if _, ok := p.dicts["en"][key]; !ok {
		key, messageKey = "error_generic", "generic"
	}
	setHeaders(w, "")
	return execute(w, p.errPage, status, view{Lang: lang, T: t, Title: t.Get("title_error"), Body: "error",
		Data: errorView{Message: t.Get(key), Code: messageKey}})
}

// Assets serves the page's scripts and styles; mount it under AssetPrefix
// with http.StripPrefix. Responses are revalidated by content hash (ETag),
// and long-cached when the URL carries the current version.
func Assets() http.Handler {
	p := mustLoad()
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("web/room: embedded static files: " + err.Error())
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean(strings.TrimPrefix(r.URL.Path, "/"))
		v, ok := p.versions[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("ETag", `"`+v+`"`)
		if r.URL.Query().Get("v") == v {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
