package firewall

import (
	"bufio"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file is a small model of how netfilter walks iptables rules, enough
// to run a packet through a Ruleset (or through an iptables-save dump
// parsed with ParseSave) and say what happens to it and which rules
// decided. It knows the matches and targets Bulwark and Neutron's
// iptables drivers write; anything else is an error, never a guess.

// Packet is an abstract packet crossing a Linux bridge with br_netfilter.
type Packet struct {
	Family Family
	// Hook is the filter chain the packet reaches: "FORWARD" for a
	// packet bridged from PhysIn to PhysOut, "INPUT" for a packet from
	// PhysIn to the host itself (PhysOut empty).
	Hook string
	// Bridge is the bridge device: "-i" in PREROUTING/INPUT/FORWARD and
	// "-o" in FORWARD match it.
	Bridge          string
	PhysIn, PhysOut string
	SrcMAC          string
	Src, Dst        netip.Addr
	Proto           int // IP protocol number
	SPort, DPort    int
	// ICMPType and ICMPCode for ICMP (Proto 1) and ICMPv6 (Proto 58).
	ICMPType, ICMPCode int
	// State is the conntrack state the packet would have if tracked:
	// NEW, ESTABLISHED, RELATED or INVALID. The raw table may make it
	// UNTRACKED.
	State string
	Mark  uint32
	// PktType is the link-layer class of the frame as -m pkttype sees
	// it: "broadcast", "multicast", "unicast". Empty means derived from
	// Dst (255.255.255.255 broadcast, a multicast address multicast).
	PktType string
}

// pktType is the packet's link-layer class.
func (p *Packet) pktType() string {
	switch {
	case p.PktType != "":
		return p.PktType
	case p.Dst.Is4() && p.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case p.Dst.IsMulticast():
		return "multicast"
	}
	return "unicast"
}

// Step is one rule whose match succeeded on the way.
type Step struct {
	Table Table
	Chain string
	Index int // 0-based position in the chain
	Rule  Rule
	// Sets are the set lookups the rule's match made, in order: which
	// address was looked up and the member that holds it, so that a
	// verdict names the remote-group member or address pair that allowed
	// (or, in a negated match, did not stop) the packet.
	Sets []SetMatch
}

// SetMatch is one "-m set --match-set NAME DIR" lookup.
type SetMatch struct {
	Set  string
	Dir  string // src or dst
	Addr netip.Addr
	// In: the address is in the set; Member is then the entry holding it.
	In     bool
	Member netip.Prefix
}

// Verdict is what the rules did with a packet.
type Verdict struct {
	// Action is "ACCEPT" or "DROP", or "" when the packet fell off the
	// end of the built-in chain (its policy decides; nobody's rule did).
	Action    string
	Untracked bool
	Zone      int // conntrack zone set in raw PREROUTING (0: none)
	Mark      uint32
	Path      []Step
}

// Last returns the last step (the deciding rule for ACCEPT/DROP).
func (v Verdict) Last() Step {
	if len(v.Path) == 0 {
		return Step{}
	}
	return v.Path[len(v.Path)-1]
}

// Sets holds the members of the sets rules refer to.
type Sets map[string][]netip.Prefix

// SetsOf returns the sets of a ruleset.
func SetsOf(rs *Ruleset) Sets {
	s := Sets{}
	for _, set := range rs.Sets {
		s[set.Name] = []netip.Prefix{}
		for _, m := range set.Members {
			if p, ok := parseAddr(m); ok {
				s[set.Name] = append(s[set.Name], p)
			}
		}
	}
	return s
}

// ParseIPSetSave reads `ipset save` output.
func ParseIPSetSave(text string) (Sets, error) {
	s := Sets{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "create":
			s[f[1]] = []netip.Prefix{}
		case len(f) >= 3 && f[0] == "add":
			p, ok := parseAddr(f[2])
			if !ok {
				return nil, fmt.Errorf("ipset: bad member %q", line)
			}
			s[f[1]] = append(s[f[1]], p)
		case len(f) == 0:
		default:
			return nil, fmt.Errorf("ipset: unexpected line %q", line)
		}
	}
	return s, nil
}

var builtinChains = map[string]bool{"INPUT": true, "FORWARD": true, "OUTPUT": true, "PREROUTING": true, "POSTROUTING": true}

