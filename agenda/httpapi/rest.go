package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/internal/errs"
)

// msgAdminToken answers a request that carries the admin token: the
// agenda is the pair's, not the company's.
const msgAdminToken = "agenda content belongs to the pair: the admin token cannot read or change it; " +
	"call with the person's own session (open their personal link or sign in)"

type errorBody struct {
	Error errorDetail `json:"error"`
	// Item is the current item when a change conflicted, so the caller
	// sees what it would have overwritten.
	Item *agenda.Item `json:"item,omitempty"`
}

type errorDetail struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Field   string  `json:"field,omitempty"`
	Current *string `json:"current,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg, Field: field}})
}

// writeError maps the agenda's typed errors to the API's error shape.
// Messages of not-found and forbidden errors are generic so they do not
// tell a stranger what exists.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeErr(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit), "")
	case isInvalid(err):
		inv, _ := errs.AsInvalid(err)
		writeErr(w, http.StatusBadRequest, "invalid_argument", inv.Message, inv.Field)
	case errors.Is(err, errs.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not_found", "no such series, occurrence or item", "")
	case errors.Is(err, errs.ErrConflict):
		writeErr(w, http.StatusConflict, "conflict", "that id is already taken", "")
	case errors.Is(err, errs.ErrUnauthorized):
		writeErr(w, http.StatusUnauthorized, "unauthenticated", "sign in or open your personal link first", "")
	case errors.Is(err, errs.ErrForbidden):
		writeErr(w, http.StatusForbidden, "forbidden", "only the two people of this 1on1 see its agenda", "")
	default:
		h.log.ErrorContext(r.Context(), "agenda: request failed", "method", r.Method, "route", r.Pattern, "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

func isInvalid(err error) bool { _, ok := errs.AsInvalid(err); return ok }

// actor is the signed-in person. A request with the admin token (or any
// bearer token) and no session is refused with a message saying why.
func (h *Handler) actor(w http.ResponseWriter, r *http.Request) (agenda.Actor, bool) {
	if cur, ok := h.id.Current(r); ok {
		return agenda.Actor{Email: cur.Email}, true
	}
	if r.Header.Get("Authorization") != "" {
		writeErr(w, http.StatusForbidden, "forbidden", msgAdminToken, "")
		return agenda.Actor{}, false
	}
	writeErr(w, http.StatusUnauthorized, "unauthenticated", "sign in or open your personal link first: agenda calls take the person's session cookie", "")
	return agenda.Actor{}, false
}

// decode reads one JSON object strictly into dst.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errs.Invalidf(te.Field, "want a %s", te.Type)
		}
		if msg, ok := cutUnknownField(err.Error()); ok {
			return errs.Invalidf(msg, "is not a known field")
		}
		return errs.Invalidf("", "the body is not one JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.Invalidf("", "data after the JSON object")
	}
	return nil
}

// cutUnknownField extracts the name from encoding/json's "json: unknown
// field \"x\"".
func cutUnknownField(s string) (string, bool) {
	const p = `json: unknown field "`
	if len(s) > len(p)+1 && s[:len(p)] == p {
		return s[len(p) : len(s)-1], true
	}
	return "", false
}

func newOpID() string {
	b := make([]byte, 9)
	rand.Read(b)
	return "rest." + hex.EncodeToString(b)
}

// itemList is the GET answer.
type itemList struct {
	Series     string        `json:"series"`
	Occurrence string        `json:"occurrence"`
	Seq        int64         `json:"seq"`
	Items      []agenda.Item `json:"items"`
}

