package daemon

import (
	"log/slog"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/metrics"
	"github.com/oneonone/oneonone/store"
)

// startMetrics builds the collectors served at /metrics and starts their
// two loops: the refresh of the aggregates a scrape reads, and the
// finalizer that decides each ended occurrence's outcome once (safe on
// every daemon sharing a store).
//
// rooms reads the rooms' gauges at scrape time.
func startMetrics(w *workers, cfg config.Config, st *store.Store, version string, logger *slog.Logger, rooms func() (int, int)) (*metrics.Metrics, error) {
	cals := make([]metrics.Calendar, 0, len(cfg.Calendars))
	for _, c := range cfg.Calendars {
		cals = append(cals, metrics.Calendar{ID: c.ID, Provider: c.Provider()})
	}
	m, err := metrics.New(metrics.Options{
		Store:            st,
		Version:          version,
		Window:           cfg.Metrics.Window,
		MinSeriesPerUnit: cfg.Metrics.MinSeriesPerUnit,
		PerSeries:        cfg.Metrics.PerSeries,
		Calendars:        cals,
		Rooms:            rooms,
		ActionItemsOpen:  st.OpenActionItemsByTeam,
		Logger:           logger,
	})
	if err != nil {
		return nil, err
	}
	// The first refresh happens before the first scrape can, so /metrics
	// never serves an empty snapshot.
	if err := m.Refresh(w.ctx); err != nil {
		logger.Warn("metrics: first refresh failed; retrying in the background", "err", err)
	}
	fin := metrics.NewFinalizer(st, metrics.FinalizerOptions{
		Backfill: cfg.Metrics.Window,
		Logger:   logger,
		OnPass: func(decided int) {
			if decided > 0 {
				if err := m.Refresh(w.ctx); err != nil {
					logger.Warn("metrics: refresh after finalizer pass", "err", err)
				}
			}
		},
	})
	w.run("metrics refresh", m.Run)
	w.run("occurrence finalizer", fin.Run)
	return m, nil
}