// ParseSave reads iptables-save output (one family) into tables: rules of
// built-in chains become Hooks, every other chain a Chain, in order.
func ParseSave(text string) (map[Table]*TableRules, error) {
	out := map[Table]*TableRules{}
	var cur *TableRules
	index := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || line == "COMMIT":
		case strings.HasPrefix(line, "*"):
			cur = &TableRules{}
			out[Table(line[1:])] = cur
			index = map[string]int{}
		case strings.HasPrefix(line, ":"):
			name := strings.Fields(line[1:])[0]
			if cur == nil {
				return nil, fmt.Errorf("chain before table: %q", line)
			}
			if !builtinChains[name] {
				index[name] = len(cur.Chains)
				cur.Chains = append(cur.Chains, Chain{Name: name})
			}
		case strings.HasPrefix(line, "-A "):
			if cur == nil {
				return nil, fmt.Errorf("rule before table: %q", line)
			}
			chain, r, err := ParseRule(line)
			if err != nil {
				return nil, err
			}
			if builtinChains[chain] {
				cur.Hooks = append(cur.Hooks, Hook{BuiltinChain: chain, Rule: r})
				continue
			}
			i, ok := index[chain]
			if !ok {
				return nil, fmt.Errorf("rule for undeclared chain: %q", line)
			}
			cur.Chains[i].Rules = append(cur.Chains[i].Rules, r)
		default:
			return nil, fmt.Errorf("unexpected line %q", line)
		}
	}
	return out, sc.Err()
}

// ParseRule reads one "-A chain ..." line as iptables-save prints it.
func ParseRule(line string) (string, Rule, error) {
	toks, err := SplitArgs(line)
	if err != nil {
		return "", Rule{}, err
	}
	if len(toks) < 2 || toks[0] != "-A" {
		return "", Rule{}, fmt.Errorf("not a rule: %q", line)
	}
	chain := toks[1]
	var r Rule
	var match []string
	for i := 2; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "-m" && i+1 < len(toks) && toks[i+1] == "comment":
			if i+3 >= len(toks) || toks[i+2] != "--comment" {
				return "", Rule{}, fmt.Errorf("bad comment in %q", line)
			}
			r.Comment = toks[i+3]
			i += 3
		case t == "-j" || t == "-g":
			if i+1 >= len(toks) {
				return "", Rule{}, fmt.Errorf("missing target in %q", line)
			}
			r.Goto = t == "-g"
			r.Target = strings.Join(toks[i+1:], " ")
			i = len(toks)
		default:
			match = append(match, t)
		}
	}
	r.Match = strings.Join(match, " ")
	return chain, r, nil
}

