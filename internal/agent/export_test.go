package agent

// MemberPatches is how many watch answers a applied as member-list
// changes only (applyMembers).
func MemberPatches(a *Agent) int64 { return a.memberPatches.Load() }
