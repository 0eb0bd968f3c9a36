package firewall

import (
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/model"
)

// The layout Compile produces is described in docs/firewall.md. In short,
// per family:
//
//	filter FORWARD -> bulwark-FORWARD           (bridged packets only)
//	    mark-reset, -j bulwark-from-port, -j bulwark-to-port,
//	    ACCEPT if MarkManaged is set
//	bulwark-from-port  per port: --physdev-in  tapX -g bulwark-oX   (unordered)
//	bulwark-to-port    per port: --physdev-out tapX -g bulwark-iX   (unordered)
//	filter INPUT  -> bulwark-INPUT                (VM -> host)
//	    per port: --physdev-in tapX -g bulwark-oX                   (unordered)
//	bulwark-iX / bulwark-oX  port chains: set MarkManaged, fixed
//	    allowances, then per security group "-j bulwark-g<sg>-i4" and
//	    "RETURN if MarkAccept", INVALID drop, -j bulwark-fallback
//	bulwark-sX         anti-spoofing (MAC, IP) allow list, then DROP
//	bulwark-g<sg>-{i,o}{4,6}  one chain per group, direction and family:
//	    one rule per group rule, each "-g bulwark-accept"
//	bulwark-accept     sets MarkAccept (reached by goto, so it returns
//	    straight to the port chain)
//	bulwark-fallback   DROP
//	raw PREROUTING -> bulwark-PREROUTING -> bulwark-notrack, bulwark-zone
//	raw OUTPUT     -> bulwark-OUTPUT
//
// A rule change in a group rewrites only that group's chain; a membership
// change only a set; a port change only the port's own chains and one
// rule in each unordered dispatch chain.

// Packet mark bits Bulwark owns. Every MARK target and mark match uses a
// mask, so other bits of the packet mark are left alone.
const (
	// MarkAccept is set by bulwark-accept when a security-group rule
	// accepted the packet; a port chain clears it on entry and returns
	// when it is set after a group chain.
	MarkAccept uint32 = 0x1000000
	// MarkManaged is set on entry to any port chain, and by the dispatch
	// rule of a port without port security: the packet concerns a port
	// Bulwark manages, so bulwark-FORWARD accepts it once every check
	// passed.
	MarkManaged uint32 = 0x2000000
	// MarkSourceChecked is set by a port's egress chain once its
	// anti-spoofing chain passed the packet: its source address is one
	// the sending port holds. A remote-group rule accepts a source that
	// belongs to a port on this host only with this bit (see LocalSetName).
	MarkSourceChecked uint32 = 0x4000000
	markMask                 = MarkAccept | MarkManaged
	markAll                  = markMask | MarkSourceChecked
)

// FirstZone is the first conntrack zone Bulwark allocates (as Neutron).
const FirstZone = 4097

// Names of the static chains.
const (
	ChainForward    = ChainPrefix + "FORWARD"
	ChainInput      = ChainPrefix + "INPUT"
	ChainFromPort   = ChainPrefix + "from-port"
	ChainToPort     = ChainPrefix + "to-port"
	ChainAccept     = ChainPrefix + "accept"
	ChainFallback   = ChainPrefix + "fallback"
	ChainPrerouting = ChainPrefix + "PREROUTING"
	ChainOutput     = ChainPrefix + "OUTPUT"
	ChainNotrack    = ChainPrefix + "notrack"
	ChainZone       = ChainPrefix + "zone"
)

// Comments. A comment is a kind, optionally followed by ":" and the id of
// the object the rule comes from, optionally followed by space-separated
// arguments:  comment = kind [ ":" id ] *( " " arg ).  The kinds:
const (
	CommentHook        = "hook"              // jump from a built-in chain
	CommentNotBridged  = "not-bridged"       // routed packets are not ours
	CommentMarkReset   = "mark-reset"        // clear Bulwark's mark bits
	CommentDispatch    = "dispatch"          // jump to a dispatch chain
	CommentAccept      = "accept"            // a managed packet passed every check
	CommentPort        = "port"              // port:<port-id> dispatch to a port chain
	CommentPortSecOff  = "port-security-off" // port-security-off:<port-id>
	CommentTrusted     = "trusted"           // trusted:<port-id> (device_owner network:*)
	CommentFailClosed  = "fail-closed"       // fail-closed:<port-id>
	CommentManaged     = "managed"           // port chain entry: set MarkManaged, clear MarkAccept
	CommentState       = "state"             // RELATED,ESTABLISHED accepted
	CommentInvalid     = "invalid"           // conntrack INVALID dropped
	CommentDHCP        = "dhcp"              // DHCP/DHCPv6 client traffic and server replies
	CommentDHCPSpoof   = "dhcp-spoof"        // DHCP server replies from a VM dropped
	CommentICMPv6ND    = "icmpv6-nd"         // neighbour discovery, MLD, DAD
	CommentICMPv6RA    = "icmpv6-ra"         // router advertisement to the VM
	CommentRASpoof     = "ra-spoof"          // router advertisement from a VM dropped
	CommentICMPv6      = "icmpv6"            // other ICMPv6 from the VM
	CommentAntiSpoof   = "anti-spoof"        // jump to / final drop of the spoof chain
	CommentFixedIP     = "fixed-ip"          // fixed-ip <ip> <mac>
	CommentAddressPair = "address-pair"      // address-pair <ip-or-cidr> <mac>
	CommentLinkLocal   = "link-local"        // link-local <fe80::...> <mac>
	CommentMACOnly     = "mac-only"          // mac-only <mac> (port without fixed IPs)
	CommentSG          = "sg"                // sg:<group-id> jump to the group chain
	CommentSGAccepted  = "sg-accepted"       // sg-accepted:<group-id> RETURN on MarkAccept
	CommentSGRule      = "sg-rule"           // sg-rule:<rule-id>
	CommentSGAccept    = "sg-accept"         // bulwark-accept sets MarkAccept
	CommentFallback    = "fallback"          // unmatched traffic dropped
	CommentZone        = "zone"              // zone:<network-id> conntrack zone
	CommentNotrack     = "notrack"           // notrack:<port-id> stateless groups
	CommentDestCheck   = "dest-check"        // jump to / final drop of the destination chain
	CommentDest        = "dest"              // dest <kind> [<ip-or-cidr>]: an allowed destination
	CommentSourceOK    = "source-checked"    // sets MarkSourceChecked after anti-spoofing
)

