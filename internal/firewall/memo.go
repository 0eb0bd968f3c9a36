package firewall

import (
	"slices"
	"strconv"
	"sync"

	"github.com/bulwark-net/bulwark/internal/model"
)

// Compiler is a memoizing Compile: its Compile returns exactly what the
// package-level Compile returns for the same state, but reuses from its
// previous call every port chain, group chain and set whose inputs are
// equal by value, so that a small change costs little more than the
// pieces it touches. Reused chains keep the same Rules slice, which lets
// an applier skip comparing them (Ruleset.ImmutableRules).
//
// The zero value is ready to use. Rulesets it returns share slices with
// each other: callers must not modify them. A Compiler is safe for
// concurrent use, though calls are serialized.
type Compiler struct {
	mu     sync.Mutex
	ports  map[portMemoKey]*portMemo
	groups map[string]*groupMemo
	sets   map[string]*setMemo
	chains map[chainMemoKey][]Rule
	names  map[portNamesKey]*portNames
	sorted map[chainMemoKey]*sortMemo
	// scratch holds a table's chains before sorting (the sorted copy is
	// what a ruleset keeps), reused from call to call.
	scratch map[chainMemoKey][]Chain
	// portKeyIDs and portKeys: the last uniqueKeys of the port ids.
	portKeyIDs []string
	portKeys   map[string]string
	// The entries used by the current call; they replace the maps above
	// when it ends, so that entries of objects gone are dropped.
	nextPorts  map[portMemoKey]*portMemo
	nextGroups map[string]*groupMemo
	nextSets   map[string]*setMemo
	nextChains map[chainMemoKey][]Rule
	nextNames  map[portNamesKey]*portNames
	// spare*: the maps of the call before last, cleared and refilled as
	// next* (a compile of thousands of ports allocates no new maps).
	sparePorts  map[portMemoKey]*portMemo
	spareGroups map[string]*groupMemo
	spareSets   map[string]*setMemo
	spareChains map[chainMemoKey][]Rule
	spareNames  map[portNamesKey]*portNames
	kb          []byte
	// last is the ruleset of the last call, and lastSets the indexes in
	// its Sets of each remote group's sets: what UpdateMembers starts from.
	last     *Ruleset
	lastSets map[string][]int
	// lastBaseWarns: how many of last's warnings came before its sets'.
	lastBaseWarns int
}

// portNamesKey is everything a port's chain names and dispatch rules
// depend on.
type portNamesKey struct {
	id, dev, key string
}

// portNames are a port's chain names and the rules that send its traffic
// to them from the dispatch chains (the same in both families), built once
// and shared by every compile that keeps the port.
type portNames struct {
	in, out, spoof, dest string
	from, to, input      Rule
}

// sortMemo remembers how the last compile ordered a table's chains: when
// the next one produces the same names in the same order, the same
// permutation applies.
type sortMemo struct {
	names []string
	idx   []int
}

type portMemoKey struct {
	id string
	f  Family
}

type chainMemoKey struct {
	f    Family
	t    Table
	name string
}

type portMemo struct {
	sets   []setRef
	pairs  map[string][]string // members of its pair sets
	in     *portInputs
	chains []Chain
	warns  []string
}

type groupMemo struct {
	key   string
	chain Chain
	warns []string
	sets  []setRef
}

type setMemo struct {
	ref   setRef
	src   []string
	set   IPSet
	warns []string
}

