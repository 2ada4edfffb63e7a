package signal

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve starts a WebSocket server whose accepted connections are handed
// to the test over a channel.
func serve(t *testing.T, opts Options) (url string, conns <-chan *WSConn) {
	t.Helper()
	ch := make(chan *WSConn, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts, nil)
		if err != nil {
			t.Error(err)
			return
		}
		ch <- c
		c.Wait()
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), ch
}

func TestConnExchange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, conns := serve(t, Options{})
	cli, err := Dial(ctx, url, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := <-conns
	if err := cli.Send(Message{Type: TypeJoin}); err != nil {
		t.Fatal(err)
	}
	m, err := srv.Receive(ctx)
	if err != nil || m.Type != TypeJoin {
		t.Fatalf("got %v %v", m, err)
	}
	// An oversized message is refused and the connection keeps working.
	raw, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	srv2 := <-conns
	big := `{"v":1,"type":"answer","data":{"sdp":"` + strings.Repeat("a", 100<<10) + `"}}`
	if err := raw.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := raw.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"bye"}`)); err != nil {
		t.Fatal(err)
	}
	_, err = srv2.Receive(ctx)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != CodeTooLarge {
		t.Fatalf("got %v, want too_large", err)
	}
	if m, err := srv2.Receive(ctx); err != nil || m.Type != TypeBye {
		t.Fatalf("after oversized: got %v %v", m, err)
	}
	// Close flushes queued messages before the close frame.
	for range 10 {
		if err := srv.Send(Message{Type: TypePeerLeft, Data: &Peer{Role: "report"}}); err != nil {
			t.Fatal(err)
		}
	}
	go srv.Close("room closed")
	for i := range 10 {
		if m, err := cli.Receive(ctx); err != nil || m.Type != TypePeerLeft {
			t.Fatalf("message %d: got %v %v", i, m, err)
		}
	}
	_, err = cli.Receive(ctx)
	if websocket.CloseStatus(errors.Unwrap(err)) != websocket.StatusNormalClosure && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("got %v, want a normal close", err)
	}
	cli.Close("")
}

// A client that stops reading fills the queue: Send must not block and the
// connection is dropped.
func TestSlowClientDropped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, conns := serve(t, Options{QueueSize: 4, WriteTimeout: 200 * time.Millisecond})
	raw, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	srv := <-conns
	big := &SessionDescription{SDP: strings.Repeat("s", 60<<10)}
	start := time.Now()
	var sendErr error
	for i := 0; i < 10000 && sendErr == nil; i++ {
		sendErr = srv.Send(Message{Type: TypeOffer, Data: big})
		if sendErr == nil {
			time.Sleep(time.Millisecond)
		}
	}
	if !errors.Is(sendErr, ErrSlow) && !strings.Contains(sendErr.Error(), "write") {
		t.Fatalf("got %v, want the slow client dropped", sendErr)
	}
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow connection not closed")
	}
	srv.Wait()
	t.Logf("dropped after %v", time.Since(start))
}

// A client that never answers pings is dropped by the keepalive.
func TestDeadClientDropped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, conns := serve(t, Options{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	raw, _, err := websocket.Dial(ctx, url, nil) // never reads, so never pongs
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	srv := <-conns
	go func() {
		for {
			if _, err := srv.Receive(ctx); err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					return
				}
			}
		}
	}()
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("dead connection not closed")
	}
	if err := srv.Send(Message{Type: TypeBye}); err == nil {
		t.Fatal("send on a dropped connection succeeded")
	}
}