// IngressChain is the chain checking traffic to a port's VM. (When two
// ports on a host share the first 10 characters of their ids, the one
// sorting later gets a hashed name instead; Ruleset.Ports has the names
// Compile used.)
func IngressChain(portID string) string { return ChainPrefix + "i" + prefix(portID, 10) }

// EgressChain is the chain checking traffic from a port's VM.
func EgressChain(portID string) string { return ChainPrefix + "o" + prefix(portID, 10) }

// SpoofChain is a port's anti-spoofing chain.
func SpoofChain(portID string) string { return ChainPrefix + "s" + prefix(portID, 10) }

// DestChain is a port's destination check: the addresses it may receive.
func DestChain(portID string) string { return ChainPrefix + "d" + prefix(portID, 10) }

// LocalSetName is the set of the host addresses (fixed IPs and single-
// address pairs) of the filtered ports bound to this host. A remote-group
// rule trusts a member's source address to the anti-spoofing of the
// member's own host; for members on this host that is this host, so a
// source in this set is accepted only from the port that holds it.
func LocalSetName(f Family) string { return fmt.Sprintf("%slocal%d", ChainPrefix, f) }

// GroupChain is the chain holding one security group's rules of one
// direction ("ingress" or "egress") and family: bulwark-g<10>-i4, -o6...
func GroupChain(groupID, direction string, f Family) string {
	d := "i"
	if direction == "egress" {
		d = "o"
	}
	return fmt.Sprintf("%sg%s-%s%d", ChainPrefix, prefix(groupID, 10), d, f)
}

// MaxSetNameLen is the longest set name Bulwark uses: ipset allows 31
// characters and the applier swaps through NAME + SetSwapSuffix.
const (
	MaxSetNameLen = 29
	SetSwapSuffix = "-n"
)

// GroupSetName is the ipset of a remote group's members of one family:
// "bulwark-4" + the first 20 characters of the group id.
func GroupSetName(groupID string, f Family) string {
	return fmt.Sprintf("%s%d%s", ChainPrefix, f, prefix(groupID, MaxSetNameLen-len(ChainPrefix)-1))
}

// AddressGroupSetName is the ipset of an address group's CIDRs of one
// family: "bulwark-a4" + the first 19 characters of its id.
func AddressGroupSetName(addressGroupID string, f Family) string {
	return fmt.Sprintf("%sa%d%s", ChainPrefix, f, prefix(addressGroupID, MaxSetNameLen-len(ChainPrefix)-2))
}

// PairSetName is the ipset of a port's address pairs sent from its own
// MAC, of one family: "bulwark-p4" + the port's 10-character chain key.
// The port's spoof and destination chains match it with one rule each, so
// that adding, moving or removing a VIP changes the set, not the chains.
func PairSetName(portKey string, f Family) string {
	return fmt.Sprintf("%sp%d%s", ChainPrefix, f, portKey)
}

// CommentAddressPairs marks the rule matching a port's pair set.
const CommentAddressPairs = "address-pairs"

// comment builds "kind:id".
func comment(kind, id string) string { return kind + ":" + id }

// Compile turns a host state into the ruleset that enforces it. It is a
// pure, deterministic function: the same state gives the same ruleset,
// rule for rule, and nothing in a port's chains depends on other ports.
func Compile(h *HostState) *Ruleset {
	c := &compiler{h: h, rs: NewRuleset(), sets: map[string]setRef{}, chainNames: map[string]string{}}
	c.run()
	return c.rs
}

type setRef struct {
	name    string
	f       Family
	id      string
	address bool // address group (else security group)
	local   bool // the host's own port addresses (LocalSetName)
	port    bool // a port's address pairs from its own MAC (PairSetName); id is the port id
}

// remoteGroup reports whether the set holds a remote security group's
// members (HostState.Members).
func (r setRef) remoteGroup() bool { return !r.address && !r.local && !r.port }

type compiler struct {
	h     *HostState
	rs    *Ruleset
	sets  map[string]setRef
	ports []*Port
	// Chain and set name parts, unique per host (see uniqueKeys).
	portKey, groupKey map[string]string
	setNames          map[string]string // "g|<id>" or "a|<id>" -> id part of the set name
	failClosed        map[string]bool   // port id -> render as drop-all
	chainNames        map[string]string // cache of group chain names
	netKeys           map[string]string // network id -> networkKey
	// memo is the memoizing Compiler this run reuses chains from (nil
	// for the pure Compile); recWarn and recSets capture the side
	// effects of a memoized piece so that a reuse can replay them.
	memo    *Compiler
	recWarn *[]string
	recSets *[]setRef
	// runNames: names(p) of this run.
	runNames map[*Port]*portNames
	// pairMembers: the members of each port's pair set (PairSetName),
	// from the allow list portChains built (or its memo replayed).
	pairMembers map[string][]string
	recPairs    *map[string][]string
	// baseWarns: how many warnings there were before the sets were built.
	baseWarns int
	// ruleScratch: where portChains builds a port's four chains.
	ruleScratch [4][]Rule
}

// uniqueKeys maps each id to the part of a name derived from it: its first
// n characters, unless an id sorting before it already has those, in which
// case its first n-8 characters and 8 hex digits of its FNV-1a hash. The
// names of existing objects never change when an object is added.
func uniqueKeys(ids []string, n int) map[string]string {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	out := map[string]string{}
	taken := map[string]bool{}
	for _, id := range sorted {
		if _, done := out[id]; done {
			continue
		}
		k := prefix(id, n)
		if taken[k] {
			h := fnv.New32a()
			h.Write([]byte(id))
			k = fmt.Sprintf("%s%08x", prefix(id, n-8), h.Sum32())
		}
		taken[k] = true
		out[id] = k
	}
	return out
}

func (c *compiler) warn(format string, args ...any) {
	c.addWarning(fmt.Sprintf(format, args...))
}

