package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// maxResponseBytes bounds one response body (a full listing of a few
// thousand series is a few MB).
const maxResponseBytes = 256 << 20

// RequestCounter is an http.RoundTripper that counts the requests it
// carries, so tests and benchmarks can assert what a sync costs.
type RequestCounter struct {
	Base http.RoundTripper // nil = http.DefaultTransport
	n    atomic.Int64
}

// RoundTrip counts req and passes it on.
func (c *RequestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Count returns the number of requests carried so far.
func (c *RequestCounter) Count() int64 { return c.n.Load() }

// Reset sets the count back to zero and returns what it was.
func (c *RequestCounter) Reset() int64 { return c.n.Swap(0) }

// response is a finished HTTP exchange, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request with basic auth and reads the whole answer. It
// returns an error only when there is no HTTP answer at all; statuses are
// the caller's to judge.
func (c *Calendar) do(ctx context.Context, method string, u *url.URL, header http.Header, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("caldav: %s %s: %w", method, u.Path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.cfg.Username != "" || c.cfg.Password != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("caldav: %s %s: %w", method, u.Path, ctx.Err())
		}
		reason := calendar.ReasonNetwork
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason = calendar.ReasonTimeout
		}
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: reason,
			Err: fmt.Errorf("%s %s: %w", method, u.Path, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonNetwork, Status: resp.StatusCode,
			Err: fmt.Errorf("%s %s: read body: %w", method, u.Path, err)}
	}
	if len(b) > maxResponseBytes {
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol, Status: resp.StatusCode,
			Err: fmt.Errorf("%s %s: response larger than %d bytes", method, u.Path, maxResponseBytes)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// statusError turns an unexpected status into an error callers can
// decide on: errs.ErrNotFound, ErrPreconditionFailed, or a
// *calendar.ProviderError.
func statusError(method string, u *url.URL, r *response) error {
	what := fmt.Sprintf("caldav: %s %s: HTTP %d", method, u.Path, r.status)
	switch r.status {
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%s: %w", what, errs.ErrNotFound)
	case http.StatusPreconditionFailed:
		return fmt.Errorf("%s: %w", what, calendar.ErrPreconditionFailed)
	}
	pe := &calendar.ProviderError{Provider: "caldav", Status: r.status, Reason: calendar.ReasonRejected,
		Err: fmt.Errorf("%s %s: %s", method, u.Path, snippet(r.body))}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		pe.Reason = calendar.ReasonUnauthorized
		pe.Err = fmt.Errorf("%s %s: %w", method, u.Path, errs.ErrUnauthorized)
	case r.status == http.StatusTooManyRequests:
		pe.Reason = calendar.ReasonRateLimited
		pe.RetryAfter = calendar.RetryAfter(r.header.Get("Retry-After"), time.Now())
	case r.status >= 500:
		pe.Reason = calendar.ReasonUnavailable
		pe.RetryAfter = calendar.RetryAfter(r.header.Get("Retry-After"), time.Now())
	}
	return pe
}

// snippet is the start of an error body, one line, for messages; server
// error pages never hold event text we sent.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func protocolError(format string, args ...any) error {
	return &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol, Err: fmt.Errorf(format, args...)}
}
