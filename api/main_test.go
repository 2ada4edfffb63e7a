package api

import (
	"testing"

	"github.com/oneonone/oneonone/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster that the benchmarks on
// PostgreSQL start.
func TestMain(m *testing.M) { pgtest.Main(m) }
