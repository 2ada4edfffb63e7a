package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// workers owns the daemon's background loops (metrics refresh, the
// finalizer, calendar sync): each runs until stop cancels their shared
// context, and stop waits for all of them, so none outlives the store.
type workers struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	logger *slog.Logger
}

func newWorkers(ctx context.Context, logger *slog.Logger) *workers {
	// The loops stop when the daemon stops them, after HTTP has drained,
	// not at the stop signal itself.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &workers{ctx: wctx, cancel: cancel, logger: logger}
}

// run starts fn in a goroutine. An error other than the context's end is
// logged: a loop that gives up must say why.
func (w *workers) run(name string, fn func(ctx context.Context) error) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := fn(w.ctx); err != nil && !errors.Is(err, context.Canceled) {
			w.logger.Error("background loop stopped", "loop", name, "err", err)
		}
	}()
}

// stop cancels every loop and waits for them to return.
func (w *workers) stop() {
	w.cancel()
	w.wg.Wait()
}