func (c *compiler) addWarning(w string) {
	if c.recWarn != nil {
		*c.recWarn = append(*c.recWarn, w)
	}
	for _, x := range c.rs.Warnings {
		if x == w {
			return
		}
	}
	c.rs.Warnings = append(c.rs.Warnings, w)
}

func (c *compiler) run() {
	h := c.h
	c.failClosed = map[string]bool{}
	seen := make(map[string]bool, len(h.Ports))
	devs := make(map[string][]string, len(h.Ports))
	c.ports = make([]*Port, 0, len(h.Ports))
	for i := range h.Ports {
		p := &h.Ports[i]
		if seen[p.ID] {
			c.warn("port %s listed twice, first kept", p.ID)
			continue
		}
		seen[p.ID] = true
		c.ports = append(c.ports, p)
		devs[p.Dev()] = append(devs[p.Dev()], p.ID)
		if p.FailClosed {
			c.failClosed[p.ID] = true
		}
	}
	for _, dev := range sortedKeys(devs) {
		if ids := devs[dev]; len(ids) > 1 {
			c.warn("ports %s share device %s: all fail closed", strings.Join(ids, ", "), dev)
			for _, id := range ids {
				c.failClosed[id] = true
			}
		}
	}
	slices.SortStableFunc(c.ports, func(a, b *Port) int {
		if c := strings.Compare(a.Dev(), b.Dev()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	portIDs := make([]string, 0, len(c.ports))
	for _, p := range c.ports {
		portIDs = append(portIDs, p.ID)
	}
	c.portKey = c.portKeysOf(portIDs)
	// Groups used by filtered ports, in id order.
	used := map[string]bool{}
	for _, p := range c.ports {
		if !p.Filtered() || c.failClosed[p.ID] {
			continue
		}
		for _, id := range p.SecurityGroups {
			if h.Groups[id] == nil {
				c.warn("port %s: security group %s unknown, left out", p.ID, id)
				continue
			}
			used[id] = true
		}
	}
	groups := sortedKeys(used)
	c.groupKey = uniqueKeys(groups, 10)
	// Set names: every remote group and address group a used group's
	// rules reference.
	var remote, addr []string
	for _, id := range groups {
		for _, r := range h.Groups[id].Rules {
			if r.RemoteGroupID != nil && *r.RemoteGroupID != "" {
				remote = append(remote, *r.RemoteGroupID)
			}
			if r.RemoteAddressGroupID != nil && *r.RemoteAddressGroupID != "" {
				addr = append(addr, *r.RemoteAddressGroupID)
			}
		}
	}
	c.setNames = map[string]string{}
	for id, k := range uniqueKeys(remote, MaxSetNameLen-len(ChainPrefix)-1) {
		c.setNames["g|"+id] = k
	}
	for id, k := range uniqueKeys(addr, MaxSetNameLen-len(ChainPrefix)-2) {
		c.setNames["a|"+id] = k
	}
	zones := c.zones()
	for _, f := range []Family{IPv4, IPv6} {
		c.filter(f, groups)
		c.raw(f, zones)
	}
	c.baseWarns = len(c.rs.Warnings)
	c.buildSets()
	c.rs.Zones = zones
	c.rs.Ports = make([]PortInfo, 0, len(c.ports))
	for _, p := range c.ports {
		info := PortInfo{ID: p.ID, Device: p.Dev(), NetworkID: p.NetworkID, FailClosed: c.failClosed[p.ID]}
		if p.Filtered() && !info.FailClosed {
			info.Filtered, info.Stateless = true, c.stateless(p)
			info.Zone = zones[p.NetworkID]
			info.Ingress, info.Egress, info.Spoof, info.Dest = c.ingress(p), c.egress(p), c.spoof(p), c.dest(p)
		}
		c.rs.Ports = append(c.rs.Ports, info)
	}
	for _, f := range []Family{IPv4, IPv6} {
		for _, t := range []Table{Filter, Raw} {
			tr := c.rs.Tables[f][t]
			var prev *TableRules
			if c.memo != nil && c.memo.last != nil {
				prev = c.memo.last.Tables[f][t]
			}
			var prevChains []Chain
			if prev != nil {
				prevChains = prev.Chains
			}
			tr.Chains = c.sortChainsMemo(f, t, tr.Chains, prevChains)
			if prev != nil && len(prev.Chains) == len(tr.Chains) && (len(tr.Chains) == 0 || &prev.Chains[0] == &tr.Chains[0]) && slices.Equal(prev.Hooks, tr.Hooks) {
				c.rs.Tables[f][t] = prev // unchanged: the very table the last call returned
			}
		}
	}
}

// sortChains returns the chains sorted by name, stably: it sorts
// indices (ties broken by position), then moves each chain once.
func sortChains(chains []Chain) []Chain {
	idx := sortIndex(chains)
	out := make([]Chain, len(chains))
	for i, j := range idx {
		out[i] = chains[j]
	}
	return out
}

// sortIndex returns the positions of chains in name order, stably.
func sortIndex(chains []Chain) []int {
	idx := make([]int, len(chains))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := strings.Compare(chains[a].Name, chains[b].Name); c != 0 {
			return c
		}
		return a - b
	})
	return idx
}

// zones allocates one conntrack zone per network with filtered ports:
// the zone already in the kernel (HostState.Zones) if it has one, else
// the lowest free zone from FirstZone, networks taken in id order.
func (c *compiler) zones() map[string]uint16 {
	nets := map[string]bool{}
	for _, p := range c.ports {
		if p.Filtered() && !c.failClosed[p.ID] {
			nets[p.NetworkID] = true
		}
	}
	ids := sortedKeys(nets)
	out := map[string]uint16{}
	taken := map[uint16]bool{}
	for _, id := range ids {
		if z, ok := c.h.Zones[id]; ok && z != 0 && !taken[z] {
			out[id], taken[z] = z, true
		}
	}
	next := uint16(FirstZone)
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		for taken[next] {
			next++
		}
		out[id], taken[next] = next, true
	}
	return out
}

// stateless reports whether a port's traffic is left untracked: only when
// every one of its (known) groups is stateless. Neutron looks at the first
// group only; its API refuses mixing, Bulwark's does not (yet), and a
// tracked port is what a stateful group needs.
func (c *compiler) stateless(p *Port) bool {
	n := 0
	for _, id := range p.SecurityGroups {
		g := c.h.Groups[id]
		if g == nil {
			continue
		}
		if g.Stateful {
			return false
		}
		n++
	}
	return n > 0
}