// Compile turns a host state into the ruleset that enforces it, the same
// ruleset, rule for rule, as the package-level Compile.
func (m *Compiler) Compile(h *HostState) *Ruleset {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextPorts = reuseMap(m.sparePorts, len(m.ports))
	m.nextGroups = reuseMap(m.spareGroups, len(m.groups))
	m.nextSets = reuseMap(m.spareSets, len(m.sets))
	m.nextChains = reuseMap(m.spareChains, len(m.chains))
	m.nextNames = reuseMap(m.spareNames, len(m.names))
	if m.sorted == nil {
		m.sorted = map[chainMemoKey]*sortMemo{}
	}
	c := &compiler{h: h, rs: NewRuleset(), sets: map[string]setRef{}, chainNames: map[string]string{}, memo: m}
	c.run()
	m.sparePorts, m.spareGroups, m.spareSets, m.spareChains, m.spareNames = m.ports, m.groups, m.sets, m.chains, m.names
	m.ports, m.groups, m.sets, m.chains, m.names = m.nextPorts, m.nextGroups, m.nextSets, m.nextChains, m.nextNames
	m.nextPorts, m.nextGroups, m.nextSets, m.nextChains, m.nextNames = nil, nil, nil, nil, nil
	c.rs.ImmutableRules = true
	m.last, m.lastSets, m.lastBaseWarns = c.rs, map[string][]int{}, c.baseWarns
	for i, s := range c.rs.Sets {
		if e := m.sets[s.Name]; e != nil && e.ref.remoteGroup() {
			m.lastSets[e.ref.id] = append(m.lastSets[e.ref.id], i)
		}
	}
	return c.rs
}

// UpdateMembers is Compile for a host state that differs from the one of
// the last call only in the member lists (h.Members) of the remote groups
// listed: it rebuilds those groups' sets and shares everything else, the
// tables included (the same *TableRules), with the last ruleset, so that a
// membership change costs the same on a host of ten ports or of
// thousands. It falls back to Compile when it cannot be sure of the
// result: no previous call.
func (m *Compiler) UpdateMembers(h *HostState, groupIDs []string) *Ruleset {
	m.mu.Lock()
	rs, ok := m.updateMembers(h, groupIDs)
	m.mu.Unlock()
	if !ok {
		return m.Compile(h)
	}
	return rs
}

func (m *Compiler) updateMembers(h *HostState, groupIDs []string) (*Ruleset, bool) {
	if m.last == nil {
		return nil, false
	}
	type update struct {
		i int
		e *setMemo
	}
	var updates []update
	c := &compiler{h: h, rs: &Ruleset{}}
	setWarns := false
	for _, id := range groupIDs {
		for _, i := range m.lastSets[id] {
			old := m.sets[m.last.Sets[i].Name]
			src := h.Members[id]
			if slices.Equal(old.src, src) {
				continue
			}
			var warns []string
			c.recWarn = &warns
			set := c.buildSet(old.ref, src)
			setWarns = setWarns || len(warns) > 0 || len(old.warns) > 0
			updates = append(updates, update{i, &setMemo{ref: old.ref, src: slices.Clone(src), set: set, warns: warns}})
		}
	}
	rs := *m.last
	if len(updates) > 0 {
		rs.Sets = slices.Clone(rs.Sets)
		for _, u := range updates {
			rs.Sets[u.i] = u.e.set
			m.sets[u.e.set.Name] = u.e
		}
	}
	if setWarns {
		// The sets' warnings come last, in set order, each once (as
		// buildSets adds them).
		rs.Warnings = slices.Clone(m.last.Warnings[:m.lastBaseWarns])
		for _, s := range rs.Sets {
			for _, w := range m.sets[s.Name].warns {
				if !slices.Contains(rs.Warnings, w) {
					rs.Warnings = append(rs.Warnings, w)
				}
			}
		}
		if len(rs.Warnings) == 0 {
			rs.Warnings = nil
		}
	}
	m.last = &rs
	return &rs, true
}

func (c *compiler) addSet(r setRef) {
	if c.recSets != nil {
		*c.recSets = append(*c.recSets, r)
	}
	c.sets[r.name] = r
}

// keyBuf builds an unambiguous key: every string is length-prefixed.
type keyBuf []byte

func (k *keyBuf) str(s string) {
	*k = strconv.AppendInt(*k, int64(len(s)), 10)
	*k = append(*k, ':')
	*k = append(*k, s...)
}

func (k *keyBuf) num(n int) {
	*k = strconv.AppendInt(*k, int64(n), 10)
	*k = append(*k, ';')
}

