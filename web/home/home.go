// Package home owns a person's own pages: GET /home (their 1on1s, the next
// occurrence's agenda to prepare, open action items, past occurrences) and
// the stand-alone agenda page of one occurrence with live updates, plus
// their plain-JS modules, CSS and English/Japanese strings. Its agenda
// module (/home/static/agenda.js) is also the room's agenda sidebar.
//
// It renders for the person identity says is signed in and reads the
// agenda through package agenda, so it never shows a private note to
// anyone but its author; user text reaches pages as text only (html/template
// escaping, textContent in scripts). It owns no store, no agenda rules and
// no sign-in.
package home

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/agenda/httpapi"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/errs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// AssetPrefix is where Assets are served; the room page imports
// AssetPrefix+"agenda.js" for its sidebar.
const AssetPrefix = "/home/static/"

// Identities is what the pages need of package identity.
type Identities interface {
	Current(r *http.Request) (identity.Identity, bool)
	Mode() identity.Mode
	ConsumeLink(w http.ResponseWriter, r *http.Request) bool
	SignIn(w http.ResponseWriter, r *http.Request, next string)
}

// Store lists a person's series and their moved occurrences.
type Store interface {
	httpapi.Series
	SeriesOf(ctx context.Context, email string) ([]calendar.Series, error)
}

// Options configure the pages.
type Options struct {
	Agenda   *agenda.Service
	Identity Identities
	Store    Store
	Logger   *slog.Logger
	Now      func() time.Time
}

// Handler serves the pages.
type Handler struct {
	ag     *agenda.Service
	id     Identities
	store  Store
	log    *slog.Logger
	now    func() time.Time
	tpl    map[string]*template.Template
	dicts  map[string]map[string]string
	assets http.Handler
}

var languages = []string{"en", "ja"}

// New parses the embedded templates and strings.
func New(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{ag: opts.Agenda, id: opts.Identity, store: opts.Store, log: opts.Logger, now: opts.Now,
		tpl: map[string]*template.Template{}, dicts: map[string]map[string]string{}}
	for _, l := range languages {
		b, err := staticFS.ReadFile("static/i18n/" + l + ".json")
		if err != nil {
			return nil, err
		}
		d := map[string]string{}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("home: i18n/%s.json: %w", l, err)
		}
		h.dicts[l] = d
	}
	for k := range h.dicts["en"] {
		if _, ok := h.dicts["ja"][k]; !ok {
			return nil, fmt.Errorf("home: i18n/ja.json: missing key %q", k)
		}
	}
	for _, name := range []string{"home.html", "agenda.html", "message.html"} {
		t, err := template.New("").ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("home: %s: %w", name, err)
		}
		h.tpl[name] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.assets = http.StripPrefix(AssetPrefix, http.FileServerFS(sub))
	return h, nil
}

// Route is one route to mount.
type Route struct {
	Method, Pattern string
	Handler         http.Handler
}

// Routes are the pages and their assets.
func (h *Handler) Routes() []Route {
	return []Route{
		{"GET", "/home", http.HandlerFunc(h.home)},
		{"GET", "/home/series/{id}/occurrences/{key}", http.HandlerFunc(h.agendaPage)},
		{"GET", AssetPrefix, http.HandlerFunc(h.static)},
	}
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	h.assets.ServeHTTP(w, r)
}

// setHeaders is the strict header set of every page (as web/web.go's).
func setHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Type", "text/html; charset=utf-8")
}

type dict map[string]string

// Get returns the string for key (the key itself when missing, so a gap
// shows instead of vanishing).
func (d dict) Get(key string) string {
	if s, ok := d[key]; ok {
		return s
	}
	return key
}

func (h *Handler) lang(r *http.Request) string {
	if q := r.URL.Query().Get("lang"); slices.Contains(languages, q) {
		return q
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if base := strings.SplitN(tag, "-", 2)[0]; slices.Contains(languages, base) {
			return base
		}
	}
	return "en"
}

