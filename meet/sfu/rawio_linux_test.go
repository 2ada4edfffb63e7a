//go:build linux

package sfu

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// The raw path reads and writes what the net package would, with the same
// peer addresses, on an IPv4 and on a dual-stack socket, waits in the
// poller when there is nothing to read, allocates nothing, and fails like
// the net package once the socket is closed.
func TestRawIO(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		peers        []string
	}{
		{"ipv4", "127.0.0.1:0", []string{"127.0.0.1:0"}},
		{"dual-stack", ":0", []string{"127.0.0.1:0", "[::1]:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			la, _ := net.ResolveUDPAddr("udp", tc.listen)
			srv, err := net.ListenUDP("udp", la)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := newYieldingConn(srv)
			if c.raw == nil {
				t.Fatal("raw I/O not set up on Linux")
			}
			port := srv.LocalAddr().(*net.UDPAddr).Port
			for _, p := range tc.peers {
				peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(p)))
				if err != nil {
					if p[0] == '[' && os.Getenv("CI") == "" {
						t.Logf("NOTE: no IPv6 loopback on this machine, the IPv6 peer is left out (in CI this fails): %v", err)
						continue
					}
					t.Fatal(err)
				}
				defer peer.Close()
				peerAP := peer.LocalAddr().(*net.UDPAddr).AddrPort()
				to := netip.AddrPortFrom(peerAP.Addr(), uint16(port))

				// A read waits in the poller until a datagram comes.
				got := make(chan netip.AddrPort, 1)
				buf := make([]byte, 1500)
				var n int
				go func() {
					var from netip.AddrPort
					n, from, err = c.ReadFromAddrPort(buf)
					got <- from
				}()
				time.Sleep(20 * time.Millisecond)
				if _, err := peer.WriteToUDPAddrPort([]byte("ping"), to); err != nil {
					t.Fatal(err)
				}
				from := <-got
				if err != nil || string(buf[:n]) != "ping" {
					t.Fatalf("read %q, %v", buf[:n], err)
				}
				if from.Addr().Unmap() != peerAP.Addr() || from.Port() != peerAP.Port() {
					t.Fatalf("read from %v, want %v", from, peerAP)
				}

				// A write to the address as read reaches the peer.
				if _, err := c.WriteToAddrPort([]byte("pong"), from); err != nil {
					t.Fatal(err)
				}
				peer.SetReadDeadline(time.Now().Add(2 * time.Second))
				pn, pfrom, err := peer.ReadFromUDPAddrPort(buf)
				if err != nil || string(buf[:pn]) != "pong" || pfrom.Port() != uint16(port) {
					t.Fatalf("peer read %q from %v, %v", buf[:pn], pfrom, err)
				}
				// ... and so does a write to the unmapped address, as pion
				// passes it.
				if _, err := c.WriteToAddrPort([]byte("pong2"), netip.AddrPortFrom(from.Addr().Unmap(), from.Port())); err != nil {
					t.Fatal(err)
				}
				if pn, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || !bytes.Equal(buf[:pn], []byte("pong2")) {
					t.Fatalf("peer read %q, %v", buf[:pn], err)
				}

				pkt := bytes.Repeat([]byte{7}, 1200)
				if a := testing.AllocsPerRun(50, func() {
					if _, err := c.WriteToAddrPort(pkt, from); err != nil {
						t.Fatal(err)
					}
					if _, _, err := peer.ReadFromUDPAddrPort(buf); err != nil {
						t.Fatal(err)
					}
					if _, err := peer.WriteToUDPAddrPort(pkt, to); err != nil {
						t.Fatal(err)
					}
					if _, _, err := c.ReadFromAddrPort(buf); err != nil {
						t.Fatal(err)
					}
				}); a != 0 {
					t.Errorf("a write and a read allocate %v times", a)
				}
			}
			srv.Close()
			if _, _, err := c.ReadFromAddrPort(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("read after close: %v, want net.ErrClosed", err)
			}
			if _, err := c.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("write after close: %v, want net.ErrClosed", err)
			}
		})
	}
}