// SplitArgs splits a rule line into arguments as iptables-restore does:
// whitespace-separated, double quotes group, backslash escapes inside
// quotes.
func SplitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case !inQuote && (c == ' ' || c == '\t'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// Evaluator runs packets through one family's tables. Matches are parsed
// once and cached.
type Evaluator struct {
	Tables map[Table]*TableRules
	Sets   Sets
	cache  map[string]*matcher
	chains map[Table]map[string]*Chain
}

// NewEvaluator prepares an evaluator for one family of a ruleset.
func NewEvaluator(rs *Ruleset, f Family) *Evaluator {
	return NewTableEvaluator(rs.Tables[f], SetsOf(rs))
}

// NewTableEvaluator prepares an evaluator over parsed tables and sets.
func NewTableEvaluator(tables map[Table]*TableRules, sets Sets) *Evaluator {
	e := &Evaluator{Tables: tables, Sets: sets, cache: map[string]*matcher{}, chains: map[Table]map[string]*Chain{}}
	for t, tr := range tables {
		e.chains[t] = map[string]*Chain{}
		for i := range tr.Chains {
			e.chains[t][tr.Chains[i].Name] = &tr.Chains[i]
		}
	}
	return e
}

type evalState struct {
	p       *Packet
	v       *Verdict
	ctSet   bool
	table   Table
	depth   int
	untrack bool
	// sets: the set lookups of the rule being matched.
	sets []SetMatch
}

type outcome int

const (
	fallThrough outcome = iota // end of chain or RETURN
	terminal
)

// Evaluate runs a packet through raw PREROUTING and then the filter
// chain of its hook.
func (e *Evaluator) Evaluate(p Packet) (Verdict, error) {
	v := Verdict{}
	st := &evalState{p: &p, v: &v}
	if e.Tables[Raw] != nil {
		st.table = Raw
		if _, err := e.runBuiltin(st, "PREROUTING"); err != nil {
			return v, err
		}
	}
	v.Untracked = st.untrack
	v.Action = ""
	if e.Tables[Filter] != nil {
		st.table = Filter
		if _, err := e.runBuiltin(st, p.Hook); err != nil {
			return v, err
		}
	}
	v.Mark = p.Mark
	return v, nil
}

func (e *Evaluator) runBuiltin(st *evalState, name string) (outcome, error) {
	tr := e.Tables[st.table]
	var rules []Rule
	for _, h := range tr.Hooks {
		if h.BuiltinChain == name {
			rules = append(rules, h.Rule)
		}
	}
	return e.runRules(st, name, rules)
}

func (e *Evaluator) runChain(st *evalState, name string) (outcome, error) {
	c := e.chains[st.table][name]
	if c == nil {
		return 0, fmt.Errorf("%s: no chain %q", st.table, name)
	}
	return e.runRules(st, name, c.Rules)
}

func (e *Evaluator) runRules(st *evalState, chain string, rules []Rule) (outcome, error) {
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > 64 {
		return 0, fmt.Errorf("chain loop at %s", chain)
	}
	for i, r := range rules {
		m, err := e.matcher(r.Match)
		if err != nil {
			return 0, fmt.Errorf("%s rule %d: %w", chain, i, err)
		}
		st.sets = st.sets[:0]
		ok, err := m.match(st, e.Sets)
		if err != nil {
			return 0, fmt.Errorf("%s rule %d: %w", chain, i, err)
		}
		if !ok {
			continue
		}
		step := Step{Table: st.table, Chain: chain, Index: i, Rule: r}
		if len(st.sets) > 0 {
			step.Sets = slices.Clone(st.sets)
		}
		st.v.Path = append(st.v.Path, step)
		f := strings.Fields(r.Target)
		if len(f) == 0 {
			continue // no target: counts only
		}
		switch f[0] {
		case "ACCEPT":
			st.v.Action = "ACCEPT"
			return terminal, nil
		case "DROP", "REJECT":
			st.v.Action = "DROP"
			return terminal, nil
		case "RETURN":
			return fallThrough, nil
		case "MARK":
			if err := applyMark(st.p, f[1:]); err != nil {
				return 0, fmt.Errorf("%s rule %d: %w", chain, i, err)
			}
		case "CT", "NOTRACK":
			if !st.ctSet {
				st.ctSet = true
				if f[0] == "NOTRACK" || (len(f) >= 2 && f[1] == "--notrack") {
					st.untrack = true
				} else if len(f) >= 3 && f[1] == "--zone" {
					z, _ := strconv.Atoi(f[2])
					st.v.Zone = z
				}
			}
		case "LOG", "NFLOG":
		default:
			out, err := e.runChain(st, f[0])
			if err != nil {
				return 0, err
			}
			if out == terminal {
				return terminal, nil
			}
			if r.Goto {
				return fallThrough, nil
			}
		}
	}
	return fallThrough, nil
}

func applyMark(p *Packet, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("MARK %v unsupported", args)
	}
	v, m, err := valueMask(args[1])
	if err != nil {
		return err
	}
	switch args[0] {
	case "--set-xmark":
		p.Mark = (p.Mark &^ m) ^ v
	case "--set-mark":
		p.Mark = (p.Mark &^ m) | v
	case "--or-mark":
		p.Mark |= v
	case "--and-mark":
		p.Mark &= v
	default:
		return fmt.Errorf("MARK %v unsupported", args)
	}
	return nil
}

func valueMask(s string) (uint32, uint32, error) {
	vs, ms, hasMask := strings.Cut(s, "/")
	v, err := strconv.ParseUint(vs, 0, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("bad mark %q", s)
	}
	m := uint64(0xffffffff)
	if hasMask {
		if m, err = strconv.ParseUint(ms, 0, 32); err != nil {
			return 0, 0, fmt.Errorf("bad mark %q", s)
		}
	}
	return uint32(v), uint32(m), nil
}

