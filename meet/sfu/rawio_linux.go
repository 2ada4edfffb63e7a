//go:build linux

package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// rawIO reads and writes the media socket with non-blocking recvfrom and
// sendto issued as raw system calls, waiting for readiness through the
// runtime's network poller like the net package does.
//
// Why not the net package: its reads and writes enter the scheduler's
// system-call state, and the first one after the process has been idle
// wakes the runtime's monitor thread (sysmon), which then polls every
// 20 µs until the process is idle again. At a few thousand packets a
// second the daemon goes idle between most packets, so every packet woke
// sysmon: a quarter of the daemon's CPU at 10 rooms was that thread
// sleeping and waking (perf), and 10 rooms cost ~1.8x as much per packet as
// 60. The system-call state exists so that a blocking call can hand its P
// to another thread; these calls never block (MSG_DONTWAIT; EAGAIN goes
// back to the poller), so they do not need it.
//
// Close safety comes from syscall.RawConn, which holds the descriptor for
// the duration of each call.
type rawIO struct {
	rc    syscall.RawConn
	inet6 bool // AF_INET6 socket: IPv4 peers are written as v4-mapped

	rd      rawRead   // only the mux's reader goroutine reads
	writers sync.Pool // *rawWrite: writes come from every forwarder
}

type rawRead struct {
	fn    func(fd uintptr) bool
	b     []byte
	sa    syscall.RawSockaddrAny
	n     int
	errno syscall.Errno
}

type rawWrite struct {
	fn    func(fd uintptr) bool
	b     []byte
	sa    [syscall.SizeofSockaddrInet6]byte
	salen uintptr
	n     int
	errno syscall.Errno
}

func newRawIO(c *net.UDPConn) (*rawIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var domain int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		domain, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("SO_DOMAIN: %w", serr)
	}
	r := &rawIO{rc: rc, inet6: domain == syscall.AF_INET6}
	r.rd.fn = r.rd.recv
	r.writers.New = func() any {
		w := &rawWrite{}
		w.fn = w.send
		return w
	}
	return r, nil
}

func (r *rawRead) recv(fd uintptr) bool {
	for {
		salen := uint32(syscall.SizeofSockaddrAny)
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&r.b[0])), uintptr(len(r.b)), syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&r.sa)), uintptr(unsafe.Pointer(&salen)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait in the poller
		}
		r.n, r.errno = int(n), e
		return true
	}
}

func (w *rawWrite) send(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd,
			uintptr(unsafe.Pointer(&w.b[0])), uintptr(len(w.b)), syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&w.sa[0])), w.salen)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // socket buffer full: wait in the poller
		}
		w.n, w.errno = int(n), e
		return true
	}
}

func (r *rawIO) readFrom(b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, nil
	}
	rd := &r.rd
	rd.b = b
	err := r.rc.Read(rd.fn)
	rd.b = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if rd.errno != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: rd.errno}
	}
	return rd.n, sockaddrAddrPort(&rd.sa), nil
}

func (r *rawIO) writeTo(b []byte, addr netip.AddrPort) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	w := r.writers.Get().(*rawWrite)
	defer r.writers.Put(w)
	if err := w.setAddr(addr, r.inet6); err != nil {
		return 0, err
	}
	w.b = b
	err := r.rc.Write(w.fn)
	w.b = nil
	if err != nil {
		return 0, err
	}
	if w.errno != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Err: w.errno}
	}
	return w.n, nil
}

// setAddr encodes addr as the socket's family expects, as the net package
// does: an AF_INET6 socket takes IPv4 peers as v4-mapped addresses.
func (w *rawWrite) setAddr(addr netip.AddrPort, inet6 bool) error {
	ip := addr.Addr()
	if !ip.IsValid() {
		return &net.OpError{Op: "write", Net: "udp", Err: net.InvalidAddrError("no address")}
	}
	w.sa = [syscall.SizeofSockaddrInet6]byte{}
	port := addr.Port()
	if !inet6 {
		if !ip.Unmap().Is4() {
			return &net.OpError{Op: "write", Net: "udp", Err: net.InvalidAddrError("IPv6 peer on an IPv4 socket")}
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&w.sa[0]))
		sa.Family = syscall.AF_INET
		sa.Port = port<<8 | port>>8
		sa.Addr = ip.Unmap().As4()
		w.salen = syscall.SizeofSockaddrInet4
		return nil
	}
	sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&w.sa[0]))
	sa.Family = syscall.AF_INET6
	sa.Port = port<<8 | port>>8
	sa.Addr = ip.As16()
	if z := ip.Zone(); z != "" {
		sa.Scope_id = zoneIndex(z)
	}
	w.salen = syscall.SizeofSockaddrInet6
	return nil
}

// sockaddrAddrPort decodes what recvfrom filled in, as the net package
// does (an AF_INET6 socket reports IPv4 peers v4-mapped; pion's mux
// unmaps them).
func sockaddrAddrPort(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := sa.Port<<8 | sa.Port>>8
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), p)
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := sa.Port<<8 | sa.Port>>8
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(ip, p)
	}
	return netip.AddrPort{}
}

func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}

func zoneIndex(zone string) uint32 {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
