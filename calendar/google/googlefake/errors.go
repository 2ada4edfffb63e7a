package googlefake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// errorItem is one entry of the "errors" array of Google's error body.
type errorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
}

// apiError is an error the fake answers with, in the shape documented in
// "Handle API errors" of the Calendar API guides.
type apiError struct {
	code       int
	message    string
	items      []errorItem
	retryAfter time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.message) }

func newError(code int, domain, reason, message string) *apiError {
	return &apiError{code: code, message: message,
		items: []errorItem{{Domain: domain, Reason: reason, Message: message}}}
}

// at names where in the request the problem is (a parameter or a header).
func (e *apiError) at(locationType, location string) *apiError {
	e.items[0].LocationType = locationType
	e.items[0].Location = location
	return e
}

// statusNames are the canonical status strings Google puts next to the HTTP
// code in the error body. Codes without a well-known name get none.
var statusNames = map[int]string{
	http.StatusBadRequest:          "INVALID_ARGUMENT",
	http.StatusUnauthorized:        "UNAUTHENTICATED",
	http.StatusForbidden:           "PERMISSION_DENIED",
	http.StatusNotFound:            "NOT_FOUND",
	http.StatusConflict:            "ALREADY_EXISTS",
	http.StatusPreconditionFailed:  "FAILED_PRECONDITION",
	http.StatusTooManyRequests:     "RESOURCE_EXHAUSTED",
	http.StatusInternalServerError: "INTERNAL",
	http.StatusServiceUnavailable:  "UNAVAILABLE",
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		Error struct {
			Code    int         `json:"code"`
			Message string      `json:"message"`
			Errors  []errorItem `json:"errors"`
			Status  string      `json:"status,omitempty"`
		} `json:"error"`
	}{}
	body.Error.Code = e.code
	body.Error.Message = e.message
	body.Error.Errors = e.items
	body.Error.Status = statusNames[e.code]
	if e.retryAfter > 0 {
		secs := int(math.Ceil(e.retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if e.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	}
	writeJSON(w, e.code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built by this package; failing to encode
		// one is a bug in the fake, reported as Google reports its own.
		code = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"message":"Backend Error","errors":[{"domain":"global","reason":"backendError","message":"Backend Error"}]}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// The errors below are the ones listed in the Calendar API error guide,
// with their documented domain, reason and message.

func errNotFound() *apiError {
	return newError(http.StatusNotFound, "global", "notFound", "Not Found")
}

func errDeleted() *apiError {
	return newError(http.StatusGone, "global", "deleted", "Resource has been deleted")
}

func errDuplicate() *apiError {
	return newError(http.StatusConflict, "global", "duplicate", "The requested identifier already exists.")
}

func errConditionNotMet() *apiError {
	return newError(http.StatusPreconditionFailed, "global", "conditionNotMet", "Precondition Failed").at("header", "If-Match")
}

func errFullSyncRequired() *apiError {
	return newError(http.StatusGone, "global", "fullSyncRequired",
		"Sync token is no longer valid, a full sync is required.").at("parameter", "syncToken")
}

func errAuth() *apiError {
	return newError(http.StatusUnauthorized, "global", "authError", "Invalid Credentials").at("header", "Authorization")
}

func errParse() *apiError {
	return newError(http.StatusBadRequest, "global", "parseError", "Parse Error")
}

func errInvalid(message, parameter string) *apiError {
	e := newError(http.StatusBadRequest, "global", "invalid", message)
	if parameter != "" {
		e.at("parameter", parameter)
	}
	return e
}

func errRequired(message string) *apiError {
	return newError(http.StatusBadRequest, "global", "required", message)
}

func errTimeRangeEmpty(location string) *apiError {
	return newError(http.StatusBadRequest, "calendar", "timeRangeEmpty",
		"The specified time range is empty.").at("parameter", location)
}

// injectedError builds the error FailNext asked for. An empty reason picks
// the one Google documents for that status.
func injectedError(status int, reason string, retryAfter time.Duration) *apiError {
	if reason == "" {
		switch status {
		case http.StatusForbidden, http.StatusTooManyRequests:
			reason = "rateLimitExceeded"
		case http.StatusServiceUnavailable, http.StatusInternalServerError:
			reason = "backendError"
		default:
			reason = "unknown"
		}
	}
	domain, message := "global", reason
	switch reason {
	case "rateLimitExceeded":
		domain, message = "usageLimits", "Rate Limit Exceeded"
	case "userRateLimitExceeded":
		domain, message = "usageLimits", "User Rate Limit Exceeded"
	case "quotaExceeded":
		domain, message = "usageLimits", "Calendar usage limits exceeded."
	case "backendError":
		message = "Backend Error"
	}
	e := newError(status, domain, reason, message)
	e.retryAfter = retryAfter
	return e
}
