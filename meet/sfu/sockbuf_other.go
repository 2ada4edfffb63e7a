//go:build !linux

package sfu

import "net"

func forceBuffers(*net.UDPConn, int) (int, bool) { return 0, false }