func (c *compiler) raw(f Family, zones map[string]uint16) {
	t := c.rs.Tables[f][Raw]
	t.Hooks = append(t.Hooks,
		Hook{BuiltinChain: "PREROUTING", Rule: Rule{Target: ChainPrerouting, Comment: CommentHook}},
		Hook{BuiltinChain: "OUTPUT", Rule: Rule{Target: ChainOutput, Comment: CommentHook}})
	t.Chains = append(t.Chains, c.memoChain(f, Raw, Chain{Name: ChainPrerouting, Rules: []Rule{
		{Target: ChainNotrack, Comment: CommentDispatch},
		{Target: ChainZone, Comment: CommentDispatch},
	}}))
	notrack := Chain{Name: ChainNotrack, Unordered: true}
	for _, p := range c.ports {
		if p.Filtered() && !c.failClosed[p.ID] && c.stateless(p) {
			notrack.Rules = append(notrack.Rules, Rule{
				Match:   "-m physdev --physdev-in " + p.Dev(),
				Target:  "CT --notrack",
				Comment: comment(CommentNotrack, p.ID),
			})
		}
	}
	zone := Chain{Name: ChainZone, Unordered: true}
	out := Chain{Name: ChainOutput, Unordered: true}
	for _, id := range sortedKeys(zones) {
		z := strconv.Itoa(int(zones[id]))
		br := c.h.bridge(id)
		zone.Rules = append(zone.Rules, Rule{Match: "-i " + br, Target: "CT --zone " + z, Comment: comment(CommentZone, id)})
		out.Rules = append(out.Rules, Rule{Match: "-o " + br, Target: "CT --zone " + z, Comment: comment(CommentZone, id)})
	}
	t.Chains = append(t.Chains, c.memoChain(f, Raw, notrack), c.memoChain(f, Raw, zone), c.memoChain(f, Raw, out))
}

func hex(v uint32) string { return "0x" + strconv.FormatUint(uint64(v), 16) }

// The mark targets and matches, spelled as iptables-save prints them.
var (
	targetMarkManagedReset = "MARK --set-xmark " + hex(MarkManaged) + "/" + hex(markMask)
	targetMarkManaged      = "MARK --set-xmark " + hex(MarkManaged) + "/" + hex(MarkManaged)
	targetMarkAccept       = "MARK --set-xmark " + hex(MarkAccept) + "/" + hex(MarkAccept)
	targetMarkClear        = "MARK --set-xmark 0x0/" + hex(markAll)
	targetMarkSourceOK     = "MARK --set-xmark " + hex(MarkSourceChecked) + "/" + hex(MarkSourceChecked)
	matchMarkSourceOK      = "-m mark --mark " + hex(MarkSourceChecked) + "/" + hex(MarkSourceChecked)
	matchMarkAccept        = "-m mark --mark " + hex(MarkAccept) + "/" + hex(MarkAccept)
	matchMarkManaged       = "-m mark --mark " + hex(MarkManaged) + "/" + hex(MarkManaged)
)

func (c *compiler) filter(f Family, groups []string) {
	t := c.rs.Tables[f][Filter]
	t.Hooks = append(t.Hooks,
		Hook{BuiltinChain: "INPUT", Rule: Rule{Target: ChainInput, Comment: CommentHook}},
		Hook{BuiltinChain: "FORWARD", Rule: Rule{Target: ChainForward, Comment: CommentHook}})
	t.Chains = append(t.Chains,
		c.memoChain(f, Filter, Chain{Name: ChainForward, Rules: []Rule{
			{Match: "-m physdev ! --physdev-is-bridged", Target: "RETURN", Comment: CommentNotBridged},
			{Target: targetMarkClear, Comment: CommentMarkReset},
			{Target: ChainFromPort, Comment: CommentDispatch},
			{Target: ChainToPort, Comment: CommentDispatch},
			{Match: matchMarkManaged, Target: "ACCEPT", Comment: CommentAccept},
		}}),
		c.memoChain(f, Filter, Chain{Name: ChainAccept, Rules: []Rule{
			{Target: targetMarkAccept, Comment: CommentSGAccept},
		}}),
		c.memoChain(f, Filter, Chain{Name: ChainFallback, Rules: []Rule{{Target: "DROP", Comment: CommentFallback}}}),
	)
	from := Chain{Name: ChainFromPort, Unordered: true, Rules: make([]Rule, 0, len(c.ports))}
	to := Chain{Name: ChainToPort, Unordered: true, Rules: make([]Rule, 0, len(c.ports))}
	input := Chain{Name: ChainInput, Unordered: true, Rules: make([]Rule, 0, len(c.ports))}
	t.Chains = append(c.chainsBuffer(f, Filter, 6+5*len(c.ports)+2*len(groups)), t.Chains...)
	for _, p := range c.ports {
		dev := p.Dev()
		if c.failClosed[p.ID] {
			// Everything to and from the port, and from it to the host,
			// goes to the drop-all fallback; no chain of its own is needed.
			fc := comment(CommentFailClosed, p.ID)
			from.Rules = append(from.Rules, Rule{Match: "-m physdev --physdev-in " + dev, Target: ChainFallback, Goto: true, Comment: fc})
			to.Rules = append(to.Rules, Rule{Match: "-m physdev --physdev-out " + dev, Target: ChainFallback, Goto: true, Comment: fc})
			input.Rules = append(input.Rules, Rule{Match: "-m physdev --physdev-in " + dev, Target: ChainFallback, Goto: true, Comment: fc})
			continue
		}
		if !p.Filtered() {
			kind := CommentPortSecOff
			if p.Trusted {
				kind = CommentTrusted
			}
			m := Rule{Target: targetMarkManaged, Comment: comment(kind, p.ID)}
			m.Match = "-m physdev --physdev-in " + dev
			from.Rules = append(from.Rules, m)
			m.Match = "-m physdev --physdev-out " + dev
			to.Rules = append(to.Rules, m)
			continue
		}
		n := c.names(p)
		from.Rules = append(from.Rules, n.from)
		to.Rules = append(to.Rules, n.to)
		input.Rules = append(input.Rules, n.input)
		t.Chains = append(t.Chains, c.memoPortChains(p, f)...)
	}
	t.Chains = append(t.Chains, c.memoChain(f, Filter, from), c.memoChain(f, Filter, to), c.memoChain(f, Filter, input))
	for _, id := range groups {
		g := c.h.Groups[id]
		for _, dir := range []string{"ingress", "egress"} {
			t.Chains = append(t.Chains, c.memoGroupChain(g, dir, f))
		}
	}
}