func (h *Handler) visible(items []agenda.Item) []agenda.Item {
	out := make([]agenda.Item, 0, len(items))
	for _, it := range items {
		if it.Kind == agenda.KindPrivateNote && !h.privateOK {
			continue
		}
		out = append(out, it)
	}
	return out
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	a, err := h.ag.List(r.Context(), actor, r.PathValue("id"), r.PathValue("key"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, itemList{Series: a.SeriesID, Occurrence: a.Occurrence, Seq: a.Seq, Items: h.visible(a.Items)})
}

// newItemBody is the POST body (INTERFACE.md), plus an optional
// client-chosen id and parent.
type newItemBody struct {
	ID     string      `json:"id"`
	Kind   agenda.Kind `json:"kind"`
	Text   string      `json:"text"`
	Tag    agenda.Tag  `json:"tag"`
	Parent string      `json:"parent"`
	Owner  string      `json:"owner"`
	Due    string      `json:"due"`
}

func (h *Handler) add(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	var b newItemBody
	if err := h.decode(w, r, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	if b.Kind == agenda.KindPrivateNote && !h.privateOK {
		writeErr(w, http.StatusBadRequest, "invalid_argument", "private notes are off while the daemon runs without sign-in (capability mode)", "kind")
		return
	}
	op := agenda.Op{ID: newOpID(), Kind: agenda.OpAdd, Item: b.ID,
		Add: &agenda.NewItem{Kind: b.Kind, Text: b.Text, Tag: b.Tag, Parent: b.Parent, Owner: b.Owner, Due: b.Due}}
	res, err := h.ag.Apply(r.Context(), actor, r.PathValue("id"), r.PathValue("key"), op)
	if err != nil {
		h.writeError(w, r, restField(err))
		return
	}
	writeJSON(w, http.StatusCreated, res.Item)
}

// restField renames the fields of an add op's errors ("add.text") to the
// REST body's ("text").
func restField(err error) error {
	if inv, ok := errs.AsInvalid(err); ok {
		if f, ok := cutPrefix(inv.Field, "add."); ok {
			return errs.Invalidf(f, "%s", inv.Message)
		}
	}
	return err
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

type templateBody struct {
	Template string `json:"template"`
	Lang     string `json:"lang"`
}

func (h *Handler) template(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	var b templateBody
	if err := h.decode(w, r, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := h.ag.ApplyTemplate(r.Context(), actor, r.PathValue("id"), r.PathValue("key"), b.Template, b.Lang); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.list(w, r)
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	evs, err := h.ag.History(r.Context(), actor, r.PathValue("id"), r.PathValue("key"), after, 1000)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := evs[:0]
	for _, ev := range evs {
		if ev.Item.Kind == agenda.KindPrivateNote && !h.privateOK {
			continue
		}
		out = append(out, ev)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (h *Handler) occurrences(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	occ, err := h.ag.Occurrences(r.Context(), actor, r.PathValue("id"), r.URL.Query().Get("before"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"occurrences": occ})
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	items, err := h.ag.OpenActions(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// patchBody is a change to an item: any of its fields, version being the
// one the change is based on (required for text, tag, owner, due), and
// occurrence the occurrence it is made in (default the item's own; an
// action item carried into a later occurrence is closed there).
type patchBody struct {
	Done       *bool   `json:"done"`
	Text       *string `json:"text"`
	Tag        *string `json:"tag"`
	Owner      *string `json:"owner"`
	Due        *string `json:"due"`
	Parent     *string `json:"parent"`
	After      *string `json:"after"` // move: the item to follow, "" = first
	Version    int64   `json:"version"`
	Occurrence string  `json:"occurrence"`
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	var b patchBody
	if err := h.decode(w, r, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	seriesID, itemID := r.PathValue("id"), r.PathValue("item")
	it, err := h.ag.ItemOccurrence(r.Context(), actor, seriesID, itemID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	key := b.Occurrence
	if key == "" {
		key = it.Occurrence
	}
	var ops []agenda.Op
	edit := func(field string, v *string) {
		if v != nil {
			ops = append(ops, agenda.Op{ID: newOpID(), Kind: agenda.OpEdit, Item: itemID, Field: field, Value: *v, BaseVersion: b.Version})
		}
	}
	edit(agenda.FieldText, b.Text)
	edit(agenda.FieldTag, b.Tag)
	edit(agenda.FieldOwner, b.Owner)
	edit(agenda.FieldDue, b.Due)
	edit(agenda.FieldParent, b.Parent)
	if b.Done != nil {
		ops = append(ops, agenda.Op{ID: newOpID(), Kind: agenda.OpCheck, Item: itemID, Value: strconv.FormatBool(*b.Done), BaseVersion: b.Version})
	}
	if b.After != nil {
		ops = append(ops, agenda.Op{ID: newOpID(), Kind: agenda.OpMove, Item: itemID, Value: *b.After})
	}
	if len(ops) == 0 {
		writeErr(w, http.StatusBadRequest, "invalid_argument", "nothing to change: send done, text, tag, owner, due, parent or after", "")
		return
	}
	cur := &it
	for _, op := range ops {
		if op.Kind == agenda.OpEdit && op.BaseVersion == 0 {
			writeErr(w, http.StatusBadRequest, "invalid_argument", "is required to change "+op.Field+": the item version your change is based on", "version")
			return
		}
		res, err := h.ag.Apply(r.Context(), actor, seriesID, key, op)
		if err != nil {
			h.writeError(w, r, patchField(err, op))
			return
		}
		if res.Status == agenda.StatusConflict {
			field := res.Conflict.Field
			current := res.Conflict.Current
			writeJSON(w, http.StatusConflict, errorBody{Error: errorDetail{Code: "conflict",
				Message: "the item changed since version " + strconv.FormatInt(b.Version, 10) + "; your change was not applied",
				Field:   field, Current: &current}, Item: res.Item})
			return
		}
		cur = res.Item
	}
	writeJSON(w, http.StatusOK, cur)
}

// patchField names the body field an op's error is about.
func patchField(err error, op agenda.Op) error {
	if inv, ok := errs.AsInvalid(err); ok {
		switch inv.Field {
		case "value":
			f := op.Field
			switch op.Kind {
			case agenda.OpCheck:
				f = "done"
			case agenda.OpMove:
				f = "after"
			}
			return errs.Invalidf(f, "%s", inv.Message)
		case "base_version":
			return errs.Invalidf("version", "%s", inv.Message)
		}
	}
	return err
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.actor(w, r)
	if !ok {
		return
	}
	seriesID, itemID := r.PathValue("id"), r.PathValue("item")
	it, err := h.ag.ItemOccurrence(r.Context(), actor, seriesID, itemID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	key := q.Get("occurrence")
	if key == "" {
		key = it.Occurrence
	}
	var base int64
	if v := q.Get("version"); v != "" {
		if base, err = strconv.ParseInt(v, 10, 64); err != nil || base < 0 {
			writeErr(w, http.StatusBadRequest, "invalid_argument", "must be a positive number", "version")
			return
		}
	}
	res, err := h.ag.Apply(r.Context(), actor, seriesID, key, agenda.Op{ID: newOpID(), Kind: agenda.OpDelete, Item: itemID, BaseVersion: base})
	if err != nil {
		h.writeError(w, r, patchField(err, agenda.Op{Kind: agenda.OpDelete}))
		return
	}
	if res.Status == agenda.StatusConflict {
		writeJSON(w, http.StatusConflict, errorBody{Error: errorDetail{Code: "conflict",
			Message: "the item changed since that version; it was not deleted", Field: "version"}, Item: res.Item})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
