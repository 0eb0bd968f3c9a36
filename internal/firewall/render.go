package firewall

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Rendered is a ruleset as text for the kernel tools.
type Rendered struct {
	// IPv4 and IPv6 are iptables-restore / ip6tables-restore input for
	// --noflush: the *filter and *raw tables, each with a declaration of
	// every owned chain (":name - [0:0]", which also flushes an existing
	// chain of that name), the hook lines, every rule, and COMMIT.
	IPv4, IPv6 string
	// IPSets is ipset restore input: a create line per set and an add
	// line per member.
	IPSets string
}

// Render turns a ruleset into restore text, in exactly the form
// iptables-save and ipset save print back (option order, lower-case MACs,
// host prefixes with /32 or /128, /0 left out, protocol names from
// /etc/protocols, comments quoted only when iptables-save quotes them),
// so that a text diff against the kernel's state converges.
//
// The hook lines are plain appends ("-A FORWARD -j bulwark-FORWARD"): the
// text is the complete desired state, right for a fresh namespace; an
// applier that finds the hooks already in place leaves them out.
func Render(rs *Ruleset) Rendered {
	return Rendered{
		IPv4:   RenderFamily(rs, IPv4),
		IPv6:   RenderFamily(rs, IPv6),
		IPSets: RenderIPSets(rs.Sets),
	}
}

// RenderFamily renders the filter and raw tables of one family.
func RenderFamily(rs *Ruleset, f Family) string {
	var b strings.Builder
	for _, t := range []Table{Filter, Raw} {
		if tr := rs.Tables[f][t]; tr != nil {
			b.WriteString(RenderTable(t, tr))
		}
	}
	return b.String()
}

// builtinOrder is the order iptables-save prints the built-in chains of a
// table in.
var builtinOrder = map[Table][]string{
	Filter: {"INPUT", "FORWARD", "OUTPUT"},
	Raw:    {"PREROUTING", "OUTPUT"},
}

// RenderTable renders one table: "*table", chain declarations, hooks,
// rules (chains in name order, as iptables-save prints them), "COMMIT".
func RenderTable(t Table, tr *TableRules) string {
	var b strings.Builder
	size := 64
	for _, c := range tr.Chains {
		size += 2*len(c.Name) + 16 + len(c.Rules)*(len(c.Name)+120)
	}
	b.Grow(size)
	b.WriteString("*" + string(t) + "\n")
	chains := append([]Chain(nil), tr.Chains...)
	sort.SliceStable(chains, func(i, j int) bool { return chains[i].Name < chains[j].Name })
	for _, c := range chains {
		b.WriteString(":" + c.Name + " - [0:0]\n")
	}
	order := builtinOrder[t]
	rank := func(name string) int {
		for i, n := range order {
			if n == name {
				return i
			}
		}
		return len(order)
	}
	hooks := append([]Hook(nil), tr.Hooks...)
	sort.SliceStable(hooks, func(i, j int) bool { return rank(hooks[i].BuiltinChain) < rank(hooks[j].BuiltinChain) })
	for _, h := range hooks {
		writeRule(&b, h.BuiltinChain, &h.Rule)
		b.WriteByte('\n')
	}
	for _, c := range chains {
		for i := range c.Rules {
			writeRule(&b, c.Name, &c.Rules[i])
			b.WriteByte('\n')
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// RenderRule renders one rule as iptables-save prints it:
// "-A <chain> <match> -m comment --comment <comment> -j|-g <target>".
// An applier deleting a rule by specification uses the same text with
// "-D" for "-A".
func RenderRule(chain string, r Rule) string {
	var b strings.Builder
	writeRule(&b, chain, &r)
	return b.String()
}

func writeRule(b *strings.Builder, chain string, r *Rule) {
	b.WriteString("-A ")
	b.WriteString(chain)
	if r.Match != "" {
		b.WriteByte(' ')
		b.WriteString(r.Match)
	}
	if r.Comment != "" {
		b.WriteString(" -m comment --comment ")
		b.WriteString(QuoteComment(r.Comment))
	}
	if r.Target != "" {
		if r.Goto {
			b.WriteString(" -g ")
		} else {
			b.WriteString(" -j ")
		}
		b.WriteString(r.Target)
	}
}

// QuoteComment quotes a comment as iptables-save does
// (xtables_save_string): bare when it is non-empty and made only of
// letters, digits, "-" and "_"; otherwise in double quotes with ", \ and '
// escaped by a backslash.
func QuoteComment(s string) string {
	bare := s != ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// RenderIPSets renders sets as ipset restore input, sets in name order.
// Members are written as ipset save prints them (a host without /32 or
// /128).
func RenderIPSets(sets []IPSet) string {
	sorted := append([]IPSet(nil), sets...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	for _, s := range sorted {
		b.WriteString(RenderSetCreate(s.Name, s.Family))
		b.WriteByte('\n')
		for _, m := range s.Members {
			fmt.Fprintf(&b, "add %s %s\n", s.Name, m)
		}
	}
	return b.String()
}

// RenderSetCreate is the create line of a set (for restore input; ipset
// save adds bucketsize and initval).
func RenderSetCreate(name string, f Family) string {
	fam := "inet"
	if f == IPv6 {
		fam = "inet6"
	}
	return fmt.Sprintf("create %s hash:net family %s hashsize 1024 maxelem 65536", name, fam)
}

// protocolNames is /etc/protocols of Debian's netbase 6.4 (first name of
// each number): iptables-save prints a protocol by the name getprotobynumber
// gives it, so rendered rules use the same names. On a host whose
// /etc/protocols lacks a name, iptables-save prints the number instead;
// ProtocolNumberOf reads both forms back.
var protocolNames = map[int]string{
	1: "icmp", 2: "igmp", 3: "ggp", 4: "ipencap", 5: "st", 6: "tcp", 8: "egp", 9: "igp",
	12: "pup", 17: "udp", 20: "hmp", 22: "xns-idp", 27: "rdp", 29: "iso-tp4", 33: "dccp",
	36: "xtp", 37: "ddp", 38: "idpr-cmtp", 41: "ipv6", 43: "ipv6-route", 44: "ipv6-frag",
	45: "idrp", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah", 57: "skip", 58: "ipv6-icmp",
	59: "ipv6-nonxt", 60: "ipv6-opts", 73: "rspf", 81: "vmtp", 88: "eigrp", 89: "ospf",
	93: "ax.25", 94: "ipip", 97: "etherip", 98: "encap", 103: "pim", 108: "ipcomp",
	112: "vrrp", 115: "l2tp", 124: "isis", 132: "sctp", 133: "fc", 135: "mobility-header",
	136: "udplite", 137: "mpls-in-ip", 138: "manet", 139: "hip", 140: "shim6", 141: "wesp",
	142: "rohc", 143: "ethernet",
}

var protocolNumbers = func() map[string]int {
	m := map[string]int{"all": 0, "icmpv6": 58, "mh": 135, "ipv6-mh": 135}
	for n, s := range protocolNames {
		m[s] = n
	}
	return m
}()

// ProtocolName is how iptables-save prints IP protocol n after "-p".
func ProtocolName(n int) string {
	if s, ok := protocolNames[n]; ok {
		return s
	}
	return strconv.Itoa(n)
}

// ProtocolNumberOf reads a "-p" argument (name or number) back; -1 if
// unknown.
func ProtocolNumberOf(s string) int {
	if n, ok := protocolNumbers[strings.ToLower(s)]; ok {
		return n
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		return n
	}
	return -1
}
