package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// ProcStats is one process's CPU time and resident memory.
type ProcStats struct {
	CPUSeconds float64
	RSSBytes   int64
	// WaitSeconds is the time its threads were runnable but waiting for a
	// CPU (/proc/<pid>/schedstat): the share of a core taken by others.
	WaitSeconds float64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// readProc reads /proc/<pid>/stat and /proc/<pid>/status; pid "self" is
// this process.
func readProc(pid string) (ProcStats, error) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return ProcStats{}, fmt.Errorf("loadgen: process stats: %w", err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcStats{}, err
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ProcStats{}, fmt.Errorf("loadgen: process status: %w", err)
	}
	rss, err := parseStatusRSS(status)
	if err != nil {
		return ProcStats{}, err
	}
	st := ProcStats{CPUSeconds: cpu, RSSBytes: rss}
	// Per thread: the process file holds the main thread's only.
	tasks, _ := os.ReadDir("/proc/" + pid + "/task")
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				st.WaitSeconds += float64(ns) / 1e9
			}
		}
	}
	return st, nil
}

// parseStatCPU returns utime+stime in seconds from a /proc/<pid>/stat
// line. The command name in parentheses may contain spaces, so fields are
// counted after the last ')'.
func parseStatCPU(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: /proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")": state(3) ppid(4) … utime is field 14, stime 15 → f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: /proc stat: %d fields", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("loadgen: /proc stat: bad cpu times %q %q", f[11], f[12])
	}
	return float64(u+s) / clockTicks, nil
}

// parseStatusRSS returns VmRSS in bytes from /proc/<pid>/status.
func parseStatusRSS(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("loadgen: /proc status: bad VmRSS %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("loadgen: /proc status: bad VmRSS %q", line)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("loadgen: /proc status: no VmRSS")
}

// UDPCounters are the kernel's UDP error counters (/proc/net/snmp): a
// datagram dropped because a socket's receive buffer was full counts in
// RcvbufErrors (and InErrors).
type UDPCounters struct {
	InErrors, RcvbufErrors, SndbufErrors int64
}

func (a UDPCounters) sub(b UDPCounters) UDPCounters {
	return UDPCounters{a.InErrors - b.InErrors, a.RcvbufErrors - b.RcvbufErrors, a.SndbufErrors - b.SndbufErrors}
}

func readSNMP() (UDPCounters, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return UDPCounters{}, fmt.Errorf("loadgen: %w", err)
	}
	return parseSNMP(b)
}

// parseSNMP reads the "Udp:" header and value lines of /proc/net/snmp.
func parseSNMP(b []byte) (UDPCounters, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Udp:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		if len(f) != len(names) {
			return UDPCounters{}, fmt.Errorf("loadgen: /proc/net/snmp: %d Udp values for %d names", len(f), len(names))
		}
		var c UDPCounters
		for i, n := range names {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return UDPCounters{}, fmt.Errorf("loadgen: /proc/net/snmp: Udp %s: %w", n, err)
			}
			switch n {
			case "InErrors":
				c.InErrors = v
			case "RcvbufErrors":
				c.RcvbufErrors = v
			case "SndbufErrors":
				c.SndbufErrors = v
			}
		}
		return c, nil
	}
	return UDPCounters{}, fmt.Errorf("loadgen: /proc/net/snmp: no Udp lines")
}

// scrapeProcess reads process_cpu_seconds_total and
// process_resident_memory_bytes from a Prometheus text endpoint: the
// daemon's own view of itself when its pid is not known (another host, a
// container).
func scrapeProcess(ctx context.Context, hc *http.Client, url string) (ProcStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ProcStats{}, fmt.Errorf("loadgen: metrics: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ProcStats{}, fmt.Errorf("loadgen: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ProcStats{}, fmt.Errorf("loadgen: metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return ProcStats{}, fmt.Errorf("loadgen: metrics: %w", err)
	}
	return parseProcessMetrics(b)
}

func parseProcessMetrics(b []byte) (ProcStats, error) {
	var st ProcStats
	var haveCPU, haveRSS bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "process_cpu_seconds_total":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return st, fmt.Errorf("loadgen: metrics: %s: %w", f[0], err)
			}
			st.CPUSeconds, haveCPU = v, true
		case "process_resident_memory_bytes":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return st, fmt.Errorf("loadgen: metrics: %s: %w", f[0], err)
			}
			st.RSSBytes, haveRSS = int64(v), true
		}
	}
	if !haveCPU || !haveRSS {
		return st, fmt.Errorf("loadgen: metrics: no process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return st, nil
}

// socketDrops sums the kernel's per-socket drop counters (/proc/net/udp
// and udp6, last column) of the UDP sockets process pid holds, so a
// report can tell the daemon's full buffers from the generator's.
func socketDrops(pid string) (int64, error) {
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return 0, fmt.Errorf("loadgen: sockets of %s: %w", pid, err)
	}
	inodes := make(map[string]bool)
	for _, fd := range fds {
		l, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	var total int64
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		total += parseUDPDrops(b, inodes)
	}
	return total, nil
}

// parseUDPDrops sums the drops column of the /proc/net/udp lines whose
// inode is in inodes.
func parseUDPDrops(b []byte, inodes map[string]bool) int64 {
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 || !inodes[f[9]] {
			continue
		}
		if v, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
			total += v
		}
	}
	return total
}
