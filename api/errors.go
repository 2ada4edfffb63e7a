package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/oneonone/oneonone/internal/errs"
)

// errorBody is the one shape of every API error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

func writeErrorCode(w http.ResponseWriter, status int, code, message, field string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message, Field: field}})
}

// writeError reports err once, at the edge: typed errors become 4xx with
// their message; anything else is a fault of ours, logged and hidden.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeErrorCode(w, http.StatusRequestEntityTooLarge, "request_too_large",
			fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit), "")
	case isInvalid(err):
		inv, _ := errs.AsInvalid(err)
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", inv.Message, inv.Field)
	case errors.Is(err, errs.ErrNotFound):
		writeErrorCode(w, http.StatusNotFound, "not_found", publicMessage(err, "not found"), "")
	case errors.Is(err, errs.ErrConflict):
		writeErrorCode(w, http.StatusConflict, "conflict", publicMessage(err, "conflict with the stored state"), "")
	case errors.Is(err, errs.ErrUnauthorized):
		writeErrorCode(w, http.StatusUnauthorized, "unauthenticated", publicMessage(err, "unauthenticated"), "")
	case errors.Is(err, errs.ErrForbidden):
		writeErrorCode(w, http.StatusForbidden, "forbidden", publicMessage(err, "forbidden"), "")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", logPath(r.URL.Path), "err", err)
		writeErrorCode(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

// publicError gives a typed error the message a client sees, so that
// store internals ("store: get series …") stay out of responses.
type publicError struct {
	msg string
	err error
}

func (e *publicError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *publicError) Unwrap() error { return e.err }

// public wraps err with a client-facing message.
func public(err error, format string, args ...any) error {
	return &publicError{msg: fmt.Sprintf(format, args...), err: err}
}

func publicMessage(err error, fallback string) string {
	var pe *publicError
	if errors.As(err, &pe) {
		return pe.msg
	}
	return fallback
}

func isInvalid(err error) bool {
	_, ok := errs.AsInvalid(err)
	return ok
}

// invalidAt makes err an *errs.Invalid naming field, unless it already
// names one (calendar's parsers do).
func invalidAt(field string, err error) error {
	if inv, ok := errs.AsInvalid(err); ok {
		if inv.Field == "" {
			return &errs.Invalid{Field: field, Message: inv.Message}
		}
		return err
	}
	return &errs.Invalid{Field: field, Message: err.Error()}
}

// decodeJSON reads one JSON object from the (already size-limited) body
// into dst, strictly: unknown fields, wrong types and trailing data are
// *errs.Invalid naming the field by its JSON path ("manager.phone"); an
// oversized body stays a *http.MaxBytesError.
func decodeJSON(body io.Reader, dst any) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// encoding/json names only the key; find its whole path.
			var raw any
			if json.Unmarshal(b, &raw) == nil {
				if path := unknownField(raw, reflect.TypeOf(dst), ""); path != "" {
					return &errs.Invalid{Field: path, Message: fmt.Sprintf("unknown field %q", path)}
				}
			}
		}
		return jsonError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return &errs.Invalid{Message: "request body must hold a single JSON object"}
	}
	return nil
}

// unknownField returns the dotted path of the first member of raw (in key
// order) that type t has no field for, or "".
func unknownField(raw any, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	obj, ok := raw.(map[string]any)
	if !ok || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var field *reflect.StructField
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if f.IsExported() && name != "-" && strings.EqualFold(name, k) {
				field = &f
				break
			}
		}
		if field == nil {
			return prefix + k
		}
		if p := unknownField(obj[k], field.Type, prefix+k+"."); p != "" {
			return p
		}
	}
	return ""
}

func jsonError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return &errs.Invalid{Message: "request body is empty; a JSON object is required"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &errs.Invalid{Message: "request body is truncated JSON"}
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return &errs.Invalid{Message: fmt.Sprintf("request body must be a JSON object, not %s", typeErr.Value)}
		}
		return &errs.Invalid{Field: typeErr.Field,
			Message: fmt.Sprintf("%s must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &synErr):
		return &errs.Invalid{Message: fmt.Sprintf("request body is not valid JSON (at byte %d): %v", synErr.Offset, synErr)}
	}
	// encoding/json has no type for unknown fields: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &errs.Invalid{Field: name, Message: fmt.Sprintf("unknown field %q", name)}
	}
	if inv, ok := errs.AsInvalid(err); ok {
		return inv
	}
	return &errs.Invalid{Message: "request body is not valid JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	}
	return goKind
}

// optString is a JSON merge-patch member: absent, null, or a string.
type optString struct {
	Set   bool
	Null  bool
	Value string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		return nil
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// Returned as a type error so that the decoder fills in the field.
			return &json.UnmarshalTypeError{Value: typeErr.Value, Type: typeErr.Type, Offset: typeErr.Offset}
		}
		return err
	}
	return nil
}
