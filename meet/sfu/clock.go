package sfu

import (
	"sync"
	"time"
)

// clock runs the periodic work of every participant of a server (NACKs,
// transport-cc feedback and receiver reports to the publisher, keyframe
// requests held back by keyframeMinInterval, bandwidth estimates) from one
// goroutine. Each participant had two timer goroutines of its own: four
// stacks and about 25 timer wake-ups a second per room, when one wake-up
// every feedbackTick serves them all.
type clock struct {
	every time.Duration

	mu      sync.Mutex // held while ticking: remove returns after the last tick
	tickers map[ticker]struct{}
	stop    chan struct{}
	done    chan struct{}
}

// A ticker is called every clock period until it is removed. onTick runs
// on the clock's goroutine: it must not block for long, nor add or remove
// tickers.
type ticker interface {
	onTick(now time.Time)
}

func newClock(every time.Duration) *clock {
	c := &clock{every: every, tickers: map[ticker]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *clock) run() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			c.mu.Lock()
			for tk := range c.tickers {
				tk.onTick(now)
			}
			c.mu.Unlock()
		}
	}
}

func (c *clock) add(t ticker) {
	c.mu.Lock()
	c.tickers[t] = struct{}{}
	c.mu.Unlock()
}

// remove stops calling t; once it returns, t's onTick is not running.
func (c *clock) remove(t ticker) {
	c.mu.Lock()
	delete(c.tickers, t)
	c.mu.Unlock()
}

// close stops the clock and waits for its goroutine.
func (c *clock) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}
