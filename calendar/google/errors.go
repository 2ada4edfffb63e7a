package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// ErrReauthorize means Google refused the calendar's grant (OAuth
// "invalid_grant": the refresh token was revoked or expired, the consent
// was never given, or domain-wide delegation is not granted for the
// subject). Retrying cannot help: a person must authorise the calendar
// again, so the reconciler marks it as needing re-authorisation.
var ErrReauthorize = fmt.Errorf("google: the calendar needs to be authorised again: %w", errs.ErrUnauthorized)

const provider = "google"

// reason returns the first reason of a Google error body ("duplicate",
// "rateLimitExceeded", "fullSyncRequired", …).
func reason(ge *googleapi.Error) string {
	for _, it := range ge.Errors {
		if it.Reason != "" {
			return it.Reason
		}
	}
	return ""
}

// classify turns an error of the client library (or of the way to Google)
// into one callers decide on: errs.ErrNotFound, calendar.ErrEventExists,
// calendar.ErrPreconditionFailed, ErrReauthorize, or a
// *calendar.ProviderError. what names the operation, for the message.
func classify(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !isGoogleError(err) {
		return fmt.Errorf("google: %s: %w", what, ctx.Err())
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return statusError(what, ge)
	}
	if isInvalidGrant(err) {
		return &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonUnauthorized,
			Err: fmt.Errorf("%s: %w (%v)", what, ErrReauthorize, err)}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		pe := &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonUnauthorized,
			Err: fmt.Errorf("%s: token endpoint: %w", what, errs.ErrUnauthorized)}
		if re.Response != nil {
			pe.Status = re.Response.StatusCode
			if pe.Status == http.StatusTooManyRequests || pe.Status >= 500 {
				pe.Reason = calendar.ReasonUnavailable
				pe.RetryAfter = calendar.RetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
				pe.Err = fmt.Errorf("%s: token endpoint answered HTTP %d", what, pe.Status)
			}
		}
		return pe
	}
	if errors.Is(err, ErrReauthorize) {
		return &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonUnauthorized,
			Err: fmt.Errorf("%s: %w", what, err)}
	}
	reasonStr := calendar.ReasonNetwork
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		reasonStr = calendar.ReasonTimeout
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		reasonStr = calendar.ReasonProtocol
	}
	return &calendar.ProviderError{Provider: provider, Reason: reasonStr, Err: fmt.Errorf("%s: %w", what, err)}
}

func isGoogleError(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge)
}

// statusError maps an HTTP error answer of the Calendar API.
func statusError(what string, ge *googleapi.Error) error {
	r := reason(ge)
	msg := fmt.Sprintf("google: %s: HTTP %d %s", what, ge.Code, r)
	switch ge.Code {
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w", msg, errs.ErrNotFound)
	case http.StatusGone:
		if r == "fullSyncRequired" {
			return fmt.Errorf("%s: %w", msg, errFullSync)
		}
		// "deleted": deleting an event that is already deleted.
		return fmt.Errorf("%s: %w", msg, errs.ErrNotFound)
	case http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w", msg, calendar.ErrPreconditionFailed)
	case http.StatusConflict:
		if r == "duplicate" {
			return fmt.Errorf("%s: %w", msg, calendar.ErrEventExists)
		}
		return fmt.Errorf("%s: %w", msg, errs.ErrConflict)
	}
	pe := &calendar.ProviderError{Provider: provider, Status: ge.Code, Reason: calendar.ReasonRejected,
		Err: fmt.Errorf("%s: %s", what, oneLine(ge.Message))}
	switch {
	case ge.Code == http.StatusTooManyRequests,
		ge.Code == http.StatusForbidden && (r == "rateLimitExceeded" || r == "userRateLimitExceeded" || r == "quotaExceeded"):
		// Google's guide: back off exponentially on all three.
		pe.Reason = calendar.ReasonRateLimited
		pe.RetryAfter = calendar.RetryAfter(ge.Header.Get("Retry-After"), time.Now())
		pe.Err = fmt.Errorf("%s: %s", what, r)
	case ge.Code == http.StatusUnauthorized:
		pe.Reason = calendar.ReasonUnauthorized
		pe.Err = fmt.Errorf("%s: %s: %w", what, r, errs.ErrUnauthorized)
	case ge.Code == http.StatusForbidden:
		pe.Reason = calendar.ReasonUnauthorized
		pe.Err = fmt.Errorf("%s: %s: %w", what, r, errs.ErrForbidden)
	case ge.Code >= 500:
		pe.Reason = calendar.ReasonUnavailable
		pe.RetryAfter = calendar.RetryAfter(ge.Header.Get("Retry-After"), time.Now())
	}
	return pe
}

// errFullSync marks a 410 fullSyncRequired: the sync token is no good.
var errFullSync = errors.New("sync token expired, full sync required")

// isInvalidGrant reports whether err is the token endpoint saying the
// grant is gone. The three-legged flow parses the code (ErrorCode); the
// JWT flow of service accounts leaves it in the body.
func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return false
	}
	if re.ErrorCode != "" {
		return re.ErrorCode == "invalid_grant"
	}
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(re.Body, &body) == nil && body.Error != "" {
		return body.Error == "invalid_grant"
	}
	return strings.Contains(string(re.Body), "invalid_grant")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
