package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const healthcheckUsage = `Usage: oneonone healthcheck [--server URL]

Exit 0 when the daemon at --server answers GET /healthz with 200, 1 otherwise.
Meant for container health checks (the image has no curl); needs no token.

Example:
  HEALTHCHECK CMD ["/oneonone", "healthcheck"]
`

func runHealthcheck(ctx context.Context, e env, args []string) error {
	c := newCommand("healthcheck", healthcheckUsage)
	server := e.getenv("ONEONONE_SERVER")
	if server == "" {
		server = defaultServer
	}
	c.fs.StringVar(&server, "server", server, "daemon `URL` (env ONEONONE_SERVER)")
	timeout := c.fs.Duration("timeout", 5*time.Second, "give up after `DURATION`")
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(server, "/")+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s/healthz answered %s", strings.TrimRight(server, "/"), resp.Status)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
