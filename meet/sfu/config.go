// Package sfu owns the media side of a 1on1 room: one bundled
// PeerConnection per participant, the server always offering, RTP
// forwarded from each participant to the other, RTCP feedback (NACK from a
// packet cache, keyframe requests, bandwidth estimates) and the shared ICE
// sockets (one UDP port, one TCP port). It decides nothing about who may
// join: the caller checks identity (join links, sessions) before Join, and
// stores attendance through the callbacks. It has no HTTP handlers and no
// metrics library; the daemon wires both.
package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/signal"
)

// Roles of the two slots of a room.
const (
	RoleManager = "manager"
	RoleReport  = "report"
)

// Config is the media server's configuration.
type Config struct {
	// UDPPort carries all ICE/RTP over UDP (media.udp_port); 0 picks a free
	// port (tests). TCPPort carries ICE-TCP (media.tcp_port); 0 picks a free
	// port, -1 disables ICE-TCP.
	UDPPort int
	TCPPort int
	// ListenIP binds the media sockets; "" means all interfaces. A
	// loopback address also makes the server announce loopback candidates.
	ListenIP string
	// PublicIP, when set, replaces the host address in announced
	// candidates (1:1 NAT: containers, cloud VMs; media.public_ip).
	PublicIP string
	// ICEServers are STUN/TURN servers handed to browsers in "joined".
	ICEServers []signal.ICEServer
	// SocketBuffer is the kernel receive and send buffer asked for on the
	// UDP socket; the default 32 MiB absorbs about half a second of 60
	// rooms' media while the reader is not scheduled. The kernel caps it
	// at net.core.rmem_max/wmem_max unless the process has CAP_NET_ADMIN.
	SocketBuffer int

	// JoinTimeout bounds the wait for a client's "join" message, and
	// AnswerTimeout the wait for an answer to an offer; a client that does
	// not answer is dropped. Defaults 10s and 15s.
	JoinTimeout   time.Duration
	AnswerTimeout time.Duration

	// OnJoin and OnLeave report attendance: a person entered or left the
	// room's slot of role. A reload (a new connection replacing the old
	// one for the same slot) reports neither, so one stay is one interval.
	// They are called synchronously: keep them short.
	OnJoin  func(room, role string, at time.Time)
	OnLeave func(room, role string, at time.Time)
	// OnMessage receives the messages the SFU does not handle itself (the
	// registered agenda.* types, and media-state, which the room relays)
	// from the participant of role in room. It runs in the participant's
	// session loop, so one participant's messages arrive in order and none
	// after its OnLeave.
	OnMessage func(room, role string, m signal.Message)

	Logger *slog.Logger
	Now    func() time.Time // default time.Now
}

func (c Config) withDefaults() (Config, error) {
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = 32 << 20
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 10 * time.Second
	}
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnJoin == nil {
		c.OnJoin = func(string, string, time.Time) {}
	}
	if c.OnLeave == nil {
		c.OnLeave = func(string, string, time.Time) {}
	}
	if c.OnMessage == nil {
		c.OnMessage = func(string, string, signal.Message) {}
	}
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		return c, errs.Invalidf("media.udp_port", "%d is not a port", c.UDPPort)
	}
	if c.TCPPort < -1 || c.TCPPort > 65535 {
		return c, errs.Invalidf("media.tcp_port", "%d is not a port", c.TCPPort)
	}
	if c.ListenIP != "" && net.ParseIP(c.ListenIP) == nil {
		return c, errs.Invalidf("media.listen_ip", "%q is not an IP address", c.ListenIP)
	}
	if c.PublicIP != "" && net.ParseIP(c.PublicIP) == nil {
		return c, errs.Invalidf("media.public_ip", "%q is not an IP address", c.PublicIP)
	}
	return c, nil
}

func roleIndex(role string) (int, error) {
	switch role {
	case RoleManager:
		return 0, nil
	case RoleReport:
		return 1, nil
	}
	return 0, fmt.Errorf("sfu: %w", errs.Invalidf("role", "%q is not manager or report", role))
}

var roleNames = [2]string{RoleManager, RoleReport}