func (k *keyBuf) flag(b bool) {
	if b {
		*k = append(*k, 'T')
	} else {
		*k = append(*k, 'F')
	}
}

func (k *keyBuf) pstr(s *string) {
	if s == nil {
		*k = append(*k, '-')
		return
	}
	*k = append(*k, '+')
	k.str(*s)
}

func (k *keyBuf) pint(n *int) {
	if n == nil {
		*k = append(*k, '-')
		return
	}
	*k = append(*k, '+')
	k.num(*n)
}

// portInputs is everything portChains reads for one port and family:
// the port's own fields, the names of its chains and of its groups'
// chains, its statefulness and its network's DHCP and router ports. It is
// compared field by field (strings shared with the previous compile
// compare at a glance), which is cheaper than encoding a key.
type portInputs struct {
	id, networkID, device, mac string
	fixedIPs                   []string
	pairs                      []model.AddressPair
	groups                     []string
	groupKeys                  []string // "" for a group the host lacks
	nameKey                    string
	stateless                  bool
	netKey                     string
}

func (c *compiler) samePortInputs(in *portInputs, p *Port) bool {
	if in.id != p.ID || in.networkID != p.NetworkID || in.device != p.Device || in.mac != p.MAC ||
		in.nameKey != c.portKey[p.ID] || in.stateless != c.stateless(p) || in.netKey != c.networkKey(p.NetworkID) ||
		!slices.Equal(in.fixedIPs, p.FixedIPs) || !slices.Equal(in.pairs, p.AddressPairs) || !slices.Equal(in.groups, p.SecurityGroups) {
		return false
	}
	for i, id := range p.SecurityGroups {
		k := ""
		if c.h.Groups[id] != nil {
			k = c.groupKey[id]
		}
		if in.groupKeys[i] != k {
			return false
		}
	}
	return true
}

func (c *compiler) portInputsOf(p *Port) *portInputs {
	in := &portInputs{id: p.ID, networkID: p.NetworkID, device: p.Device, mac: p.MAC,
		fixedIPs: slices.Clone(p.FixedIPs), pairs: slices.Clone(p.AddressPairs), groups: slices.Clone(p.SecurityGroups),
		nameKey: c.portKey[p.ID], stateless: c.stateless(p), netKey: c.networkKey(p.NetworkID)}
	for _, id := range p.SecurityGroups {
		k := ""
		if c.h.Groups[id] != nil {
			k = c.groupKey[id]
		}
		in.groupKeys = append(in.groupKeys, k)
	}
	return in
}

// networkKey encodes what a port's chains read about its network: the
// DHCP and router ports (computed once per network and run).
func (c *compiler) networkKey(id string) string {
	if k, ok := c.netKeys[id]; ok {
		return k
	}
	var k keyBuf
	if n := c.h.Networks[id]; n != nil {
		for _, list := range [][]ServicePort{n.DHCP, n.Routers} {
			k.num(len(list))
			for _, sp := range list {
				k.str(sp.MAC)
				k.num(len(sp.FixedIPs))
				for _, ip := range sp.FixedIPs {
					k.str(ip)
				}
			}
		}
	}
	if c.netKeys == nil {
		c.netKeys = map[string]string{}
	}
	c.netKeys[id] = string(k)
	return string(k)
}

func (c *compiler) memoPortChains(p *Port, f Family) []Chain {
	m := c.memo
	if m == nil {
		return c.portChains(p, f)
	}
	mk := portMemoKey{p.ID, f}
	if e := m.ports[mk]; e != nil && c.samePortInputs(e.in, p) {
		for _, w := range e.warns {
			c.addWarning(w)
		}
		for _, s := range e.sets {
			if members, ok := e.pairs[s.name]; ok {
				c.addPairSet(s, members)
			} else {
				c.addSet(s)
			}
		}
		m.nextPorts[mk] = e
		return e.chains
	}
	var warns []string
	var sets []setRef
	var pairs map[string][]string
	c.recWarn, c.recSets, c.recPairs = &warns, &sets, &pairs
	chains := c.portChains(p, f)
	c.recWarn, c.recSets, c.recPairs = nil, nil, nil
	m.nextPorts[mk] = &portMemo{in: c.portInputsOf(p), chains: chains, warns: warns, sets: sets, pairs: pairs}
	return chains
}

