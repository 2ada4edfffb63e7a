package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// PprofEnv names the environment variable that, when set to a loopback
// address (127.0.0.1:6060), serves Go's profiler on its own listener: for
// measuring the media path under load, never on the public listener.
const PprofEnv = "ONEONONE_PPROF"

// startPprof serves /debug/pprof/ on the address in ONEONONE_PPROF, if
// set, until the workers stop. A non-loopback address is refused: profiles
// expose memory contents.
func startPprof(w *workers) {
	addr := os.Getenv(PprofEnv)
	if addr == "" {
		return
	}
	if err := checkLoopback(addr); err != nil {
		w.logger.Warn("pprof not started", "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		w.logger.Warn("pprof not started", "err", err)
		return
	}
	w.logger.Info("pprof listening", "addr", ln.Addr().String())
	w.run("pprof", func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", PprofEnv, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s=%q: only a loopback address is allowed", PprofEnv, addr)
	}
	return nil
}
