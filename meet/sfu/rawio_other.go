//go:build !linux

package sfu

import (
	"errors"
	"net"
	"net/netip"
)

// rawIO is Linux-only; elsewhere the media socket goes through the net
// package.
type rawIO struct{}

func newRawIO(*net.UDPConn) (*rawIO, error) { return nil, errors.ErrUnsupported }

func (*rawIO) readFrom([]byte) (int, netip.AddrPort, error) { panic("unreachable") }
func (*rawIO) writeTo([]byte, netip.AddrPort) (int, error)  { panic("unreachable") }