type view struct {
	Lang   string
	T      dict
	Title  string
	Script string
	Data   any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	var buf bytes.Buffer
	if err := h.tpl[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "home: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setHeaders(w)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, lang, key string) {
	t := dict(h.dicts[lang])
	h.render(w, r, status, "message.html", view{Lang: lang, T: t, Title: t.Get("app_name"), Data: t.Get(key)})
}

// who returns the signed-in person, having answered when there is none:
// a personal link signs them in; otherwise sign-in, or in capability mode
// a page saying what is needed.
func (h *Handler) who(w http.ResponseWriter, r *http.Request, lang string) (identity.Identity, bool) {
	if h.id.ConsumeLink(w, r) {
		return identity.Identity{}, false
	}
	if cur, ok := h.id.Current(r); ok {
		return cur, true
	}
	if h.id.Mode() == identity.ModeCapability {
		h.message(w, r, http.StatusUnauthorized, lang, "needs_sign_in")
		return identity.Identity{}, false
	}
	h.id.SignIn(w, r, r.URL.RequestURI())
	return identity.Identity{}, false
}

type seriesView struct {
	ID       string
	Role     string
	PeerName string
	NextKey  string
	NextWhen string
	NextURL  string
	RoomURL  string
	Prep     []agenda.Item
	Actions  []actionView
	Past     []pastView
	Paused   bool
}

type actionView struct {
	Text, Owner, Due, From string
}

type pastView struct {
	URL, When string
	Items     int
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	me, ok := h.who(w, r, lang)
	if !ok {
		return
	}
	t := dict(h.dicts[lang])
	ctx := r.Context()
	all, err := h.store.SeriesOf(ctx, me.Email)
	if err != nil {
		h.log.ErrorContext(ctx, "home: series of person", "err", err)
		h.message(w, r, http.StatusInternalServerError, lang, "internal")
		return
	}
	actor := agenda.Actor{Email: me.Email}
	var out []seriesView
	for _, se := range all {
		if se.State == calendar.StateDetached {
			continue
		}
		v := seriesView{ID: se.ID, RoomURL: "/r/" + se.ID, Paused: se.State == calendar.StatePaused}
		peer := se.Report
		v.Role = t.Get("role_manager")
		if strings.EqualFold(se.Report.Email, me.Email) {
			peer, v.Role = se.Manager, t.Get("role_report")
		}
		v.PeerName = displayName(peer)
		if key, start, ok := h.next(ctx, se); ok {
			v.NextKey, v.NextWhen = key, formatWhen(lang, start, se.Timezone)
			v.NextURL = "/home/series/" + se.ID + "/occurrences/" + key
			if a, err := h.ag.List(ctx, actor, se.ID, key); err == nil {
				for _, it := range a.Items {
					if it.Kind == agenda.KindTopic {
						v.Prep = append(v.Prep, it)
					}
				}
			}
		}
		if acts, err := h.ag.OpenActions(ctx, actor, se.ID); err == nil {
			for _, it := range acts {
				owner := it.Owner
				if strings.EqualFold(owner, se.Manager.Email) {
					owner = displayName(se.Manager)
				} else if strings.EqualFold(owner, se.Report.Email) {
					owner = displayName(se.Report)
				}
				v.Actions = append(v.Actions, actionView{Text: it.Text, Owner: owner, Due: it.Due, From: keyDate(it.Occurrence, se.Timezone)})
			}
		}
		if occ, err := h.ag.Occurrences(ctx, actor, se.ID, v.NextKey); err == nil {
			for i, o := range occ {
				if i == 10 {
					break
				}
				st, _ := calendar.ParseOccurrenceKey(o.Key)
				v.Past = append(v.Past, pastView{URL: "/home/series/" + se.ID + "/occurrences/" + o.Key,
					When: formatWhen(lang, st, se.Timezone), Items: o.Items})
			}
		}
		out = append(out, v)
	}
	h.render(w, r, http.StatusOK, "home.html", view{Lang: lang, T: t, Title: t.Get("home_title"),
		Data: map[string]any{"Email": me.Email, "Series": out}})
}

// next is the occurrence to prepare: the one in progress or the next.
func (h *Handler) next(ctx context.Context, se calendar.Series) (string, time.Time, bool) {
	now := h.now()
	ov, err := h.store.ListOverrides(ctx, se.ID, now.Add(-24*time.Hour), now.Add(400*24*time.Hour))
	if err != nil {
		return "", time.Time{}, false
	}
	occ, err := se.Occurrences(now.Add(-24*time.Hour), now.Add(400*24*time.Hour), ov, now)
	if err != nil {
		return "", time.Time{}, false
	}
	for _, o := range occ {
		if o.Status != calendar.StatusCancelled && o.End.After(now) {
			return o.Key, o.Start, true
		}
	}
	return "", time.Time{}, false
}

// pageConfig is what agenda.js reads from #agenda-config.
type pageConfig struct {
	Series       string            `json:"series"`
	Occurrence   string            `json:"occurrence"`
	Lang         string            `json:"lang"`
	Role         string            `json:"role"`
	SelfEmail    string            `json:"selfEmail"`
	PeerEmail    string            `json:"peerEmail"`
	SelfName     string            `json:"selfName"`
	PeerName     string            `json:"peerName"`
	PrivateNotes bool              `json:"privateNotes"`
	WSURL        string            `json:"wsUrl"`
	TemplateURL  string            `json:"templateUrl"`
	Templates    []agenda.Template `json:"templates"`
	I18N         map[string]string `json:"i18n"`
}

func (h *Handler) agendaPage(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	me, ok := h.who(w, r, lang)
	if !ok {
		return
	}
	t := dict(h.dicts[lang])
	id, key := r.PathValue("id"), r.PathValue("key")
	start, err := calendar.ParseOccurrenceKey(key)
	if err != nil {
		h.message(w, r, http.StatusBadRequest, lang, "bad_occurrence")
		return
	}
	role, err := h.ag.Role(r.Context(), me.Email, id)
	switch {
	case errors.Is(err, errs.ErrForbidden):
		h.message(w, r, http.StatusForbidden, lang, "not_yours")
		return
	case errors.Is(err, errs.ErrNotFound):
		h.message(w, r, http.StatusNotFound, lang, "no_series")
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "home: agenda page", "err", err)
		h.message(w, r, http.StatusInternalServerError, lang, "internal")
		return
	}
	se, err := h.store.GetSeries(r.Context(), id)
	if err != nil {
		h.message(w, r, http.StatusInternalServerError, lang, "internal")
		return
	}
	self, peer := se.Manager, se.Report
	if role == agenda.RoleReport {
		self, peer = peer, self
	}
	cfg := pageConfig{Series: id, Occurrence: key, Lang: lang, Role: string(role),
		SelfEmail: strings.ToLower(self.Email), PeerEmail: strings.ToLower(peer.Email),
		SelfName: displayName(self), PeerName: displayName(peer),
		PrivateNotes: h.id.Mode() != identity.ModeCapability,
		WSURL:        "/agenda/ws?series=" + id + "&key=" + key,
		TemplateURL:  "/api/v1/series/" + id + "/occurrences/" + key + "/agenda/template",
		Templates:    h.ag.Templates().List(lang), I18N: h.dicts[lang]}
	b, err := json.Marshal(cfg) // escapes <, > and &: nothing can close the script element
	if err != nil {
		h.message(w, r, http.StatusInternalServerError, lang, "internal")
		return
	}
	h.render(w, r, http.StatusOK, "agenda.html", view{Lang: lang, T: t, Title: t.Get("agenda_title"), Script: "page.js",
		Data: map[string]any{"Config": template.JS(b), "When": formatWhen(lang, start, se.Timezone),
			"PeerName": displayName(peer), "Home": "/home", "Room": "/r/" + id}})
}

func displayName(p calendar.Person) string {
	if s := strings.TrimSpace(p.Name); s != "" {
		return s
	}
	if at := strings.IndexByte(p.Email, '@'); at > 0 {
		return p.Email[:at]
	}
	return p.Email
}

func keyDate(key, tz string) string {
	t, err := calendar.ParseOccurrenceKey(key)
	if err != nil {
		return key
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02")
}

// formatWhen renders an occurrence start in its zone and the language.
func formatWhen(lang string, start time.Time, tz string) string {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc, tz = time.UTC, "UTC"
	}
	s := start.In(loc)
	if lang == "ja" {
		wd := []string{"日", "月", "火", "水", "木", "金", "土"}[s.Weekday()]
		return fmt.Sprintf("%d年%d月%d日(%s) %s (%s)", s.Year(), s.Month(), s.Day(), wd, s.Format("15:04"), tz)
	}
	return s.Format("Mon 2 Jan 2006, 15:04") + " (" + tz + ")"
}
