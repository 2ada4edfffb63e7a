package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/daemon"
)

const serveUsage = `Usage: oneonone serve [--config FILE] [--data DIR] [--listen ADDR]

Run the daemon until SIGINT or SIGTERM. With no flags it keeps its data in
./data (SQLite), serves HTTP on :8080 and prints an admin token once, on
first start (it is saved in DIR/admin.token, mode 0600). Flags override the
config file (--config, or env ONEONONE_CONFIG); every config key can also be
set as ONEONONE_<PATH>, e.g. ONEONONE_STORE_DSN. Logs go to stderr.

Example:
  oneonone serve --data /var/lib/oneonone --listen :8080
`

func runServe(ctx context.Context, e env, args []string) error {
	c := newCommand("serve", serveUsage)
	configPath := c.fs.String("config", e.getenv("ONEONONE_CONFIG"), "YAML config `FILE` (env ONEONONE_CONFIG)")
	dataDir := c.fs.String("data", "", "data `DIR` (overrides data_dir; default ./data)")
	listen := c.fs.String("listen", "", "HTTP listen `ADDR` (overrides listen; default :8080)")
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, e.environ)
	if err != nil {
		return configError(err)
	}
	c.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.DataDir = *dataDir
		case "listen":
			cfg.Listen = *listen
		}
	})
	if err := cfg.Validate(); err != nil {
		return configError(err)
	}
	logger := newLogger(e.stderr, cfg.Log)
	setGCPercent(logger)
	return daemon.RunOptions(ctx, cfg, logger, daemon.Options{
		Version: readBuildInfo().Version,
		Stdout:  e.stdout,
	})
}

// defaultGCPercent is the garbage collector's target (GOGC) when the
// environment sets none. In its steady state the daemon allocates almost
// nothing (media forwarding and idle rooms allocate nothing per packet), so
// the default 100 mostly kept a heap of garbage from the last burst of
// joins as large as the live heap, resident for as long as the rooms
// lasted; at 25 the collector runs a little more often during such bursts
// and CPU per room did not change measurably (README, Performance).
const defaultGCPercent = 25

func setGCPercent(log *slog.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Debug("gc: GOGC from the environment", "gogc", v)
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}

// newLogger is the one place logging is configured.
func newLogger(w io.Writer, lc config.LogConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lc.SlogLevel()}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
