package agenda

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRankBetween(t *testing.T) {
	tests := []struct{ a, b string }{
		{"", ""}, {"", "V"}, {"V", ""}, {"V", "W"}, {"V", "V1"}, {"z", ""}, {"zz", ""}, {"", "01"},
		{"1", "2"}, {"Vz", "W"}, {"Vzz", "W1"}, {"A", "Ak"},
	}
	for _, tt := range tests {
		got, err := rankBetween(tt.a, tt.b)
		if err != nil {
			t.Errorf("rankBetween(%q, %q): %v", tt.a, tt.b, err)
			continue
		}
		if !validRank(got) || got <= tt.a || (tt.b != "" && got >= tt.b) {
			t.Errorf("rankBetween(%q, %q) = %q", tt.a, tt.b, got)
		}
	}
	for _, bad := range []struct{ a, b string }{{"W", "V"}, {"V", "V"}, {"V0", ""}, {"", "a!"}} {
		if r, err := rankBetween(bad.a, bad.b); err == nil {
			t.Errorf("rankBetween(%q, %q) = %q, want an error", bad.a, bad.b, r)
		}
	}
}

// Random inserts anywhere keep the list strictly ordered, and appends stay
// short.
func TestRankRandomInserts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ranks []string
	for range 2000 {
		i := rng.IntN(len(ranks) + 1)
		a, b := "", ""
		if i > 0 {
			a = ranks[i-1]
		}
		if i < len(ranks) {
			b = ranks[i]
		}
		r, err := rankBetween(a, b)
		if err != nil {
			t.Fatal(err)
		}
		ranks = slices.Insert(ranks, i, r)
	}
	if !slices.IsSorted(ranks) {
		t.Fatal("ranks out of order")
	}
	for i := 1; i < len(ranks); i++ {
		if ranks[i] == ranks[i-1] || !validRank(ranks[i]) {
			t.Fatalf("rank %d: %q after %q", i, ranks[i], ranks[i-1])
		}
	}
	last := ""
	for range MaxItemsPerOccurrence {
		last = rankAfter(last)
	}
	if len(last) > 20 {
		t.Errorf("after %d appends the rank is %d characters long", MaxItemsPerOccurrence, len(last))
	}
}
