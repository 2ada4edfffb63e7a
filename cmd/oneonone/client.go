package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const defaultServer = "http://localhost:8080"

// clientFlags are the flags every client subcommand shares.
type clientFlags struct {
	server    string
	tokenFile string
	dataDir   string
}

func (cf *clientFlags) register(c *command, e env) {
	server := e.getenv("ONEONONE_SERVER")
	if server == "" {
		server = defaultServer
	}
	c.fs.StringVar(&cf.server, "server", server, "daemon `URL` (env ONEONONE_SERVER)")
	c.fs.StringVar(&cf.tokenFile, "token-file", "", "read the admin token from `FILE` (wins over env ONEONONE_TOKEN)")
	c.fs.StringVar(&cf.dataDir, "data", "./data", "data `DIR` whose admin.token is used when no other token is given")
}

// client builds an API client; the token is looked up in --token-file,
// then ONEONONE_TOKEN, then DIR/admin.token: what is said on the command
// line wins over what the environment happens to hold.
func (cf *clientFlags) client(e env) (*client, error) {
	base, err := url.Parse(strings.TrimRight(cf.server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", cf.server)
	}
	token, err := cf.token(e)
	if err != nil {
		return nil, err
	}
	return &client{base: base, token: token, http: &http.Client{}}, nil
}

func (cf *clientFlags) token(e env) (string, error) {
	path := cf.tokenFile
	if t := strings.TrimSpace(e.getenv("ONEONONE_TOKEN")); t != "" && path == "" {
		return t, nil
	}
	if path == "" {
		path = filepath.Join(cf.dataDir, "admin.token")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && cf.tokenFile == "" {
		return "", fmt.Errorf("no admin token: set ONEONONE_TOKEN, pass --token-file, or run where %s exists (--data DIR)", path)
	}
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return t, nil
}

// client speaks the daemon's public HTTP API (INTERFACE.md "HTTP").
type client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// apiError is the API's error envelope; it prints the way users see it:
// "<message> (field <field>)".
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Field != "" {
		return fmt.Sprintf("%s (field %s)", msg, e.Field)
	}
	return msg
}

// request sends one API call and returns the response body of a 2xx
// answer, or an *apiError.
func (c *client) request(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) ([]byte, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	return data, decodeAPIError(resp.StatusCode, data)
}

func decodeAPIError(status int, data []byte) error {
	var env struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		env.Error.Status = status
		return env.Error
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &apiError{Status: status, Message: strings.TrimSpace(fmt.Sprintf("server answered %d %s %s", status, http.StatusText(status), msg))}
}

// doJSON sends in as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil).
func (c *client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	data, err := c.request(ctx, method, path, query, body, ct)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// requestTimeout bounds one ordinary API call, so a hung daemon does not
// hang a script forever; imports get longer.
const requestTimeout = 60 * time.Second