func (c *compiler) ingress(p *Port) string { return c.names(p).in }
func (c *compiler) egress(p *Port) string  { return c.names(p).out }
func (c *compiler) spoof(p *Port) string   { return c.names(p).spoof }
func (c *compiler) dest(p *Port) string    { return c.names(p).dest }

func (c *compiler) groupChainName(id, dir string, f Family) string {
	k := id + "|" + dir + "|" + strconv.Itoa(int(f))
	if n, ok := c.chainNames[k]; ok {
		return n
	}
	n := GroupChain(c.groupKey[id], dir, f)
	c.chainNames[k] = n
	return n
}

// fixed returns a port's fixed IPs of one family.
func (c *compiler) fixed(p *Port, f Family) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range p.FixedIPs {
		pr, ok := parseAddr(s)
		if !ok || !pr.IsSingleIP() {
			c.warn("port %s: fixed IP %q unusable, left out", p.ID, s)
			continue
		}
		if family(pr) == f {
			out = append(out, pr)
		}
	}
	return out
}

func family(p netip.Prefix) Family {
	if p.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

// normMAC returns a MAC in the lower-case colon form iptables-save prints.
func normMAC(s string) (string, bool) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", false
	}
	return hw.String(), true
}

// LinkLocal is the EUI-64 IPv6 link-local address of a MAC.
func LinkLocal(mac string) (netip.Addr, bool) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return netip.Addr{}, false
	}
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	b[8], b[9], b[10] = hw[0]^0x02, hw[1], hw[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = hw[3], hw[4], hw[5]
	return netip.AddrFrom16(b), true
}

// AllowEntry is one (MAC, source) pair a port may send from.
type AllowEntry struct {
	MAC    string
	Prefix netip.Prefix // invalid means any source (port without fixed IPs)
	Kind   string       // CommentFixedIP, CommentAddressPair, CommentLinkLocal, CommentMACOnly
}

// AllowList is the anti-spoofing allow list of a port for one family, in
// chain order: address pairs first (in the port's order), then fixed IPs;
// in IPv6 the link-local address of a MAC right after that MAC's first
// IPv6 pair, and (unlike Neutron) the link-local of the port's own MAC in
// every case. A port without fixed IPs may send any address from its MAC.
func (c *compiler) allowList(p *Port, f Family) []AllowEntry {
	var out []AllowEntry
	seen := map[string]bool{}
	add := func(e AllowEntry) {
		k := e.MAC + "|" + e.Prefix.String()
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, e)
		if f == IPv6 && e.Kind != CommentLinkLocal && e.Prefix.IsValid() {
			if ll, ok := LinkLocal(e.MAC); ok {
				llp := netip.PrefixFrom(ll, 128)
				if k := e.MAC + "|" + llp.String(); !seen[k] {
					seen[k] = true
					out = append(out, AllowEntry{MAC: e.MAC, Prefix: llp, Kind: CommentLinkLocal})
				}
			}
		}
	}
	portMAC, macOK := normMAC(p.MAC)
	if !macOK {
		c.warn("port %s: MAC %q unusable: the port may not send from any address", p.ID, p.MAC)
	}
	for _, ap := range p.AddressPairs {
		pr, ok := parseAddr(ap.IPAddress)
		mac, mok := normMAC(ap.MACAddress)
		if ap.MACAddress == "" {
			mac, mok = portMAC, macOK
		}
		if !ok || !mok {
			c.warn("port %s: address pair %q %q unusable, left out", p.ID, ap.IPAddress, ap.MACAddress)
			continue
		}
		if family(pr) == f {
			add(AllowEntry{MAC: mac, Prefix: pr, Kind: CommentAddressPair})
		}
	}
	if !macOK {
		return out
	}
	for _, pr := range c.fixed(p, f) {
		add(AllowEntry{MAC: portMAC, Prefix: pr, Kind: CommentFixedIP})
	}
	if len(p.FixedIPs) == 0 {
		add(AllowEntry{MAC: portMAC, Kind: CommentMACOnly})
		return out
	}
	if f == IPv6 {
		if ll, ok := LinkLocal(portMAC); ok {
			llp := netip.PrefixFrom(ll, 128)
			if !seen[portMAC+"|"+llp.String()] {
				add(AllowEntry{MAC: portMAC, Prefix: llp, Kind: CommentLinkLocal})
			}
		}
	}
	return out
}

// AllowList returns a port's anti-spoofing allow list for one family as
// Compile writes it into the port's spoof chain.
func AllowList(h *HostState, p *Port, f Family) []AllowEntry {
	c := &compiler{h: h, rs: NewRuleset()}
	return c.allowList(p, f)
}

func srcMatch(p netip.Prefix, opt string) string {
	if !p.IsValid() || p.Bits() == 0 {
		return ""
	}
	return opt + " " + p.String() + " "
}

