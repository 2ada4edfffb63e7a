// Package daemon owns the lifecycle of one running oneonone: it claims the
// data directory, opens the store, makes sure an admin token exists, serves
// HTTP until its context ends, then shuts down in order (stop accepting,
// drain requests, close the store, release the directory).
//
// It wires packages together and must not hold domain logic, SQL or HTTP
// handlers of its own; those live in calendar, store and api. It keeps no
// package-level state, so tests run several daemons side by side.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/oneonone/oneonone/api"
	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/meet"
	"github.com/oneonone/oneonone/store"
)

// ShutdownTimeout bounds how long in-flight requests may take to finish
// after a stop signal before their connections are closed.
const ShutdownTimeout = 10 * time.Second

// HTTP server timeouts: generous enough for a CSV import of a whole company,
// short enough that slow or idle clients cannot hold connections forever.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 5 * time.Minute
	writeTimeout      = 10 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// Options are the knobs of Start beyond the configuration.
type Options struct {
	// Version is reported by the API and logs.
	Version string
	// Stdout receives the admin token on first start (and nothing else);
	// nil means os.Stdout.
	Stdout io.Writer
	// Listener, when set, is served instead of listening on cfg.Listen
	// (tests pass 127.0.0.1:0 listeners, systemd socket activation could).
	// The daemon closes it.
	Listener net.Listener
	// OnListen is called once the daemon accepts connections, with the
	// address it listens on.
	OnListen func(addr net.Addr)
}

// Run runs the daemon until ctx is cancelled, then shuts down gracefully.
// It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, version string) error {
	return RunOptions(ctx, cfg, logger, Options{Version: version})
}

// RunOptions is Run with Options. It logs "stopped" after a clean
// shutdown, once the store is closed and the data directory released.
func RunOptions(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := run(ctx, cfg, logger, opts); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

func run(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (err error) {
	stdout := opts.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	closeListener := func() {
		if opts.Listener != nil {
			opts.Listener.Close()
		}
	}

	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = "."
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		closeListener()
		return fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		closeListener()
		return err
	}
	defer func() {
		if uerr := lock.release(); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}()

	st, err := store.Open(ctx, cfg.StoreDSN(), logger)
	if err != nil {
		closeListener()
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	tokenPath := filepath.Join(dataDir, TokenFile)
	token, created, err := ensureAdminToken(tokenPath)
	if err != nil {
		closeListener()
		return err
	}
	if created {
		// Printed once, to stdout for the operator, never into the logs.
		fmt.Fprintf(stdout, "Admin token (shown once; also saved in %s, mode 0600):\n%s\n", tokenPath, token)
		logger.Info("created admin token", "path", tokenPath)
	} else {
		logger.Info("admin token", "path", tokenPath)
	}

	// Background loops stop (deferred) before the store closes.
	w := newWorkers(ctx, logger)
	defer w.stop()
	startPprof(w)
	var rms rooms
	m, err := startMetrics(w, cfg, st, opts.Version, logger, rms.stats)
	if err != nil {
		closeListener()
		return fmt.Errorf("metrics: %w", err)
	}
	cals, err := startCalendars(w, cfg, st, logger, m)
	if err != nil {
		closeListener()
		return fmt.Errorf("calendar sync: %w", err)
	}

	ident, err := newIdentity(w.ctx, cfg, st, dataDir, logger)
	if err != nil {
		closeListener()
		return fmt.Errorf("identity: %w", err)
	}
	defer ident.Close()
	ag, err := newAgenda(cfg, st, ident, m, &rms, logger)
	if err != nil {
		closeListener()
		return fmt.Errorf("agenda: %w", err)
	}
	startReminders(w, cfg, st, ag, ident, logger)
	rm, err := startMeet(cfg, st, ident, m.ObserveMeeting, ag, logger)
	if err != nil {
		closeListener()
		return fmt.Errorf("rooms: %w", err)
	}
	// Closed before the store (deferred) and, on a stop signal, before HTTP
	// shutdown, so participants hear "bye" and their leaving is stored.
	defer rm.Close()
	rms.svc.Store(rm)

	apiHandler := api.New(api.Options{
		Store:        st,
		AdminToken:   token,
		PublicURL:    cfg.BaseURL(),
		Logger:       logger,
		Ready:        func(ctx context.Context) error { return errors.Join(st.Ping(ctx), cals.ready(ctx)) },
		Version:      opts.Version,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Meet:         meetAPI{rm},
		// Each person's feed carries their own join link; a leaked one is
		// revoked through the API.
		PersonalLink: ident.PersonalLink,
		RevokeLinks:  ident.RevokeLinks,

		// A change through the API is pushed now, not at the next interval.
		OnSeriesChanged: cals.changed,
		GoogleAuthorize: cals.authorize,
	})
	// /metrics sits beside the API rather than in it: Prometheus scrapes
	// it without the admin token, and scrapes are not worth a log line.
	handler := http.NewServeMux()
	handler.Handle("GET /metrics", m.Handler())
	handler.Handle("/", apiHandler)
	handler.Handle(cals.callbackRoute()) // Google's consent flow comes back here, without the admin token
	// Rooms and sign-in take people's session cookies: state-changing
	// requests must come from our own pages.
	cop := http.NewCrossOriginProtection()
	handler.Handle(meet.Prefix, cop.Handler(rm))
	for _, rt := range ident.Routes() {
		handler.Handle(rt.Method+" "+rt.Pattern, cop.Handler(rt.Handler))
	}
	// Agenda routes and pages are more specific than the API's "/": they
	// take the person's session, never the admin token.
	for _, rt := range ag.routes() {
		handler.Handle(rt.Method+" "+rt.Pattern, cop.Handler(rt.Handler))
	}

	ln := opts.Listener
	if ln == nil {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// Requests see a context that outlives the stop signal, so that
		// Shutdown can let them finish instead of cancelling them mid-write.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "data_dir", dataDir, "version", opts.Version, "public_url", cfg.BaseURL())
	if opts.OnListen != nil {
		opts.OnListen(ln.Addr())
	}

	select {
	case err := <-serveErr:
		// Serve only returns early on a listener failure.
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}

	logger.Info("stopping", "timeout", ShutdownTimeout.String())
	// Hijacked WebSockets outlive Shutdown: end the meetings first.
	if err := rm.Close(); err != nil {
		logger.Warn("close rooms", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the timeout are cut; their
		// transactions roll back, so nothing half-written stays behind.
		logger.Warn("shutdown timed out; closing remaining connections", "err", err)
		srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("serve http", "err", err)
	}
	return nil
}
