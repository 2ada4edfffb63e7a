package metrics

import "github.com/prometheus/client_golang/prometheus"

// AppGatherer is the registry without the Go and process collectors, whose
// output changes from run to run (golden files leave them out).
func (m *Metrics) AppGatherer() prometheus.Gatherer { return m.reg }