func (c *compiler) portChains(p *Port, f Family) []Chain {
	// Built in scratch slices reused from port to port, then packed into
	// one exact allocation (packRules): the port chains are most of what
	// an agent keeps, and growing slices leave up to half of them empty.
	in := Chain{Name: c.ingress(p), Rules: c.ruleScratch[0][:0]}
	out := Chain{Name: c.egress(p), Rules: c.ruleScratch[1][:0]}
	spoof := Chain{Name: c.spoof(p), Rules: c.ruleScratch[2][:0]}
	dest := Chain{Name: c.dest(p), Rules: c.ruleScratch[3][:0]}
	ret := func(ch *Chain, match, cm string) {
		ch.Rules = append(ch.Rules, Rule{Match: match, Target: "RETURN", Comment: cm})
	}
	drop := func(ch *Chain, match, cm string) {
		ch.Rules = append(ch.Rules, Rule{Match: match, Target: "DROP", Comment: cm})
	}
	managed := Rule{Target: targetMarkManagedReset, Comment: CommentManaged}
	state := "-m state --state RELATED,ESTABLISHED"
	invalid := "-m state --state INVALID"
	fixed := c.fixed(p, f)
	allow := c.allowList(p, f)
	// The MACs the port may send from, in allow-list order.
	var macs []string
	for _, e := range allow {
		if !slices.Contains(macs, e.MAC) {
			macs = append(macs, e.MAC)
		}
	}
	var dhcp, routers []ServicePort
	if nw := c.h.Networks[p.NetworkID]; nw != nil {
		dhcp, routers = nw.DHCP, nw.Routers
	}
	// A stateless port's own packets are untracked; the packets sent to it
	// still pass conntrack (one pass per bridge), so its chains must not
	// accept on conntrack state: every packet has to match a rule.
	stateful := !c.stateless(p)

	// Ingress: to the VM. Neighbour discovery first (it is not tracked),
	// then conntrack state: INVALID is dropped before anything else can
	// accept it (a SYN+FIN, an unsolicited reply). Then the destination
	// must be one of the port's addresses, multicast or broadcast.
	in.Rules = append(in.Rules, managed)
	if f == IPv6 {
		for _, t := range []int{130, 135, 136} {
			ret(&in, "-p ipv6-icmp -m icmp6 --icmpv6-type "+strconv.Itoa(t), CommentICMPv6ND)
		}
	}
	if stateful {
		ret(&in, state, CommentState)
		drop(&in, invalid, CommentInvalid)
	}
	in.Rules = append(in.Rules, Rule{Target: dest.Name, Comment: CommentDestCheck})
	// DHCP replies and router advertisements only from the network's own
	// DHCP and router ports (their address and MAC), on any host.
	if f == IPv4 {
		for _, sp := range dhcp {
			mac, ok := normMAC(sp.MAC)
			if !ok {
				continue
			}
			for _, a := range c.serviceIPs(sp, f) {
				ret(&in, "-s "+a.String()+" -p udp -m udp --sport 67 --dport 68 -m mac --mac-source "+mac, CommentDHCP)
			}
		}
	} else if len(fixed) > 0 {
		for _, sp := range routers {
			mac, ok := normMAC(sp.MAC)
			ll, llok := LinkLocal(sp.MAC)
			if !ok || !llok {
				continue
			}
			ret(&in, "-s "+netip.PrefixFrom(ll, 128).String()+" -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m mac --mac-source "+mac, CommentICMPv6RA)
		}
		for _, sp := range dhcp {
			mac, ok := normMAC(sp.MAC)
			ll, llok := LinkLocal(sp.MAC)
			if !ok || !llok {
				continue
			}
			for _, a := range append(c.serviceIPs(sp, f), netip.PrefixFrom(ll, 128)) {
				ret(&in, "-s "+a.String()+" -p udp -m udp --sport 547 --dport 546 -m mac --mac-source "+mac, CommentDHCP)
			}
		}
	}
	c.groupJumps(&in, p, "ingress", f)
	in.Rules = append(in.Rules, Rule{Target: ChainFallback, Comment: CommentFallback})

	// Egress: from the VM. DHCP DISCOVER and DAD come before the address
	// check (the VM has no address yet), but only from the port's MACs.
	out.Rules = append(out.Rules, managed)
	for _, mac := range macs {
		if f == IPv4 {
			ret(&out, "-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -m mac --mac-source "+mac, CommentDHCP)
			continue
		}
		for _, t := range []int{131, 135, 143} {
			ret(&out, "-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type "+strconv.Itoa(t)+" -m mac --mac-source "+mac, CommentICMPv6ND)
		}
	}
	out.Rules = append(out.Rules, Rule{Target: spoof.Name, Comment: CommentAntiSpoof})
	out.Rules = append(out.Rules, Rule{Target: targetMarkSourceOK, Comment: CommentSourceOK})
	if f == IPv4 {
		ret(&out, "-p udp -m udp --sport 68 --dport 67", CommentDHCP)
		drop(&out, "-p udp -m udp --sport 67 --dport 68", CommentDHCPSpoof)
	} else {
		drop(&out, "-p ipv6-icmp -m icmp6 --icmpv6-type 134", CommentRASpoof)
		// Neighbour discovery, router solicitation and MLD reports; every
		// other ICMPv6 type is up to the egress rules.
		for _, t := range []int{131, 132, 133, 135, 136, 143} {
			ret(&out, "-p ipv6-icmp -m icmp6 --icmpv6-type "+strconv.Itoa(t), CommentICMPv6ND)
		}
		ret(&out, "-p udp -m udp --sport 546 --dport 547", CommentDHCP)
		drop(&out, "-p udp -m udp --sport 547 --dport 546", CommentDHCPSpoof)
	}
	if stateful {
		ret(&out, state, CommentState)
		drop(&out, invalid, CommentInvalid)
	}
	c.groupJumps(&out, p, "egress", f)
	out.Rules = append(out.Rules, Rule{Target: ChainFallback, Comment: CommentFallback})

	// Anti-spoofing. The pairs sent from the port's own MAC are one set
	// (PairSetName), matched where the first of them would be.
	portMAC, _ := normMAC(p.MAC)
	inSet := func(e AllowEntry) bool { return e.Kind == CommentAddressPair && e.MAC == portMAC && e.Prefix.IsValid() }
	pairSet := ""
	var pairs []string
	for _, e := range allow {
		if inSet(e) {
			pairs = append(pairs, e.Prefix.String())
		}
	}
	if len(pairs) > 0 {
		pairSet = PairSetName(c.portKey[p.ID], f)
		c.addPairSet(setRef{name: pairSet, f: f, id: p.ID, port: true}, pairs)
	}
	setDone := false
	for _, e := range allow {
		if inSet(e) {
			if !setDone {
				setDone = true
				ret(&spoof, "-m mac --mac-source "+portMAC+" -m set --match-set "+pairSet+" src", CommentAddressPairs+" "+portMAC)
			}
			continue
		}
		cm := e.Kind + " " + e.MAC
		if e.Kind != CommentMACOnly {
			cm = e.Kind + " " + prefixText(e.Prefix) + " " + e.MAC
		}
		ret(&spoof, strings.TrimSpace(srcMatch(e.Prefix, "-s")+"-m mac --mac-source "+e.MAC), cm)
	}
	drop(&spoof, "", CommentAntiSpoof)

	// Destination check: the addresses the port may send from are the
	// ones it may receive on (a VIP only where it is an address pair),
	// plus multicast (VRRP) and broadcast.
	seen := map[netip.Prefix]bool{}
	setDone = false
	for _, e := range allow {
		if inSet(e) {
			if !setDone {
				setDone = true
				ret(&dest, "-m set --match-set "+pairSet+" dst", CommentDest+" "+CommentAddressPairs)
			}
			continue
		}
		if !e.Prefix.IsValid() {
			if !seen[netip.Prefix{}] {
				seen[netip.Prefix{}] = true
				ret(&dest, "", CommentDest+" any")
			}
			continue
		}
		if seen[e.Prefix] {
			continue
		}
		seen[e.Prefix] = true
		ret(&dest, strings.TrimSpace(srcMatch(e.Prefix, "-d")), CommentDest+" "+e.Kind+" "+prefixText(e.Prefix))
	}
	if f == IPv4 {
		ret(&dest, "-d 224.0.0.0/4", CommentDest+" multicast")
		// Limited broadcast also in a link-layer unicast frame (some DHCP
		// servers send an OFFER that way), and any link-layer broadcast
		// (a subnet-directed broadcast).
		ret(&dest, "-d 255.255.255.255/32", CommentDest+" broadcast")
		ret(&dest, "-m pkttype --pkt-type broadcast", CommentDest+" broadcast")
	} else {
		ret(&dest, "-d ff00::/8", CommentDest+" multicast")
	}
	drop(&dest, "", CommentDestCheck)
	chains := []Chain{in, out, spoof, dest}
	for i := range chains {
		c.ruleScratch[i] = chains[i].Rules[:0]
	}
	packRules(chains)
	return chains
}

