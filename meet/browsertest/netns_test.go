package browsertest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netLink is a network namespace joined to this machine by a veth pair
// with addresses in a private /29 (10.213.0.0/16). A browser started in it
// (chromium.Options.Netns) reaches the daemon only over the pair, so taking
// the pair down cuts its signaling and its media alike, as a Wi-Fi drop
// does. The namespace exists only inside this machine.
type netLink struct {
	t            *testing.T
	ip           string // the ip binary (iproute2)
	ns           string
	hostIf, nsIf string
	hostIP, nsIP string
	spareIP      string // the namespace's next address (renumber)
}

// requireNetLink creates the namespace and the pair, removed when the test
// ends (after the browsers inside have been stopped, as cleanups run in
// reverse). Without root or iproute2 the test fails when CI is set (CI runs
// as root) and is skipped loudly otherwise.
func requireNetLink(t *testing.T) *netLink {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("network namespace: %s (CI is set, so this is a failure: CI runs as root with iproute2)", why)
		}
		t.Skipf("SKIPPING network-drop test: %s. It needs root and iproute2's ip to create a network namespace; with CI set this fails instead", why)
	}
	if os.Geteuid() != 0 {
		missing("not root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		missing("no ip command (iproute2)")
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%04x", binary.BigEndian.Uint16(rnd[:2]))
	// A random /29 of 10.213.0.0/16, so runs side by side do not collide;
	// the namespace's end may move to a second address (renumber).
	third, fourth := int(rnd[2]), int(rnd[3]&0xf8)
	l := &netLink{t: t, ip: ip, ns: "oo-drop-" + id, hostIf: "oo" + id + "h", nsIf: "oo" + id + "n",
		hostIP: fmt.Sprintf("10.213.%d.%d", third, fourth+1), nsIP: fmt.Sprintf("10.213.%d.%d", third, fourth+2),
		spareIP: fmt.Sprintf("10.213.%d.%d", third, fourth+3)}
	if out, err := exec.Command(ip, "netns", "add", l.ns).CombinedOutput(); err != nil {
		missing(fmt.Sprintf("ip netns add: %v: %s", err, strings.TrimSpace(string(out))))
	}
	t.Cleanup(func() {
		// Deleting one end deletes the pair (it may be gone with the
		// namespace already).
		_ = exec.Command(ip, "link", "del", l.hostIf).Run()
		if out, err := exec.Command(ip, "netns", "del", l.ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", l.ns, err, out)
		}
	})
	l.run("", "link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf)
	l.run("", "link", "set", l.nsIf, "netns", l.ns)
	l.run("", "addr", "add", l.hostIP+"/29", "dev", l.hostIf)
	l.run("", "link", "set", l.hostIf, "up")
	l.run(l.ns, "addr", "add", l.nsIP+"/29", "dev", l.nsIf)
	l.run(l.ns, "link", "set", "lo", "up")
	l.run(l.ns, "link", "set", l.nsIf, "up")
	return l
}

// run runs ip with args, inside namespace ns when it is not empty.
func (l *netLink) run(ns string, args ...string) {
	l.t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command(l.ip, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// setUp takes the namespace's end of the pair down or up: for the browser
// inside, its only network interface goes away and comes back.
func (l *netLink) setUp(up bool) {
	l.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	l.run(l.ns, "link", "set", l.nsIf, state)
}

// renumber moves the namespace's end to its other address, as a Wi-Fi
// network that comes back with a new lease: the old ICE candidates and the
// old TCP connections are gone for good.
func (l *netLink) renumber() {
	l.t.Helper()
	l.run(l.ns, "addr", "del", l.nsIP+"/29", "dev", l.nsIf)
	l.run(l.ns, "addr", "add", l.spareIP+"/29", "dev", l.nsIf)
	l.nsIP, l.spareIP = l.spareIP, l.nsIP
}
