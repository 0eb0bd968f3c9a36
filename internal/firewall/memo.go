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
	// The entries used by the current call; they replace the maps above
	// when it ends, so that entries of objects gone are dropped.
	nextPorts  map[portMemoKey]*portMemo
	nextGroups map[string]*groupMemo
	nextSets   map[string]*setMemo
	nextChains map[chainMemoKey][]Rule
	kb         []byte
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
	key    string
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
	m.nextPorts = make(map[portMemoKey]*portMemo, len(m.ports))
	m.nextGroups = make(map[string]*groupMemo, len(m.groups))
	m.nextSets = make(map[string]*setMemo, len(m.sets))
	m.nextChains = make(map[chainMemoKey][]Rule, len(m.chains))
	c := &compiler{h: h, rs: NewRuleset(), sets: map[string]setRef{}, chainNames: map[string]string{}, memo: m}
	c.run()
	m.ports, m.groups, m.sets, m.chains = m.nextPorts, m.nextGroups, m.nextSets, m.nextChains
	m.nextPorts, m.nextGroups, m.nextSets, m.nextChains = nil, nil, nil, nil
	c.rs.ImmutableRules = true
	return c.rs
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

// portMemoKey encodes everything portChains reads: the port's own fields,
// the names of its chains and of its groups' chains, and its
// statefulness. The result lives in a shared buffer, valid until the next
// key is built.
func (c *compiler) portMemoKey(p *Port, f Family) []byte {
	k := keyBuf(c.memo.kb[:0])
	k.num(int(f))
	k.str(p.ID)
	k.str(p.NetworkID)
	k.str(p.Device)
	k.str(p.MAC)
	k.str(c.portKey[p.ID])
	k.flag(c.stateless(p))
	k.num(len(p.FixedIPs))
	for _, s := range p.FixedIPs {
		k.str(s)
	}
	k.num(len(p.AddressPairs))
	for _, ap := range p.AddressPairs {
		k.str(ap.IPAddress)
		k.str(ap.MACAddress)
	}
	k.str(c.networkKey(p.NetworkID))
	k.num(len(p.SecurityGroups))
	for _, id := range p.SecurityGroups {
		k.str(id)
		if c.h.Groups[id] == nil {
			k.flag(false)
			continue
		}
		k.flag(true)
		k.str(c.groupKey[id])
	}
	c.memo.kb = k
	return k
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
	key := c.portMemoKey(p, f)
	mk := portMemoKey{p.ID, f}
	if e := m.ports[mk]; e != nil && e.key == string(key) { // no allocation
		for _, w := range e.warns {
			c.addWarning(w)
		}
		m.nextPorts[mk] = e
		return e.chains
	}
	var warns []string
	c.recWarn = &warns
	chains := c.portChains(p, f)
	c.recWarn = nil
	m.nextPorts[mk] = &portMemo{key: string(key), chains: chains, warns: warns}
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
