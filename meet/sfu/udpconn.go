package sfu

import (
	"net"
	"net/netip"
	"runtime"
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
	reads int // only the mux's reader goroutine reads
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
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

func (c *yieldingConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}
