package sfu

import (
	"net"
	"syscall"
)

// forceBuffers asks for size bytes of receive and send buffer past
// net.core.rmem_max/wmem_max (SO_RCVBUFFORCE/SO_SNDBUFFORCE), which works
// with CAP_NET_ADMIN (root, or a container granted it) and is refused
// otherwise; the caller then keeps what SetReadBuffer got. It returns the
// receive buffer the kernel actually holds (twice the request, for its
// bookkeeping).
func forceBuffers(c *net.UDPConn, size int) (rcvbuf int, forced bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) == nil {
			forced = true
		}
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size)
		rcvbuf, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return rcvbuf, forced
}