// packRules moves the chains' rules into one array of exactly their
// total length, each chain's slice capped at its own end (an append to
// one can never write into the next).
func packRules(chains []Chain) {
	total := 0
	for _, ch := range chains {
		total += len(ch.Rules)
	}
	all := make([]Rule, total)
	at := 0
	for i := range chains {
		n := copy(all[at:], chains[i].Rules)
		chains[i].Rules = all[at : at+n : at+n]
		at += n
	}
}

// serviceIPs returns a network service port's host addresses of a family.
func (c *compiler) serviceIPs(sp ServicePort, f Family) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range sp.FixedIPs {
		if pr, ok := parseAddr(s); ok && pr.IsSingleIP() && family(pr) == f {
			out = append(out, pr)
		}
	}
	return out
}

// prefixText prints a host prefix as a bare address, a network as CIDR.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func (c *compiler) groupJumps(ch *Chain, p *Port, dir string, f Family) {
	seen := map[string]bool{}
	for _, id := range p.SecurityGroups {
		if seen[id] || c.h.Groups[id] == nil {
			continue
		}
		seen[id] = true
		ch.Rules = append(ch.Rules,
			Rule{Target: c.groupChainName(id, dir, f), Comment: comment(CommentSG, id)},
			Rule{Match: matchMarkAccept, Target: "RETURN", Comment: comment(CommentSGAccepted, id)})
	}
}

func ethertype(f Family) string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

func (c *compiler) groupChain(g *SecurityGroup, dir string, f Family) Chain {
	ch := Chain{Name: c.groupChainName(g.ID, dir, f)}
	for i := range g.Rules {
		r := &g.Rules[i]
		if r.Direction != dir || r.Ethertype != ethertype(f) {
			continue
		}
		m, err := c.ruleMatch(r, f)
		if err != nil {
			c.warn("security group %s rule %s: %v, left out", g.ID, r.ID, err)
			continue
		}
		cm := comment(CommentSGRule, r.ID)
		if dir == "ingress" && r.RemoteGroupID != nil && *r.RemoteGroupID != "" {
			// A member's source address is trusted to the anti-spoofing
			// of the host it lives on. For members on this host that is
			// this host: their addresses (LocalSetName) count only with
			// MarkSourceChecked, set after the sender's own spoof chain,
			// so a frame from the uplink cannot claim one.
			local := LocalSetName(f)
			c.addSet(setRef{name: local, f: f, local: true})
			ch.Rules = append(ch.Rules,
				Rule{Match: m + " -m set ! --match-set " + local + " src", Target: ChainAccept, Goto: true, Comment: cm},
				Rule{Match: m + " " + matchMarkSourceOK, Target: ChainAccept, Goto: true, Comment: cm})
			continue
		}
		ch.Rules = append(ch.Rules, Rule{Match: m, Target: ChainAccept, Goto: true, Comment: cm})
	}
	return ch
}

// portModules are the protocols whose port match module has their name.
var portModules = map[int]string{model.ProtoTCP: "tcp", model.ProtoUDP: "udp", model.ProtoSCTP: "sctp", model.ProtoDCCP: "dccp"}