func (k *keyBuf) rule(r *model.SecurityGroupRule) {
	k.str(r.ID)
	k.str(r.Direction)
	k.str(r.Ethertype)
	k.pstr(r.Protocol)
	k.pint(r.PortRangeMin)
	k.pint(r.PortRangeMax)
	k.pstr(r.RemoteIPPrefix)
	k.pstr(r.NormalizedCIDR)
	k.pstr(r.RemoteGroupID)
	k.pstr(r.RemoteAddressGroupID)
}

// groupMemoKey is everything groupChain reads for one direction and
// family: the chain name, the group's rules of that direction and family
// and the names of the sets they reference.
func (c *compiler) groupMemoKey(g *SecurityGroup, dir string, f Family) []byte {
	k := keyBuf(c.memo.kb[:0])
	k.str(g.ID)
	k.str(c.groupChainName(g.ID, dir, f))
	for i := range g.Rules {
		r := &g.Rules[i]
		if r.Direction != dir || r.Ethertype != ethertype(f) {
			continue
		}
		k.rule(r)
		if r.RemoteGroupID != nil {
			k.str(c.setNames["g|"+*r.RemoteGroupID])
		}
		if r.RemoteAddressGroupID != nil {
			k.str(c.setNames["a|"+*r.RemoteAddressGroupID])
		}
	}
	c.memo.kb = k
	return k
}

func (c *compiler) memoGroupChain(g *SecurityGroup, dir string, f Family) Chain {
	m := c.memo
	if m == nil {
		return c.groupChain(g, dir, f)
	}
	key := c.groupMemoKey(g, dir, f)
	mk := c.groupChainName(g.ID, dir, f)
	if e := m.groups[mk]; e != nil && e.key == string(key) {
		for _, w := range e.warns {
			c.addWarning(w)
		}
		for _, s := range e.sets {
			c.addSet(s)
		}
		m.nextGroups[mk] = e
		return e.chain
	}
	var warns []string
	var sets []setRef
	c.recWarn, c.recSets = &warns, &sets
	ch := c.groupChain(g, dir, f)
	c.recWarn, c.recSets = nil, nil
	m.nextGroups[mk] = &groupMemo{key: string(key), chain: ch, warns: warns, sets: sets}
	return ch
}

func (c *compiler) memoSet(ref setRef, src []string) IPSet {
	m := c.memo
	if m == nil {
		return c.buildSet(ref, src)
	}
	if e := m.sets[ref.name]; e != nil && e.ref == ref && slices.Equal(e.src, src) {
		for _, w := range e.warns {
			c.addWarning(w)
		}
		m.nextSets[ref.name] = e
		return e.set
	}
	var warns []string
	c.recWarn = &warns
	set := c.buildSet(ref, src)
	c.recWarn = nil
	m.nextSets[ref.name] = &setMemo{ref: ref, src: slices.Clone(src), set: set, warns: warns}
	return set
}

// memoChain gives a chain built afresh (a dispatch chain, whose rules
// come from every port) the previous call's Rules slice when its rules
// are equal, so that an applier can tell it unchanged at a glance.
func (c *compiler) memoChain(f Family, t Table, ch Chain) Chain {
	m := c.memo
	if m == nil {
		return ch
	}
	k := chainMemoKey{f, t, ch.Name}
	if prev, ok := m.chains[k]; ok && len(prev) > 0 && slices.Equal(prev, ch.Rules) {
		ch.Rules = prev
	}
	m.nextChains[k] = ch.Rules
	return ch
}

