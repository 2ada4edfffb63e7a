package sfu

import (
	"net"
	"net/netip"
	"runtime"

	"github.com/pion/ice/v4"
)

// yieldEvery is how many datagrams the ICE UDP mux reads before it lets
// the goroutines that consume them run.
const yieldEvery = 32

// yieldingConn is the media UDP socket as handed to pion's ICE UDP mux.
// The mux's one reader copies every datagram into an 8 KiB pooled buffer
// queued for its connection and goes on reading while the socket has
// data; with one CPU (the daemon pinned, or a busy machine) the consumers
// only run when it yields. After the daemon was not scheduled for a while
// the socket holds hundreds of milliseconds of media, and the mux turned
// all of it into 8 KiB heap buffers at once (28 MB of a 72 MB heap at 30
// rooms), and the next stages' packetio buffers grew to the same burst and
// never shrank. Yielding every few datagrams keeps the backlog in the
// kernel's socket buffer, which is sized for it (Config.SocketBuffer), and
// every queue behind it a few packets deep.
type yieldingConn struct {
	*net.UDPConn
	raw   *rawIO // raw non-blocking system calls (rawio_linux.go); nil: the net package's
	reads int    // only the mux's reader goroutine reads
}

func newYieldingConn(c *net.UDPConn) *yieldingConn {
	raw, err := newRawIO(c)
	if err != nil {
		raw = nil
	}
	return &yieldingConn{UDPConn: c, raw: raw}
}

func (c *yieldingConn) yield() {
	if c.reads++; c.reads%yieldEvery == 0 {
		runtime.Gosched()
	}
}

func (c *yieldingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.yield()
	return c.UDPConn.ReadFrom(b)
}

// ReadFromAddrPort and WriteToAddrPort keep the mux on its
// allocation-free path (ice.AddrPortReaderWriter), which it only takes
// for a bare *net.UDPConn or a conn with these two methods.
func (c *yieldingConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.yield()
	if c.raw != nil {
		return c.raw.readFrom(b)
	}
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

func (c *yieldingConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.raw != nil {
		return c.raw.writeTo(b, addr)
	}
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}

// announcedUDPMux lists only the addresses pion will announce. pion makes
// a host candidate for every address the mux listens on, each with its
// own muxed connection, reader goroutine and 8 KiB read buffer per
// participant, but never announces an IPv6 link-local one (RFC 8445
// 5.1.1.1, without mDNS): those were a third of the UDP candidates' cost
// on a host with one interface. Loopback addresses are left out unless
// loopback candidates are wanted, as pion itself does for its own mux type
// (which this wrapper no longer is).
type announcedUDPMux struct {
	ice.UDPMux
	loopback bool
}

func (m announcedUDPMux) GetListenAddresses() []net.Addr {
	all := m.UDPMux.GetListenAddresses()
	out := all[:0:0]
	for _, a := range all {
		if u, ok := a.(*net.UDPAddr); ok && !announced(u.IP, m.loopback) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// announced says whether a host candidate on ip is worth gathering.
func announced(ip net.IP, loopback bool) bool {
	if ip.IsLoopback() {
		return loopback
	}
	return ip.To4() != nil || !ip.IsLinkLocalUnicast()
}
