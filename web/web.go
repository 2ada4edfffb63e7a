// Package web owns the minimal admin page: sign-in with the admin token,
// the list of 1on1 series grouped by team, in English or Japanese. Pages,
// CSS, JS modules and translations are embedded; there is no build step.
// It reads the store and never writes to it; it holds no domain logic
// beyond formatting, and it must not put user text into HTML except
// through html/template's escaping.
package web

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed i18n/*.json
var i18nFS embed.FS

// Options configure the admin page.
type Options struct {
	Store      calendar.Store
	AdminToken string
	// PublicURL decides whether the session cookie is Secure (https).
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// GoogleAuthorize, when set, starts the consent flow of a Google
	// calendar that uses an OAuth client, in the signed-in admin's browser
	// (GET /calendars/{id}/authorize): the flow ties its callback to that
	// browser, so it must start there, not in a script holding the token.
	GoogleAuthorize func(w http.ResponseWriter, r *http.Request, calendarID string) error
}

// Route is one route the page serves; the caller mounts them on its mux.
type Route struct {
	Method  string
	Pattern string // a net/http ServeMux path pattern
	DocPath string // the OpenAPI path when it differs from Pattern
	Handler http.Handler
}

// Handler serves the admin page.
type Handler struct {
	store     calendar.Store
	log       *slog.Logger
	now       func() time.Time
	sessions  *sessions
	secure    bool
	langs     map[string]dict
	login     *template.Template
	list      *template.Template
	static    http.Handler
	authorize func(w http.ResponseWriter, r *http.Request, calendarID string) error
}

// New builds the page handler. It panics only if the embedded templates or
// translations are broken, which the package's tests rule out.
func New(opts Options) *Handler {
	h := &Handler{
		store:     opts.Store,
		log:       opts.Logger,
		now:       opts.Now,
		authorize: opts.GoogleAuthorize,
		secure:    strings.HasPrefix(strings.ToLower(opts.PublicURL), "https://"),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	ttl := opts.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	h.sessions = newSessions(opts.AdminToken, ttl, h.now)
	var err error
	if h.langs, err = loadTranslations(i18nFS); err != nil {
		panic(fmt.Sprintf("web: embedded translations: %v", err))
	}
	h.login = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/login.html"))
	h.list = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/series.html"))
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(fmt.Sprintf("web: embedded static files: %v", err))
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	return h
}

// Routes lists what the page serves. Mount them behind
// http.CrossOriginProtection: the sign-in and sign-out forms rely on it.
func (h *Handler) Routes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/{$}", DocPath: "/", Handler: secured(http.HandlerFunc(h.index))},
		{Method: "POST", Pattern: "/login", Handler: secured(http.HandlerFunc(h.signIn))},
		{Method: "POST", Pattern: "/logout", Handler: secured(http.HandlerFunc(h.signOut))},
		{Method: "GET", Pattern: "/static/{file...}", DocPath: "/static/{file}", Handler: secured(h.static)},
		{Method: "GET", Pattern: "/calendars/{id}/authorize", Handler: secured(http.HandlerFunc(h.authorizeCalendar))},
	}
}

// ServeHTTP serves the page's routes on a mux of its own, for callers that
// mount the page as one handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	for _, rt := range h.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	mux.ServeHTTP(w, r)
}

// secured sets the headers every page response carries.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

type language struct {
	Code    string
	Label   string
	Current bool
}

type pageData struct {
	Lang      string
	T         dict
	Languages []language
	SignedIn  bool
	Error     string // a translation key
	Count     int
	Teams     []teamGroup
}

type teamGroup struct {
	Name   string
	Series []seriesRow
}

type seriesRow struct {
	ID         string
	Manager    calendar.Person
	Report     calendar.Person
	Cadence    string
	Duration   string
	Next       string
	NextISO    string
	Timezone   string
	State      string
	StateLabel string
}

func (h *Handler) page(r *http.Request, lang string, signedIn bool) pageData {
	d := pageData{Lang: lang, T: h.langs[lang], SignedIn: signedIn}
	for _, code := range languages() {
		d.Languages = append(d.Languages, language{Code: code, Label: h.langs[code].Get("language_name"), Current: code == lang})
	}
	return d
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, d pageData) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	if !h.sessions.valid(r) {
		h.render(w, r, http.StatusOK, h.login, h.page(r, lang, false))
		return
	}
	d := h.page(r, lang, true)
	teams, count, err := h.seriesByTeam(r, d.T)
	if err != nil {
		h.log.ErrorContext(r.Context(), "admin page: load series", "err", err)
		d.Error = "load_failed"
		h.render(w, r, http.StatusInternalServerError, h.list, d)
		return
	}
	d.Teams, d.Count = teams, count
	h.render(w, r, http.StatusOK, h.list, d)
}

// authorizeCalendar starts a Google calendar's consent flow for a signed-in
// admin; anyone else is sent to the sign-in page first.
func (h *Handler) authorizeCalendar(w http.ResponseWriter, r *http.Request) {
	if !h.sessions.valid(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	id := r.PathValue("id")
	if h.authorize == nil {
		http.Error(w, "no calendar here needs Google authorisation", http.StatusNotFound)
		return
	}
	if err := h.authorize(w, r, id); err != nil {
		h.log.WarnContext(r.Context(), "admin page: start Google consent", "calendar", id, "err", err)
		http.Error(w, fmt.Sprintf("calendar %q has no Google consent flow (it is not a Google calendar with an OAuth client)", id), http.StatusNotFound)
	}
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		d := h.page(r, lang, false)
		d.Error = "sign_in_bad_request"
		h.render(w, r, http.StatusBadRequest, h.login, d)
		return
	}
	if !h.sessions.checkToken(r.PostForm.Get("token")) {
		h.log.WarnContext(r.Context(), "admin page: sign-in refused")
		d := h.page(r, lang, false)
		d.Error = "sign_in_failed"
		h.render(w, r, http.StatusUnauthorized, h.login, d)
		return
	}
	http.SetCookie(w, h.sessions.cookie(h.secure))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	h.sessions.revoke(r)
	http.SetCookie(w, h.sessions.clearCookie(h.secure))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// seriesByTeam loads every series with its next occurrence, grouped by
// team (teams by name, the unnamed team last; series by manager, report).
func (h *Handler) seriesByTeam(r *http.Request, t dict) ([]teamGroup, int, error) {
	ctx := r.Context()
	all, err := h.store.ListSeries(ctx, calendar.ListOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("list series: %w", err)
	}
	now := h.now()
	allOverrides, err := h.store.OverridesBetween(ctx, now.AddDate(0, -2, 0), now.AddDate(2, 0, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("list overrides: %w", err)
	}
	overrides := map[string][]calendar.Override{}
	for _, o := range allOverrides {
		overrides[o.SeriesID] = append(overrides[o.SeriesID], o)
	}
	byTeam := map[string][]seriesRow{}
	for _, se := range all {
		row := seriesRow{
			ID:         se.ID,
			Manager:    se.Manager,
			Report:     se.Report,
			Cadence:    cadenceLabel(t, se.Cadence),
			Duration:   calendar.FormatDuration(se.Duration),
			Timezone:   se.Timezone,
			State:      string(se.State),
			StateLabel: t.Get("state_" + string(se.State)),
		}
		if se.State == calendar.StateActive {
			loc, err := calendar.LoadLocation(se.Timezone)
			if err != nil {
				return nil, 0, fmt.Errorf("series %s: timezone %q: %w", se.ID, se.Timezone, err)
			}
			if o, ok := se.Next(now, overrides[se.ID]); ok {
				st := o.Start.In(loc)
				row.Next = fmt.Sprintf("%s (%s) %s", st.Format(time.DateOnly), t.Get(fmt.Sprintf("weekday_%d", st.Weekday())), st.Format("15:04"))
				row.NextISO = st.Format(time.RFC3339)
			}
		}
		byTeam[se.Team] = append(byTeam[se.Team], row)
	}
	teams := make([]teamGroup, 0, len(byTeam))
	for name, rows := range byTeam {
		slices.SortFunc(rows, func(a, b seriesRow) int {
			return cmp.Or(cmp.Compare(a.Manager.Email, b.Manager.Email), cmp.Compare(a.Report.Email, b.Report.Email))
		})
		teams = append(teams, teamGroup{Name: name, Series: rows})
	}
	slices.SortFunc(teams, func(a, b teamGroup) int {
		if (a.Name == "") != (b.Name == "") {
			if a.Name == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for i := range teams {
		if teams[i].Name == "" {
			teams[i].Name = t.Get("no_team")
		}
	}
	return teams, len(all), nil
}

func cadenceLabel(t dict, cadence string) string {
	switch cadence {
	case calendar.CadenceWeekly, calendar.CadenceBiweekly, calendar.CadenceMonthly:
		return t.Get("cadence_" + cadence)
	}
	return cadence
}

// dict is one language's translations; a missing key shows as itself so
// that a gap is visible rather than blank.
type dict map[string]string

// Get returns the translation of key.
func (d dict) Get(key string) string {
	if v, ok := d[key]; ok {
		return v
	}
	return key
}

// languages are the page's languages, English first (the fallback).
func languages() []string { return []string{"en", "ja"} }

func loadTranslations(fsys fs.FS) (map[string]dict, error) {
	out := map[string]dict{}
	for _, code := range languages() {
		b, err := fs.ReadFile(fsys, "i18n/"+code+".json")
		if err != nil {
			return nil, err
		}
		var d dict
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", code, err)
		}
		out[code] = d
	}
	return out, nil
}

const langCookie = "lang"

// language picks the page language: ?lang= (remembered in a cookie), then
// the cookie, then Accept-Language, then English.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); h.supported(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && h.supported(c.Value) {
		return c.Value
	}
	return matchAcceptLanguage(r.Header.Get("Accept-Language"))
}

func (h *Handler) supported(l string) bool {
	_, ok := h.langs[l]
	return ok && l != ""
}

// matchAcceptLanguage returns the supported language the header prefers
// most (by q, then by order), or "en".
func matchAcceptLanguage(header string) string {
	supported := languages()
	best, bestQ := supported[0], 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				continue
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if slices.Contains(supported, primary) && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}