// names returns p's chain names and dispatch rules, from the previous
// compile when its id, device and name key are unchanged.
func (c *compiler) names(p *Port) *portNames {
	if n := c.runNames[p]; n != nil {
		return n
	}
	k := portNamesKey{p.ID, p.Dev(), c.portKey[p.ID]}
	m := c.memo
	var n *portNames
	if m != nil {
		n = m.names[k]
	}
	if n == nil {
		n = &portNames{in: ChainPrefix + "i" + k.key, out: ChainPrefix + "o" + k.key,
			spoof: ChainPrefix + "s" + k.key, dest: ChainPrefix + "d" + k.key}
		jc := comment(CommentPort, p.ID)
		n.from = Rule{Match: "-m physdev --physdev-in " + k.dev, Target: n.out, Goto: true, Comment: jc}
		n.to = Rule{Match: "-m physdev --physdev-out " + k.dev, Target: n.in, Goto: true, Comment: jc}
		n.input = n.from
	}
	if m != nil {
		m.nextNames[k] = n
	}
	if c.runNames == nil {
		c.runNames = make(map[*Port]*portNames, len(c.ports))
	}
	c.runNames[p] = n
	return n
}

// sortChainsMemo is sortChains, reusing the previous compile's order of
// the same table when the chain names come in the same order.
//
// When every chain is the same (name, flag and Rules slice) as in prev,
// the previous compile's sorted table, it returns prev itself: an
// unchanged table costs no allocation, and stays recognisable.
func (c *compiler) sortChainsMemo(f Family, t Table, chains []Chain, prev []Chain) []Chain {
	m := c.memo
	if m == nil {
		return sortChains(chains)
	}
	k := chainMemoKey{f: f, t: t}
	defer func() {
		if m.scratch == nil {
			m.scratch = map[chainMemoKey][]Chain{}
		}
		clear(chains) // drop references to the rules
		m.scratch[k] = chains[:0]
	}()
	if e := m.sorted[k]; e != nil && len(e.names) == len(chains) {
		same := true
		for i := range chains {
			if chains[i].Name != e.names[i] {
				same = false
				break
			}
		}
		if same {
			if len(prev) == len(chains) {
				for i, j := range e.idx {
					if !sameChain(&chains[j], &prev[i]) {
						same = false
						break
					}
				}
				if same {
					return prev
				}
			}
			out := make([]Chain, len(chains))
			for i, j := range e.idx {
				out[i] = chains[j]
			}
			return out
		}
	}
	idx := sortIndex(chains)
	names := make([]string, len(chains))
	for i := range chains {
		names[i] = chains[i].Name
	}
	m.sorted[k] = &sortMemo{names: names, idx: idx}
	out := make([]Chain, len(chains))
	for i, j := range idx {
		out[i] = chains[j]
	}
	return out
}

// reuseMap returns m emptied, or a new map when there is none.
func reuseMap[K comparable, V any](m map[K]V, n int) map[K]V {
	if m == nil {
		return make(map[K]V, n)
	}
	clear(m)
	return m
}

// sameChain: the same name and flag, and the same Rules slice (the
// memoized pieces are immutable).
func sameChain(a, b *Chain) bool {
	if a.Name != b.Name || a.Unordered != b.Unordered || len(a.Rules) != len(b.Rules) {
		return false
	}
	return len(a.Rules) == 0 || &a.Rules[0] == &b.Rules[0]
}

// chainsBuffer returns an empty slice to build a table's chains in.
func (c *compiler) chainsBuffer(f Family, t Table, n int) []Chain {
	if c.memo == nil {
		return make([]Chain, 0, n)
	}
	k := chainMemoKey{f: f, t: t}
	buf := c.memo.scratch[k]
	delete(c.memo.scratch, k)
	return slices.Grow(buf[:0], n)
}

// portKeysOf is uniqueKeys(ids, 10), reused when the ids are the same as
// in the previous call.
func (c *compiler) portKeysOf(ids []string) map[string]string {
	m := c.memo
	if m == nil {
		return uniqueKeys(ids, 10)
	}
	if m.portKeys != nil && slices.Equal(m.portKeyIDs, ids) {
		return m.portKeys
	}
	m.portKeyIDs, m.portKeys = slices.Clone(ids), uniqueKeys(ids, 10)
	return m.portKeys
}