// ruleMatch translates a security-group rule into iptables match options,
// in the order iptables-save prints them: address, protocol, protocol
// module and ports (or ICMP type), set.
func (c *compiler) ruleMatch(r *model.SecurityGroupRule, f Family) (string, error) {
	var parts []string
	addrOpt, setDir := "-s", "src"
	if r.Direction == "egress" {
		addrOpt, setDir = "-d", "dst"
	}
	cidr := r.NormalizedCIDR
	if cidr == nil {
		cidr = r.RemoteIPPrefix
	}
	if cidr != nil && *cidr != "" {
		pr, ok := parseAddr(*cidr)
		if !ok {
			return "", fmt.Errorf("remote_ip_prefix %q unusable", *cidr)
		}
		if family(pr) != f {
			return "", fmt.Errorf("remote_ip_prefix %q is not %s", *cidr, ethertype(f))
		}
		if pr.Bits() > 0 {
			parts = append(parts, addrOpt, pr.String())
		}
	}
	n := model.ProtocolNumber(r.Protocol)
	if r.Protocol != nil && *r.Protocol != "" && n < 0 {
		return "", fmt.Errorf("protocol %q unknown", *r.Protocol)
	}
	if f == IPv6 && n == model.ProtoICMP {
		n = model.ProtoICMPv6
	}
	if n > 255 {
		return "", fmt.Errorf("protocol %d out of range", n)
	}
	if n > 0 {
		parts = append(parts, "-p", ProtocolName(n))
	}
	lo, hi := r.PortRangeMin, r.PortRangeMax
	switch {
	case model.HasPorts(n) && (lo != nil || hi != nil):
		a, b := 1, 65535
		if lo != nil {
			a = *lo
		}
		if hi != nil {
			b = *hi
		} else {
			b = a
		}
		if a > b || a < 0 || b > 65535 {
			return "", fmt.Errorf("port range %d-%d invalid", a, b)
		}
		mod, ok := portModules[n]
		switch {
		case ok && a == b:
			parts = append(parts, "-m", mod, "--dport", strconv.Itoa(a))
		case ok:
			parts = append(parts, "-m", mod, "-m", "multiport", "--dports", fmt.Sprintf("%d:%d", a, b))
		case a == b:
			parts = append(parts, "-m", "multiport", "--dports", strconv.Itoa(a))
		default:
			parts = append(parts, "-m", "multiport", "--dports", fmt.Sprintf("%d:%d", a, b))
		}
	case (n == model.ProtoICMP || n == model.ProtoICMPv6) && lo != nil:
		mod, opt := "icmp", "--icmp-type"
		if n == model.ProtoICMPv6 {
			mod, opt = "icmp6", "--icmpv6-type"
		}
		if *lo < 0 || *lo > 255 || (hi != nil && (*hi < 0 || *hi > 255)) {
			return "", fmt.Errorf("icmp type/code %v/%v invalid", *lo, hi)
		}
		v := strconv.Itoa(*lo)
		if hi != nil {
			v += "/" + strconv.Itoa(*hi)
		}
		parts = append(parts, "-m", mod, opt, v)
	}
	if r.RemoteGroupID != nil && *r.RemoteGroupID != "" {
		name := GroupSetName(c.setNames["g|"+*r.RemoteGroupID], f)
		c.addSet(setRef{name: name, f: f, id: *r.RemoteGroupID})
		parts = append(parts, "-m", "set", "--match-set", name, setDir)
	}
	if r.RemoteAddressGroupID != nil && *r.RemoteAddressGroupID != "" {
		name := AddressGroupSetName(c.setNames["a|"+*r.RemoteAddressGroupID], f)
		c.addSet(setRef{name: name, f: f, id: *r.RemoteAddressGroupID, address: true})
		parts = append(parts, "-m", "set", "--match-set", name, setDir)
	}
	return strings.Join(parts, " "), nil
}

// buildSets fills every set a group chain references. Members are the
// addresses of one family, masked, without duplicates, in address order;
// a /0 is stored as two /1 (hash:net cannot hold a /0, as Neutron does).
func (c *compiler) buildSets() {
	for _, name := range sortedKeys(c.sets) {
		ref := c.sets[name]
		src := c.h.Members[ref.id]
		switch {
		case ref.address:
			src = c.h.AddressGroups[ref.id]
		case ref.local:
			src = c.localAddrs()
		case ref.port:
			src = c.pairMembers[ref.name]
		}
		c.rs.Sets = append(c.rs.Sets, c.memoSet(ref, src))
	}
}

// addPairSet declares a port's pair set with its members.
func (c *compiler) addPairSet(r setRef, members []string) {
	c.addSet(r)
	if c.pairMembers == nil {
		c.pairMembers = map[string][]string{}
	}
	c.pairMembers[r.name] = members
	if c.recPairs != nil {
		if *c.recPairs == nil {
			*c.recPairs = map[string][]string{}
		}
		(*c.recPairs)[r.name] = members
	}
}

// localAddrs are the host addresses (fixed IPs, single-address pairs) of
// the filtered ports bound to this host. CIDR pairs are left out: a port
// routing for a prefix must not make every remote member of that prefix
// "local" (and so unacceptable from the uplink).
func (c *compiler) localAddrs() []string {
	var out []string
	for _, p := range c.ports {
		if !p.Filtered() {
			continue
		}
		out = append(out, p.FixedIPs...)
		for _, ap := range p.AddressPairs {
			if pr, ok := parseAddr(ap.IPAddress); ok && pr.IsSingleIP() {
				out = append(out, ap.IPAddress)
			}
		}
	}
	return out
}

// buildSet computes one set from its source addresses.
func (c *compiler) buildSet(ref setRef, src []string) IPSet {
	name, what := ref.name, "remote group"
	switch {
	case ref.address:
		what = "address group"
	case ref.local:
		what = "local addresses"
	case ref.port:
		what = "address pairs of port"
	}
	{
		// Duplicates go after sorting: a map of thousands of members
		// for every rebuilt set is garbage the agent's peak pays for.
		members := make([]netip.Prefix, 0, len(src))
		add := func(p netip.Prefix) { members = append(members, p) }
		for _, s := range src {
			p, ok := parseAddr(s)
			if !ok {
				c.warn("%s %s: member %q unusable, left out", what, ref.id, s)
				continue
			}
			if family(p) != ref.f {
				continue
			}
			if p.Bits() == 0 {
				lo := netip.PrefixFrom(p.Addr(), 1)
				hiAddr := p.Addr().As16()
				if p.Addr().Is4() {
					a4 := p.Addr().As4()
					a4[0] = 0x80
					add(lo)
					add(netip.PrefixFrom(netip.AddrFrom4(a4), 1))
					continue
				}
				hiAddr[0] = 0x80
				add(lo)
				add(netip.PrefixFrom(netip.AddrFrom16(hiAddr), 1))
				continue
			}
			add(p)
		}
		slices.SortFunc(members, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		members = slices.Compact(members)
		set := IPSet{Name: name, Family: ref.f, Members: make([]string, 0, len(members))}
		for _, m := range members {
			set.Members = append(set.Members, prefixText(m))
		}
		return set
	}
}