// matcher is a parsed match: a conjunction of conditions.
type matcher struct {
	conds []cond
}

type cond struct {
	invert bool
	test   func(st *evalState, sets Sets) (bool, error)
}

func (m *matcher) match(st *evalState, sets Sets) (bool, error) {
	for _, c := range m.conds {
		ok, err := c.test(st, sets)
		if err != nil {
			return false, err
		}
		if ok == c.invert {
			return false, nil
		}
	}
	return true, nil
}

func (e *Evaluator) matcher(s string) (*matcher, error) {
	if m, ok := e.cache[s]; ok {
		return m, nil
	}
	m, err := parseMatch(s)
	if err != nil {
		return nil, err
	}
	e.cache[s] = m
	return m, nil
}

func ifaceMatch(pattern, dev string) bool {
	if strings.HasSuffix(pattern, "+") {
		return strings.HasPrefix(dev, strings.TrimSuffix(pattern, "+"))
	}
	return pattern == dev
}

func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, ":")
	lo, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, fmt.Errorf("bad port %q", s)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, fmt.Errorf("bad port %q", s)
		}
	}
	return lo, hi, nil
}

func hasPorts(proto int) bool {
	switch proto {
	case 6, 17, 33, 132, 136:
		return true
	}
	return false
}

// parseMatch parses match options (no comment, no target).
func parseMatch(s string) (*matcher, error) {
	toks, err := SplitArgs(s)
	if err != nil {
		return nil, err
	}
	m := &matcher{}
	invert := false
	module := ""
	add := func(t func(st *evalState, sets Sets) (bool, error)) {
		m.conds = append(m.conds, cond{invert: invert, test: t})
		invert = false
	}
	arg := func(i int) (string, error) {
		if i+1 >= len(toks) {
			return "", fmt.Errorf("option %s needs a value", toks[i])
		}
		return toks[i+1], nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "!" {
			invert = true
			continue
		}
		switch t {
		case "-m":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			module = v
			i++
			continue
		case "-s", "-d":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			p, ok := parseAddr(v)
			if !ok {
				return nil, fmt.Errorf("bad address %q", v)
			}
			src := t == "-s"
			add(func(st *evalState, _ Sets) (bool, error) {
				a := st.p.Dst
				if src {
					a = st.p.Src
				}
				return p.Contains(a), nil
			})
			continue
		case "-p":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			n := ProtocolNumberOf(v)
			if n < 0 {
				return nil, fmt.Errorf("unknown protocol %q", v)
			}
			add(func(st *evalState, _ Sets) (bool, error) { return n == 0 || st.p.Proto == n, nil })
			continue
		case "-i", "-o":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			out := t == "-o"
			add(func(st *evalState, _ Sets) (bool, error) {
				if out {
					// A bridged packet leaves through the bridge; one for
					// the host leaves through nothing.
					return st.p.PhysOut != "" && ifaceMatch(v, st.p.Bridge), nil
				}
				return ifaceMatch(v, st.p.Bridge), nil
			})
			continue
		}
		if !strings.HasPrefix(t, "--") {
			return nil, fmt.Errorf("unexpected %q", t)
		}
		switch module + " " + t {
		case "tcp --sport", "tcp --dport", "udp --sport", "udp --dport", "sctp --sport", "sctp --dport",
			"dccp --sport", "dccp --dport":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			lo, hi, err := portRange(v)
			if err != nil {
				return nil, err
			}
			src := t == "--sport"
			add(func(st *evalState, _ Sets) (bool, error) {
				if !hasPorts(st.p.Proto) {
					return false, nil
				}
				x := st.p.DPort
				if src {
					x = st.p.SPort
				}
				return x >= lo && x <= hi, nil
			})
		case "multiport --dports", "multiport --sports", "multiport --ports":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			type rng struct{ lo, hi int }
			var rs []rng
			for _, part := range strings.Split(v, ",") {
				lo, hi, err := portRange(part)
				if err != nil {
					return nil, err
				}
				rs = append(rs, rng{lo, hi})
			}
			which := t
			add(func(st *evalState, _ Sets) (bool, error) {
				if !hasPorts(st.p.Proto) {
					return false, nil
				}
				for _, r := range rs {
					in := func(x int) bool { return x >= r.lo && x <= r.hi }
					switch which {
					case "--dports":
						if in(st.p.DPort) {
							return true, nil
						}
					case "--sports":
						if in(st.p.SPort) {
							return true, nil
						}
					default:
						if in(st.p.DPort) || in(st.p.SPort) {
							return true, nil
						}
					}
				}
				return false, nil
			})
		case "icmp --icmp-type", "icmp6 --icmpv6-type":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			proto := 1
			if module == "icmp6" {
				proto = 58
			}
			if v == "any" {
				add(func(st *evalState, _ Sets) (bool, error) { return st.p.Proto == proto, nil })
				break
			}
			ts, cs, hasCode := strings.Cut(v, "/")
			typ, err := strconv.Atoi(ts)
			if err != nil {
				return nil, fmt.Errorf("icmp type %q unsupported", v)
			}
			code := -1
			if hasCode {
				if code, err = strconv.Atoi(cs); err != nil {
					return nil, fmt.Errorf("icmp code %q unsupported", v)
				}
			}
			add(func(st *evalState, _ Sets) (bool, error) {
				return st.p.Proto == proto && st.p.ICMPType == typ && (code < 0 || st.p.ICMPCode == code), nil
			})
		case "state --state", "conntrack --ctstate":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			states := strings.Split(v, ",")
			add(func(st *evalState, _ Sets) (bool, error) {
				cur := st.p.State
				if st.untrack {
					cur = "UNTRACKED"
				}
				for _, s := range states {
					if s == cur {
						return true, nil
					}
				}
				return false, nil
			})
		case "mac --mac-source":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			add(func(st *evalState, _ Sets) (bool, error) { return strings.EqualFold(v, st.p.SrcMAC), nil })
		case "physdev --physdev-in", "physdev --physdev-out":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			in := t == "--physdev-in"
			add(func(st *evalState, _ Sets) (bool, error) {
				dev := st.p.PhysOut
				if in {
					dev = st.p.PhysIn
				}
				return dev != "" && ifaceMatch(v, dev), nil
			})
		case "physdev --physdev-is-bridged":
			// Bridged means the packet has a bridge output port (not for
			// packets delivered to the host, nor in PREROUTING).
			add(func(st *evalState, _ Sets) (bool, error) { return st.table == Filter && st.p.PhysOut != "", nil })
		case "physdev --physdev-is-in":
			add(func(st *evalState, _ Sets) (bool, error) { return st.p.PhysIn != "", nil })
		case "physdev --physdev-is-out":
			add(func(st *evalState, _ Sets) (bool, error) { return st.table == Filter && st.p.PhysOut != "", nil })
		case "set --match-set":
			if i+2 >= len(toks) {
				return nil, fmt.Errorf("--match-set needs a name and a direction")
			}
			name, dir := toks[i+1], toks[i+2]
			i += 2
			if dir != "src" && dir != "dst" {
				return nil, fmt.Errorf("set direction %q unsupported", dir)
			}
			add(func(st *evalState, sets Sets) (bool, error) {
				members, ok := sets[name]
				if !ok {
					return false, fmt.Errorf("no set %q", name)
				}
				a := st.p.Src
				if dir == "dst" {
					a = st.p.Dst
				}
				hit := SetMatch{Set: name, Dir: dir, Addr: a}
				for _, p := range members {
					if p.Contains(a) {
						hit.In, hit.Member = true, p
						break
					}
				}
				st.sets = append(st.sets, hit)
				return hit.In, nil
			})
		case "mark --mark":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			val, mask, err := valueMask(v)
			if err != nil {
				return nil, err
			}
			add(func(st *evalState, _ Sets) (bool, error) { return st.p.Mark&mask == val, nil })
		case "pkttype --pkt-type":
			v, err := arg(i)
			if err != nil {
				return nil, err
			}
			i++
			add(func(st *evalState, _ Sets) (bool, error) { return st.p.pktType() == v, nil })
		case "comment --comment":
			i++
		default:
			return nil, fmt.Errorf("option %q of module %q unsupported", t, module)
		}
	}
	if invert {
		return nil, fmt.Errorf("dangling ! in %q", s)
	}
	return m, nil
}
