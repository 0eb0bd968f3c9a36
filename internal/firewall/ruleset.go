// Package firewall turns what a compute host must enforce into kernel
// rules, in three layers that never mix:
//
//   - the compiler (Compile) is a pure function from a HostState (the ports
//     bound to this host, their security groups and rules, remote-group
//     members, address pairs, port-security flags) to an abstract Ruleset;
//   - the renderer (Render, RenderRule) turns a Ruleset into
//     iptables-restore and ipset restore text, in the exact form
//     iptables-save and ipset save print back;
//   - the applier is the only code that executes anything: it diffs the
//     desired Ruleset against what the kernel has and writes the
//     difference atomically.
//
// Every rule carries a Comment naming where it came from (a security group
// rule id, anti-spoofing, an address pair, port security off) so that a
// trace can explain a verdict.
package firewall

// Family is the IP family a table belongs to.
type Family int

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// Table is an iptables table Bulwark writes to.
type Table string

const (
	Filter Table = "filter"
	Raw    Table = "raw"
)

// ChainPrefix starts the name of every chain and set Bulwark owns; the
// applier never touches a chain without it.
const ChainPrefix = "bulwark-"

// Rule is one rule of a chain, as iptables-save prints it minus the
// "-A <chain>" head and the comment: Match holds the match options
// ("-p tcp -m tcp --dport 22"), Target the action ("RETURN", "DROP",
// "ACCEPT", a chain name, or "CT --zone 4097").
type Rule struct {
	Match   string
	Target  string
	Comment string
	// Goto makes the rule "-g Target" instead of "-j Target": when the
	// target chain returns, control goes back to whoever called the chain
	// holding this rule, not to the next rule. (Bulwark's chains give the
	// same verdicts either way; goto only saves evaluation.)
	Goto bool
}

// Chain is an owned chain with its rules in order.
type Chain struct {
	Name  string
	Rules []Rule
	// Unordered says that no two rules of the chain match the same packet
	// (each is keyed by its own device or network) and that the chain has
	// no trailing catch-all, so the order of its rules carries no meaning:
	// an applier may append a new rule and delete an old one by its
	// specification instead of rewriting the chain. These are the chains
	// whose length grows with the number of ports.
	Unordered bool
}

// Hook is a jump Bulwark inserts into a built-in chain (FORWARD, INPUT,
// PREROUTING, ...) to reach its own chains.
type Hook struct {
	BuiltinChain string
	Rule         Rule
}

// IPSet is a hash:net set (remote group members, address groups).
type IPSet struct {
	Name    string
	Family  Family
	Members []string // CIDRs or addresses, sorted
}

// TableRules is one table of one family.
type TableRules struct {
	Hooks  []Hook
	Chains []Chain
}

// Ruleset is everything Bulwark wants in the kernel on one host.
type Ruleset struct {
	Tables map[Family]map[Table]*TableRules
	Sets   []IPSet
	// Zones is the conntrack zone of every network that has filtered
	// ports on this host (network id -> zone); the applier scopes
	// conntrack cleanup with it and feeds it back as HostState.Zones.
	Zones map[string]uint16
	// Warnings lists input the compiler had to leave out (an unknown
	// group, an unparsable address); what is left out only ever allows
	// less, never more.
	Warnings []string
	// Ports says how each port bound to this host was rendered, in device
	// order: its chains, zone and mode.
	Ports []PortInfo
	// ImmutableRules promises that no TableRules, no chain's Rules slice
	// (nor any set's Members) is ever modified once the ruleset is built,
	// so that an applier may take a table (the same *TableRules) or a
	// slice (same backing array and length) it has already written as
	// unchanged without comparing it. Compiler sets it, and hands out the
	// previous call's *TableRules for a table whose chains and hooks are
	// all the same; leave it false for a ruleset you edit in place.
	ImmutableRules bool
}

// PortInfo describes how one port was rendered.
type PortInfo struct {
	ID, Device, NetworkID string
	// Filtered ports have Ingress, Egress, Spoof and Dest chains (in both
	// families); the others are passed through (port security off,
	// trusted network-owned ports) or dropped (FailClosed).
	Filtered   bool
	FailClosed bool
	Stateless  bool
	// Zone is the conntrack zone of the port's traffic (0: none).
	Zone                   uint16
	Ingress, Egress, Spoof string
	// Dest is the destination check (the addresses the port receives on).
	Dest string
}

// Chain returns the chain of that name, or nil.
func (t *TableRules) Chain(name string) *Chain {
	for i := range t.Chains {
		if t.Chains[i].Name == name {
			return &t.Chains[i]
		}
	}
	return nil
}

// Set returns the set of that name, or nil.
func (rs *Ruleset) Set(name string) *IPSet {
	for i := range rs.Sets {
		if rs.Sets[i].Name == name {
			return &rs.Sets[i]
		}
	}
	return nil
}

// NewRuleset returns an empty ruleset with all four tables present.
func NewRuleset() *Ruleset {
	rs := &Ruleset{Tables: map[Family]map[Table]*TableRules{}, Zones: map[string]uint16{}}
	for _, f := range []Family{IPv4, IPv6} {
		rs.Tables[f] = map[Table]*TableRules{Filter: {}, Raw: {}}
	}
	return rs
}
