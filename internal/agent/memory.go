package agent

import (
	"os"
	"runtime/debug"
)

// agentGCPercent is the agent's GC target when the operator set none. The
// live heap is small (the applier's cache of the kernel state and the last
// ruleset: ~12 MB at 1,000 ports), but a full sync renders the whole
// ruleset as restore text and Go's default (100) lets the heap double
// before collecting, so the peak RSS of a resync is mostly garbage. 50
// trades a few ms of GC on a full sync for a peak a third lower.
const agentGCPercent = 50

// TuneMemory sets the agent's GC target unless GOGC or GOMEMLIMIT is set
// in the environment (the operator's choice wins).
func TuneMemory() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
}
