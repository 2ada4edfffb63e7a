package agenda

import (
	"context"
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// DefaultSeriesCacheTTL is how long the access check trusts a series it
// read: every operation and read asks who the series' two people are, and
// under load that lookup was a fifth of an operation's cost, while a
// series' people change rarely. It bounds how long a removed series, or a
// person who is no longer one of the pair, is still let in by this daemon.
// (Writes to a deleted series fail at once anyway: its agenda rows go with
// it, and the store refuses items of a series it no longer has.)
const DefaultSeriesCacheTTL = 2 * time.Second

// seriesCacheMax bounds the cache; past it, expired entries are swept and,
// if that is not enough, all are dropped.
const seriesCacheMax = 4096

// seriesCache remembers series read through a SeriesSource for ttl. Only
// successes are kept: a missing series is asked for again every time. Its
// clock is the real one, not Options.Now, so that a test clock that stands
// still cannot make an entry live for ever.
type seriesCache struct {
	src SeriesSource
	ttl time.Duration // <= 0: no cache
	mu  sync.Mutex
	m   map[string]cachedSeries
}

type cachedSeries struct {
	ser   calendar.Series
	until time.Time
}

func newSeriesCache(src SeriesSource, ttl time.Duration) *seriesCache {
	return &seriesCache{src: src, ttl: ttl, m: map[string]cachedSeries{}}
}

func (c *seriesCache) GetSeries(ctx context.Context, id string) (calendar.Series, error) {
	if c.ttl <= 0 {
		return c.src.GetSeries(ctx, id)
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.ser, nil
	}
	ser, err := c.src.GetSeries(ctx, id)
	if err != nil {
		c.mu.Lock()
		delete(c.m, id)
		c.mu.Unlock()
		return calendar.Series{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= seriesCacheMax {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= seriesCacheMax {
			clear(c.m)
		}
	}
	// The entry's life starts when the read began, so the bound holds even
	// if the read was slow.
	c.m[id] = cachedSeries{ser: ser, until: now.Add(c.ttl)}
	return ser, nil
}
