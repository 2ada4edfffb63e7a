package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want float64
		ok   bool
	}{
		{"plain", "123 (oneonone) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200", 3.0, true},
		{"spaces and parens in name", "7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 1 1", 0.03, true},
		{"no name", "7 R 1", 0, false},
		{"short", "7 (x) R 1 2", 0, false},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.in))
			if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
				t.Errorf("parseStatCPU = %v, %v; want %v ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"Name:\tx\nVmRSS:\t   2048 kB\nThreads: 3\n", 2048 << 10, true},
		{"Name:\tx\n", 0, false},
		{"VmRSS:\t12 MB\n", 0, false},
		{"VmRSS:\t-1 kB\n", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStatusRSS([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseStatusRSS(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

const snmpSample = `Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 100 2 7 90 5 1 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`

func TestParseSNMP(t *testing.T) {
	got, err := parseSNMP([]byte(snmpSample))
	if err != nil || got != (UDPCounters{InErrors: 7, RcvbufErrors: 5, SndbufErrors: 1}) {
		t.Errorf("parseSNMP = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "Udp: InErrors\n", "Udp: InErrors RcvbufErrors\nUdp: 1\n", "Udp: InErrors\nUdp: x\n"} {
		if _, err := parseSNMP([]byte(bad)); err == nil {
			t.Errorf("parseSNMP(%q) accepted", bad)
		}
	}
	// This machine's own file parses.
	if _, err := os.Stat("/proc/net/snmp"); err == nil {
		if _, err := readSNMP(); err != nil {
			t.Error(err)
		}
	}
}

func TestParseProcessMetrics(t *testing.T) {
	in := "# HELP process_cpu_seconds_total x\nprocess_cpu_seconds_total 12.5\nprocess_resident_memory_bytes 3.4e+07\nother 1\n"
	got, err := parseProcessMetrics([]byte(in))
	if err != nil || got.CPUSeconds != 12.5 || got.RSSBytes != 34_000_000 {
		t.Errorf("parseProcessMetrics = %+v, %v", got, err)
	}
	if _, err := parseProcessMetrics([]byte("process_cpu_seconds_total 1\n")); err == nil {
		t.Error("missing RSS accepted")
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte(snmpSample))
	f.Add([]byte("1 (x) R 1 2 3 4 5 6 7 8 9 10 11 12 13"))
	f.Add([]byte("VmRSS: 1 kB\nprocess_cpu_seconds_total 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseSNMP(b)
		parseStatCPU(b)
		parseStatusRSS(b)
		parseProcessMetrics(b)
	})
}

// TestRecvStats: loss counts unique packets over the sequence range, a
// retransmission fills its gap once, duplicates and wraps are handled,
// and steady arrival gives no jitter.
func TestRecvStats(t *testing.T) {
	var s recvStats
	s.clockRate = 90000
	at := func(i int) time.Duration { return time.Duration(i) * 20 * time.Millisecond }
	seqs := []uint16{65530, 65531, 65533, 65534, 65535, 0, 1, 1, 65532, 3}
	for i, q := range seqs {
		s.add(q, uint32(i)*1800, at(i))
	}
	// 65530..3 is 10 sequence numbers; 2 is missing, 1 came twice.
	if got, want := s.expected.Load(), int64(10); got != want {
		t.Errorf("expected %d, want %d", got, want)
	}
	if got, want := s.received.Load(), int64(9); got != want {
		t.Errorf("received %d, want %d", got, want)
	}
	var steady recvStats
	steady.clockRate = 48000
	for i := range 100 {
		steady.add(uint16(i), uint32(i)*960, at(i))
	}
	if j := steady.jitterNano.Load(); j != 0 {
		t.Errorf("steady stream jitter %v", time.Duration(j))
	}
}

func TestParseUDPDrops(t *testing.T) {
	in := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1111 2 0000000000000000 17
  2: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2222 2 0000000000000000 5
  3: 0100007F:9C42 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3333 2 0000000000000000 100
`
	if got := parseUDPDrops([]byte(in), map[string]bool{"1111": true, "2222": true}); got != 22 {
		t.Errorf("drops = %d, want 22", got)
	}
	if _, err := socketDrops("self"); err != nil {
		t.Error(err)
	}
}
