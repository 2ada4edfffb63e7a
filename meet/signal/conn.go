package signal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Conn is one participant's signaling connection as the room sees it.
// Send never blocks, so one slow client cannot stall a room.
type Conn interface {
	// Send queues m. When the queue is full the peer is too slow: the
	// connection is closed and ErrSlow returned.
	Send(m Message) error
	// Receive waits for the next message. A *ProtocolError refuses one
	// message and the connection stays usable; any other error means the
	// connection is gone. Only one goroutine may call Receive.
	Receive(ctx context.Context) (Message, error)
	// Close sends what is queued (bounded by the write timeout) and closes
	// the connection with reason.
	Close(reason string) error
	// Done is closed once the connection is gone, for whatever reason.
	Done() <-chan struct{}
}

// Errors of a connection that is gone.
var (
	ErrSlow   = errors.New("signal: peer too slow, send queue full")
	ErrClosed = errors.New("signal: connection closed")
)

// Options tune a WebSocket connection; zero values take the defaults.
type Options struct {
	Codec        *Codec        // default NewCodec()
	MaxSize      int           // largest accepted message, default MaxMessageSize
	QueueSize    int           // messages waiting to be written, default 64
	WriteTimeout time.Duration // per message, default 5s
	PingInterval time.Duration // default 15s
	PingTimeout  time.Duration // default 10s
	Logger       *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Codec == nil {
		o.Codec = NewCodec()
	}
	if o.MaxSize <= 0 {
		o.MaxSize = MaxMessageSize
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// discardLimit is how much of an oversized message is read and thrown
// away so the sender can be told; beyond it the socket is closed (1009).
const discardLimit = 1 << 20

// WSConn is a Conn over a coder/websocket connection.
type WSConn struct {
	ws    *websocket.Conn
	opts  Options
	queue chan []byte

	ctx    context.Context // cancelled when the connection is gone
	cancel context.CancelFunc

	closeOnce sync.Once
	closing   chan struct{} // Close was called: flush, then close
	reason    string
	done      chan struct{} // goroutines finished, socket closed

	mu  sync.Mutex
	err error // why the connection is gone

	buf bytes.Buffer // Receive's reusable read buffer
}

// Accept upgrades an HTTP request to a signaling connection. The caller
// must have checked who is asking before calling it.
func Accept(w http.ResponseWriter, r *http.Request, opts Options, accept *websocket.AcceptOptions) (*WSConn, error) {
	ws, err := websocket.Accept(w, r, accept)
	if err != nil {
		return nil, fmt.Errorf("signal: accept: %w", err)
	}
	return NewWSConn(ws, opts), nil
}

// Dial opens a client connection (tests, the load generator).
func Dial(ctx context.Context, url string, opts Options, dial *websocket.DialOptions) (*WSConn, error) {
	ws, _, err := websocket.Dial(ctx, url, dial)
	if err != nil {
		return nil, fmt.Errorf("signal: dial: %w", err)
	}
	return NewWSConn(ws, opts), nil
}

// NewWSConn wraps ws and starts its writer goroutine, which also sends the
// keepalive pings; it stops when the connection is closed or fails.
func NewWSConn(ws *websocket.Conn, opts Options) *WSConn {
	opts = opts.withDefaults()
	ws.SetReadLimit(discardLimit)
	ctx, cancel := context.WithCancel(context.Background())
	c := &WSConn{
		ws: ws, opts: opts,
		queue:   make(chan []byte, opts.QueueSize),
		ctx:     ctx,
		cancel:  cancel,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.writeLoop()
	return c
}

func (c *WSConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.cancel()
}

// Err says why the connection is gone (nil while it is open).
func (c *WSConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// writeLoop writes what Send queued, in order, and pings the peer every
// PingInterval. A ping waits for its pong, which the reader sees, so each
// runs in a goroutine of its own while writes go on; one goroutine per
// connection rather than one per duty, since a daemon holds one
// connection per person in a room.
func (c *WSConn) writeLoop() {
	var pings sync.WaitGroup
	defer func() {
		pings.Wait() // every exit cancels c.ctx, which ends a ping
		close(c.done)
	}()
	tick := time.NewTicker(c.opts.PingInterval)
	defer tick.Stop()
	var pinging atomic.Bool
	for {
		select {
		case b := <-c.queue:
			if err := c.write(b); err != nil {
				c.fail(fmt.Errorf("signal: write: %w", err))
				c.ws.CloseNow()
				return
			}
		case <-tick.C:
			if pinging.CompareAndSwap(false, true) {
				pings.Go(func() {
					defer pinging.Store(false)
					c.ping()
				})
			}
		case <-c.closing:
			// Flush what is queued, then close politely.
			for {
				select {
				case b := <-c.queue:
					if err := c.write(b); err != nil {
						c.fail(fmt.Errorf("signal: write: %w", err))
						c.ws.CloseNow()
						return
					}
					continue
				default:
				}
				break
			}
			c.fail(ErrClosed)
			c.closeWS(websocket.StatusNormalClosure, c.reason)
			return
		case <-c.ctx.Done():
			c.ws.CloseNow()
			return
		}
	}
}

func (c *WSConn) closeWS(code websocket.StatusCode, reason string) {
	// The close handshake waits for the peer; a dead peer must not hold a
	// room's goroutine for long.
	done := make(chan struct{})
	go func() {
		c.ws.Close(code, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(c.opts.WriteTimeout):
		c.ws.CloseNow()
		<-done
	}
}

func (c *WSConn) write(b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// ping sends one keepalive ping and waits up to PingTimeout for its pong;
// no pong fails the connection.
func (c *WSConn) ping() {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.PingTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil {
		if c.ctx.Err() == nil {
			c.opts.Logger.Debug("signal: ping failed", "err", err)
		}
		c.fail(fmt.Errorf("signal: keepalive: %w", err))
		c.ws.CloseNow()
	}
}

// Send queues m for writing without blocking.
func (c *WSConn) Send(m Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	if err := c.Err(); err != nil {
		return err
	}
	select {
	case <-c.closing:
		return ErrClosed
	default:
	}
	select {
	case c.queue <- b:
		return nil
	default:
		c.fail(ErrSlow)
		return ErrSlow
	}
}

// Receive reads and decodes the next message.
func (c *WSConn) Receive(ctx context.Context) (Message, error) {
	if err := c.Err(); err != nil {
		return Message{}, err
	}
	// A read that outlives the connection must end with it.
	ctx, stop := mergeDone(ctx, c.ctx)
	defer stop()
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		c.fail(fmt.Errorf("signal: read: %w", err))
		if e := c.Err(); e != nil {
			return Message{}, e
		}
		return Message{}, err
	}
	c.buf.Reset()
	n, err := c.buf.ReadFrom(io.LimitReader(r, int64(c.opts.MaxSize)+1))
	if err != nil {
		c.fail(fmt.Errorf("signal: read: %w", err))
		return Message{}, c.Err()
	}
	if n > int64(c.opts.MaxSize) {
		// Drain the rest so the stream stays in sync; past discardLimit
		// the library closes the socket with 1009 and this read fails.
		if _, err := io.Copy(io.Discard, r); err != nil {
			c.fail(fmt.Errorf("signal: read: %w", err))
			return Message{}, c.Err()
		}
		return Message{}, &ProtocolError{Code: CodeTooLarge, Message: fmt.Sprintf("message exceeds %d bytes", c.opts.MaxSize)}
	}
	if typ != websocket.MessageText {
		return Message{}, &ProtocolError{Code: CodeBadJSON, Message: "binary message, want JSON text"}
	}
	return c.opts.Codec.Decode(c.buf.Bytes())
}

// Close flushes the queue and closes the connection; it returns once the
// connection's goroutines have ended.
func (c *WSConn) Close(reason string) error {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.closing)
	})
	<-c.done
	return nil
}

// Done is closed when the connection's goroutines have ended.
func (c *WSConn) Done() <-chan struct{} { return c.ctx.Done() }

// Wait blocks until the socket is closed and the goroutines are gone.
func (c *WSConn) Wait() { <-c.done }

func mergeDone(ctx, other context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return ctx, func() { stop(); cancel() }
}
