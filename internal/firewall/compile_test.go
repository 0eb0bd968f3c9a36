package firewall

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

func sp(s string) *string { return &s }
func ip(i int) *int       { return &i }

func rule(id, dir, eth string, proto *string, lo, hi *int) model.SecurityGroupRule {
	return model.SecurityGroupRule{ID: id, Direction: dir, Ethertype: eth, Protocol: proto, PortRangeMin: lo, PortRangeMax: hi}
}

// kitchenSink is a host state exercising what the reference cases do not:
// every port-carrying protocol, ICMPv6 type/code, address groups, /0
// address pairs and members, a port without fixed IPs, a fail-closed port,
// a trusted (network-owned) port, a second network, unusable input.
func kitchenSink() *HostState {
	const (
		net1 = "11111111-1111-4111-8111-111111111111"
		net2 = "22222222-2222-4222-8222-222222222222"
		sgA  = "aaaaaaaa-0000-4000-8000-00000000000a"
		sgB  = "bbbbbbbb-0000-4000-8000-00000000000b"
		agX  = "cccccccc-0000-4000-8000-00000000000c"
	)
	withRemote := func(r model.SecurityGroupRule, prefix, group, ag string) model.SecurityGroupRule {
		if prefix != "" {
			p, _ := model.ParseCIDR(prefix)
			norm := p.Masked().String()
			r.RemoteIPPrefix, r.NormalizedCIDR = sp(prefix), &norm
		}
		if group != "" {
			r.RemoteGroupID = sp(group)
		}
		if ag != "" {
			r.RemoteAddressGroupID = sp(ag)
		}
		return r
	}
	return &HostState{
		Ports: []Port{
			{ID: "d0000000-0100-4000-8000-000000000001", NetworkID: net1, MAC: "FA:16:3E:D0:00:01",
				FixedIPs:       []string{"10.5.0.11", "fd00:5::11"},
				AddressPairs:   []model.AddressPair{{IPAddress: "0.0.0.0/0", MACAddress: "fa:16:3e:d0:00:01"}, {IPAddress: "10.5.9.7/24", MACAddress: "fa:16:3e:d0:00:99"}, {IPAddress: "bogus", MACAddress: "fa:16:3e:d0:00:01"}},
				SecurityGroups: []string{sgA, sgB, sgA, "99999999-unknown"}, PortSecurity: true},
			{ID: "d0000000-0200-4000-8000-000000000002", NetworkID: net1, MAC: "fa:16:3e:d0:00:02",
				SecurityGroups: []string{sgB}, PortSecurity: true}, // no fixed IPs: MAC-only
			{ID: "d0000000-0300-4000-8000-000000000003", NetworkID: net2, MAC: "fa:16:3e:d0:00:03",
				FixedIPs: []string{"fd00:6::3"}, SecurityGroups: []string{sgA}, PortSecurity: true}, // IPv6 only
			{ID: "d0000000-0400-4000-8000-000000000004", NetworkID: net2, MAC: "fa:16:3e:d0:00:04",
				FixedIPs: []string{"10.6.0.4"}, SecurityGroups: []string{sgA}, PortSecurity: true, FailClosed: true},
			{ID: "d0000000-0500-4000-8000-000000000005", NetworkID: net2, MAC: "fa:16:3e:d0:00:05",
				FixedIPs: []string{"10.6.0.2"}, PortSecurity: true, Trusted: true},
			{ID: "d0000000-0600-4000-8000-000000000006", NetworkID: net2, MAC: "not-a-mac",
				FixedIPs: []string{"10.6.0.6"}, SecurityGroups: []string{sgB}, PortSecurity: true},
		},
		Groups: map[string]*SecurityGroup{
			sgA: {ID: sgA, Stateful: true, Rules: []model.SecurityGroupRule{
				rule("r-sctp", "ingress", "IPv4", sp("sctp"), ip(5000), ip(5000)),
				rule("r-sctp-range", "ingress", "IPv4", sp("132"), ip(5000), ip(5010)),
				rule("r-dccp", "ingress", "IPv4", sp("dccp"), ip(33), ip(33)),
				rule("r-udplite", "ingress", "IPv4", sp("udplite"), ip(7), ip(7)),
				rule("r-udplite-range", "ingress", "IPv6", sp("136"), ip(7), ip(9)),
				rule("r-icmp6-type-code", "ingress", "IPv6", sp("ipv6-icmp"), ip(128), ip(0)),
				rule("r-icmp6-type", "ingress", "IPv6", sp("58"), ip(1), nil),
				rule("r-icmp-any-type", "ingress", "IPv4", sp("icmp"), ip(3), nil),
				withRemote(rule("r-ag", "ingress", "IPv4", sp("tcp"), ip(443), ip(443)), "", "", agX),
				withRemote(rule("r-ag6", "egress", "IPv6", nil, nil, nil), "", "", agX),
				withRemote(rule("r-remote-b", "egress", "IPv4", sp("udp"), ip(1), ip(1024)), "", sgB, ""),
				withRemote(rule("r-prefix-host", "egress", "IPv4", nil, nil, nil), "192.0.2.7", "", ""),
				withRemote(rule("r-prefix6", "ingress", "IPv6", sp("tcp"), ip(22), ip(22)), "2001:db8::5/64", "", ""),
				rule("r-proto-0", "egress", "IPv6", sp("0"), nil, nil),
				rule("r-proto-254", "egress", "IPv4", sp("254"), nil, nil),
				rule("r-ipip", "egress", "IPv4", sp("ipip"), nil, nil),
				rule("r-bad-proto", "egress", "IPv4", sp("nonsense"), nil, nil),
			}},
			sgB: {ID: sgB, Stateful: false, Rules: []model.SecurityGroupRule{
				rule("r-b-in", "ingress", "IPv4", sp("tcp"), ip(22), ip(22)),
				rule("r-b-out", "egress", "IPv4", nil, nil, nil),
			}},
		},
		Members: map[string][]string{
			sgB: {"10.5.0.11", "0.0.0.0/0", "10.5.0.11", "fd00:5::11", "junk"},
		},
		AddressGroups: map[string][]string{
			agX: {"198.51.100.0/24", "2001:db8:77::/48", "198.51.100.9/24"},
		},
		Networks: map[string]*Network{net2: {ID: net2, Bridge: "br-lab"}},
		Zones:    map[string]uint16{net2: 4100, "gone-network": 4097},
	}
}

// syntheticCases are rendered to golden files and round-tripped through
// the kernel like the reference cases.
func syntheticCases() map[string]func() *HostState {
	return map[string]func() *HostState{"z-kitchen-sink": kitchenSink}
}

func TestSyntheticGolden(t *testing.T) {
	for name, mk := range syntheticCases() {
		rs := Compile(mk())
		r := Render(rs)
		got := fmt.Sprintf("# %s\n# zones %v\n# warnings:\n#  %s\n# --- iptables-restore (IPv4)\n%s# --- ip6tables-restore (IPv6)\n%s# --- ipset restore\n%s",
			name, rs.Zones, strings.Join(rs.Warnings, "\n#  "), r.IPv4, r.IPv6, r.IPSets)
		path := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs; rerun with -update and review:\n%s", path, firstDiff(string(want), got))
		}
	}
}

func TestKitchenSink(t *testing.T) {
	h := kitchenSink()
	rs := Compile(h)
	v4, v6 := rs.Tables[IPv4][Filter], rs.Tables[IPv6][Filter]
	groupA := func(f Family, dir string) []string {
		var out []string
		for _, r := range rs.Tables[f][Filter].Chain(GroupChain("aaaaaaaa-0000-4000-8000-00000000000a", dir, f)).Rules {
			out = append(out, r.Match)
		}
		return out
	}
	wantIn4 := []string{
		"-p sctp -m sctp --dport 5000",
		"-p sctp -m sctp -m multiport --dports 5000:5010",
		"-p dccp -m dccp --dport 33",
		"-p udplite -m multiport --dports 7",
		"-p icmp -m icmp --icmp-type 3",
		"-p tcp -m tcp --dport 443 -m set --match-set bulwark-a4cccccccc-0000-4000- src",
	}
	if got := groupA(IPv4, "ingress"); !reflect.DeepEqual(got, wantIn4) {
		t.Errorf("ingress IPv4:\n got %q\nwant %q", got, wantIn4)
	}
	wantOut4 := []string{
		"-p udp -m udp -m multiport --dports 1:1024 -m set --match-set bulwark-4bbbbbbbb-0000-4000-8 dst",
		"-d 192.0.2.7/32",
		"-p 254",
		"-p ipencap",
	}
	if got := groupA(IPv4, "egress"); !reflect.DeepEqual(got, wantOut4) {
		t.Errorf("egress IPv4:\n got %q\nwant %q", got, wantOut4)
	}
	wantIn6 := []string{
		"-p udplite -m multiport --dports 7:9",
		"-p ipv6-icmp -m icmp6 --icmpv6-type 128/0",
		"-p ipv6-icmp -m icmp6 --icmpv6-type 1",
		"-s 2001:db8::/64 -p tcp -m tcp --dport 22",
	}
	if got := groupA(IPv6, "ingress"); !reflect.DeepEqual(got, wantIn6) {
		t.Errorf("ingress IPv6:\n got %q\nwant %q", got, wantIn6)
	}
	wantOut6 := []string{"-m set --match-set bulwark-a6cccccccc-0000-4000- dst", ""}
	if got := groupA(IPv6, "egress"); !reflect.DeepEqual(got, wantOut6) {
		t.Errorf("egress IPv6:\n got %q\nwant %q", got, wantOut6)
	}
	// Sets: /0 as two /1, duplicates and junk gone, other family left out.
	if s := rs.Set(GroupSetName("bbbbbbbb-0000-4000-8000-00000000000b", IPv4)); s == nil ||
		!reflect.DeepEqual(s.Members, []string{"0.0.0.0/1", "10.5.0.11", "128.0.0.0/1"}) {
		t.Errorf("remote set: %+v", s)
	}
	if s := rs.Set(AddressGroupSetName("cccccccc-0000-4000-8000-00000000000c", IPv4)); s == nil ||
		!reflect.DeepEqual(s.Members, []string{"198.51.100.0/24"}) {
		t.Errorf("address set v4: %+v", s)
	}
	if s := rs.Set(AddressGroupSetName("cccccccc-0000-4000-8000-00000000000c", IPv6)); s == nil ||
		!reflect.DeepEqual(s.Members, []string{"2001:db8:77::/48"}) {
		t.Errorf("address set v6: %+v", s)
	}
	// All six ports share the first 10 characters of their ids: the first
	// keeps the plain chain names, the others get hashed ones.
	info := map[string]PortInfo{}
	chainNames := map[string]bool{}
	for _, pi := range rs.Ports {
		info[pi.ID[len(pi.ID)-1:]] = pi
		if pi.Filtered {
			for _, n := range []string{pi.Ingress, pi.Egress, pi.Spoof} {
				if chainNames[n] {
					t.Errorf("chain %s used twice", n)
				}
				chainNames[n] = true
			}
		}
	}
	if info["1"].Ingress != IngressChain("d0000000-0100-4000-8000-000000000001") || info["2"].Ingress == IngressChain("d0000000-0200-4000-8000-000000000002") {
		t.Errorf("collision naming: %+v", rs.Ports)
	}
	// Port 1: its own-MAC /0 pair in its pair set (as two /1), the
	// foreign-MAC CIDR pair masked, bogus pair left out, group A jumped to
	// once, unknown group left out with a warning.
	spoof := ruleTexts(v4.Chain(info["1"].Spoof))
	wantSpoof := []string{
		`-A bulwark-sd0000000-0 -m mac --mac-source fa:16:3e:d0:00:01 -m set --match-set bulwark-p4d0000000-0 src -m comment --comment "address-pairs fa:16:3e:d0:00:01" -j RETURN`,
		`-A bulwark-sd0000000-0 -s 10.5.9.0/24 -m mac --mac-source fa:16:3e:d0:00:99 -m comment --comment "address-pair 10.5.9.0/24 fa:16:3e:d0:00:99" -j RETURN`,
		`-A bulwark-sd0000000-0 -s 10.5.0.11/32 -m mac --mac-source fa:16:3e:d0:00:01 -m comment --comment "fixed-ip 10.5.0.11 fa:16:3e:d0:00:01" -j RETURN`,
		`-A bulwark-sd0000000-0 -m comment --comment anti-spoof -j DROP`,
	}
	if !reflect.DeepEqual(spoof, wantSpoof) {
		t.Errorf("spoof chain:\n got %q\nwant %q", spoof, wantSpoof)
	}
	if i := slices.IndexFunc(rs.Sets, func(s IPSet) bool { return s.Name == "bulwark-p4d0000000-0" }); i < 0 ||
		!reflect.DeepEqual(rs.Sets[i].Members, []string{"0.0.0.0/1", "128.0.0.0/1"}) {
		t.Errorf("port 1's pair set: %+v", rs.Sets)
	}
	jumps := 0
	for _, r := range v4.Chain(info["1"].Ingress).Rules {
		if strings.HasPrefix(r.Comment, CommentSG+":") {
			jumps++
		}
	}
	if jumps != 2 {
		t.Errorf("port 1 jumps to %d groups, want 2 (A once, B)", jumps)
	}
	for _, w := range []string{"99999999-unknown", `"bogus"`, `"not-a-mac"`, `"nonsense"`, `"junk"`} {
		found := false
		for _, x := range rs.Warnings {
			found = found || strings.Contains(x, w)
		}
		if !found {
			t.Errorf("no warning about %s in %q", w, rs.Warnings)
		}
	}
	// Port 2 (no fixed IPs): any source from its MAC, both families.
	for _, tb := range []*TableRules{v4, v6} {
		got := ruleTexts(tb.Chain(info["2"].Spoof))
		if len(got) != 2 || !strings.Contains(got[0], `-m mac --mac-source fa:16:3e:d0:00:02 -m comment --comment "mac-only fa:16:3e:d0:00:02" -j RETURN`) {
			t.Errorf("mac-only spoof chain: %q", got)
		}
	}
	// Port 3 (IPv6 only): IPv4 spoof chain drops everything.
	if got := ruleTexts(v4.Chain(info["3"].Spoof)); len(got) != 1 || !strings.HasSuffix(got[0], "-j DROP") {
		t.Errorf("IPv6-only port's IPv4 spoof chain: %q", got)
	}
	// Port 4 (fail closed): dispatched straight to the fallback, no chains.
	if pi := info["4"]; !pi.FailClosed || pi.Filtered || pi.Ingress != "" {
		t.Errorf("fail-closed port info %+v", pi)
	}
	for _, tb := range []*TableRules{v4, v6} {
		n := 0
		for _, name := range []string{ChainFromPort, ChainToPort, ChainInput} {
			for _, r := range tb.Chain(name).Rules {
				if r.Comment == CommentFailClosed+":d0000000-0400-4000-8000-000000000004" {
					n++
					if r.Target != ChainFallback || !r.Goto {
						t.Errorf("fail-closed dispatch %+v", r)
					}
				}
			}
		}
		if n != 3 {
			t.Errorf("fail-closed port has %d dispatch rules, want 3", n)
		}
	}
	// Port 5 (trusted): passed through, no chains.
	if pi := info["5"]; pi.Filtered || pi.FailClosed {
		t.Errorf("trusted port info %+v", pi)
	}
	// Port 6 (bad MAC): may send nothing.
	if got := ruleTexts(v4.Chain(info["6"].Spoof)); len(got) != 1 {
		t.Errorf("bad-MAC port's spoof chain: %q", got)
	}
	// Zones: net2 keeps 4100 from the kernel; net1 gets the lowest free.
	if want := map[string]uint16{"11111111-1111-4111-8111-111111111111": 4097, "22222222-2222-4222-8222-222222222222": 4100}; !reflect.DeepEqual(rs.Zones, want) {
		t.Errorf("zones %v, want %v", rs.Zones, want)
	}
	if got := ruleTexts(rs.Tables[IPv4][Raw].Chain(ChainZone)); !strings.Contains(strings.Join(got, "\n"), "-i br-lab ") {
		t.Errorf("zone rules do not use the configured bridge: %q", got)
	}
}

func ruleTexts(c *Chain) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, r := range c.Rules {
		out = append(out, RenderRule(c.Name, r))
	}
	return out
}

// commentKinds are the kinds of the comment grammar (docs/firewall.md).
var commentKinds = map[string]bool{
	CommentHook: true, CommentNotBridged: true, CommentMarkReset: true, CommentDispatch: true, CommentAccept: true,
	CommentPort: true, CommentPortSecOff: true, CommentTrusted: true, CommentFailClosed: true, CommentManaged: true,
	CommentState: true, CommentInvalid: true, CommentDHCP: true, CommentDHCPSpoof: true, CommentICMPv6ND: true,
	CommentICMPv6RA: true, CommentRASpoof: true, CommentICMPv6: true, CommentAntiSpoof: true, CommentFixedIP: true,
	CommentAddressPair: true, CommentLinkLocal: true, CommentMACOnly: true, CommentSG: true, CommentSGAccepted: true,
	CommentSGRule: true, CommentSGAccept: true, CommentFallback: true, CommentZone: true, CommentNotrack: true,
	CommentDestCheck: true, CommentDest: true, CommentSourceOK: true, CommentAddressPairs: true,
}

// allStates is every reference case plus the synthetic ones.
func allStates(t *testing.T) map[string]*HostState {
	out := map[string]*HostState{}
	for _, c := range referenceCases(t) {
		h, err := LoadReferenceModel([]byte(readRef(t, c, "model.json")))
		if err != nil {
			t.Fatal(err)
		}
		out[c] = h
	}
	for name, mk := range syntheticCases() {
		out[name] = mk()
	}
	return out
}

func TestEveryRuleExplained(t *testing.T) {
	for name, h := range allStates(t) {
		rs := Compile(h)
		for f, tables := range rs.Tables {
			for tb, tr := range tables {
				var rules []Rule
				for _, hk := range tr.Hooks {
					rules = append(rules, hk.Rule)
				}
				for _, c := range tr.Chains {
					if !strings.HasPrefix(c.Name, ChainPrefix) {
						t.Errorf("%s: chain %s without prefix", name, c.Name)
					}
					if len(c.Name) > 28 {
						t.Errorf("%s: chain name %s longer than iptables' 28", name, c.Name)
					}
					rules = append(rules, c.Rules...)
				}
				for _, r := range rules {
					kind := r.Comment
					if i := strings.IndexAny(kind, ": "); i >= 0 {
						kind = kind[:i]
					}
					if !commentKinds[kind] {
						t.Errorf("%s IPv%d %s: rule %+v has comment %q outside the grammar", name, f, tb, r, r.Comment)
					}
				}
			}
		}
		for _, s := range rs.Sets {
			if len(s.Name) > MaxSetNameLen || !strings.HasPrefix(s.Name, ChainPrefix) {
				t.Errorf("%s: set name %s", name, s.Name)
			}
		}
	}
}

// chainMap renders every chain of a ruleset (and its hooks) for diffing.
func chainMap(rs *Ruleset) map[string][]string {
	out := map[string][]string{}
	for f, tables := range rs.Tables {
		for tb, tr := range tables {
			for _, c := range tr.Chains {
				out[fmt.Sprintf("%d/%s/%s", f, tb, c.Name)] = ruleTexts(&c)
			}
			for _, h := range tr.Hooks {
				k := fmt.Sprintf("%d/%s/%s", f, tb, h.BuiltinChain)
				out[k] = append(out[k], RenderRule(h.BuiltinChain, h.Rule))
			}
		}
	}
	return out
}

type change struct {
	rewritten []string            // ordered chains whose content changed (or appeared/vanished)
	lines     map[string][]string // unordered chains: rules added (+) and removed (-)
	sets      []string
}

func diffRulesets(t *testing.T, a, b *Ruleset) change {
	t.Helper()
	ca, cb := chainMap(a), chainMap(b)
	unordered := map[string]bool{}
	for _, rs := range []*Ruleset{a, b} {
		for f, tables := range rs.Tables {
			for tb, tr := range tables {
				for _, c := range tr.Chains {
					if c.Unordered {
						unordered[fmt.Sprintf("%d/%s/%s", f, tb, c.Name)] = true
					}
				}
			}
		}
	}
	ch := change{lines: map[string][]string{}}
	keys := map[string]bool{}
	for k := range ca {
		keys[k] = true
	}
	for k := range cb {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		if reflect.DeepEqual(ca[k], cb[k]) {
			continue
		}
		if !unordered[k] {
			ch.rewritten = append(ch.rewritten, k)
			continue
		}
		in := func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		}
		for _, r := range cb[k] {
			if !in(ca[k], r) {
				ch.lines[k] = append(ch.lines[k], "+"+r)
			}
		}
		for _, r := range ca[k] {
			if !in(cb[k], r) {
				ch.lines[k] = append(ch.lines[k], "-"+r)
			}
		}
	}
	sa, sb := map[string]string{}, map[string]string{}
	for _, s := range a.Sets {
		sa[s.Name] = strings.Join(s.Members, ",")
	}
	for _, s := range b.Sets {
		sb[s.Name] = strings.Join(s.Members, ",")
	}
	for _, n := range sortedKeys(sb) {
		if v, ok := sa[n]; !ok || v != sb[n] {
			ch.sets = append(ch.sets, n)
		}
	}
	for _, n := range sortedKeys(sa) {
		if _, ok := sb[n]; !ok {
			ch.sets = append(ch.sets, n)
		}
	}
	return ch
}

// benchState is the benchmark workload of the issue: n ports in one
// group of 10 rules (one of them remote-group), one fixed IP and two
// address pairs each.
func benchState(n int) *HostState {
	const sg = "5e5e5e5e-0000-4000-8000-000000000001"
	const netID = "ne7ne7ne-0000-4000-8000-000000000001"
	h := &HostState{Groups: map[string]*SecurityGroup{}, Members: map[string][]string{sg: {}}}
	h.Groups[sg] = &SecurityGroup{ID: sg, Stateful: true, Rules: []model.SecurityGroupRule{
		rule("r0", "egress", "IPv4", nil, nil, nil),
		rule("r1", "egress", "IPv6", nil, nil, nil),
		rule("r2", "ingress", "IPv4", sp("112"), nil, nil),
		rule("r3", "egress", "IPv4", sp("112"), nil, nil),
		rule("r4", "ingress", "IPv4", sp("icmp"), nil, nil),
		rule("r5", "ingress", "IPv4", sp("tcp"), ip(22), ip(22)),
		rule("r6", "ingress", "IPv4", sp("tcp"), ip(80), ip(80)),
		rule("r7", "ingress", "IPv4", sp("tcp"), ip(443), ip(443)),
		rule("r8", "ingress", "IPv6", sp("tcp"), ip(22), ip(22)),
		{ID: "r9", Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: sp(sg)},
	}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		p := Port{ID: id, NetworkID: netID, MAC: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff),
			FixedIPs:       []string{fmt.Sprintf("10.%d.%d.%d", 100+i>>16, i>>8&0xff, i&0xff)},
			AddressPairs:   []model.AddressPair{{IPAddress: fmt.Sprintf("10.200.%d.%d", i>>8&0xff, i&0xff)}, {IPAddress: fmt.Sprintf("10.201.%d.0/24", i&0xff)}},
			SecurityGroups: []string{sg}, PortSecurity: true}
		for j := range p.AddressPairs {
			p.AddressPairs[j].MACAddress = p.MAC
		}
		h.Ports = append(h.Ports, p)
		h.Members[sg] = append(h.Members[sg], p.FixedIPs...)
		for _, ap := range p.AddressPairs {
			h.Members[sg] = append(h.Members[sg], ap.IPAddress)
		}
	}
	return h
}

func clone(h *HostState) *HostState {
	c := *h
	c.Ports = make([]Port, len(h.Ports))
	for i, p := range h.Ports {
		p.FixedIPs = append([]string(nil), p.FixedIPs...)
		p.AddressPairs = append([]model.AddressPair(nil), p.AddressPairs...)
		p.SecurityGroups = append([]string(nil), p.SecurityGroups...)
		c.Ports[i] = p
	}
	c.Groups = map[string]*SecurityGroup{}
	for k, g := range h.Groups {
		g2 := *g
		g2.Rules = append([]model.SecurityGroupRule(nil), g.Rules...)
		c.Groups[k] = &g2
	}
	c.Members = map[string][]string{}
	for k, v := range h.Members {
		c.Members[k] = append([]string(nil), v...)
	}
	return &c
}

// TestIncremental checks the property the performance targets rest on:
// what a change touches does not grow with the number of ports.
func TestIncremental(t *testing.T) {
	const sg = "5e5e5e5e-0000-4000-8000-000000000001"
	base := benchState(50)
	rs0 := Compile(base)
	p7 := base.Ports[7]

	t.Run("rule added to the shared group", func(t *testing.T) {
		h := clone(base)
		h.Groups[sg].Rules = append(h.Groups[sg].Rules, rule("new", "ingress", "IPv4", sp("udp"), ip(53), ip(53)))
		ch := diffRulesets(t, rs0, Compile(h))
		if want := []string{"4/filter/" + GroupChain(sg, "ingress", IPv4)}; !reflect.DeepEqual(ch.rewritten, want) || len(ch.lines) != 0 || len(ch.sets) != 0 {
			t.Errorf("touched %+v, want only %v", ch, want)
		}
	})
	t.Run("rule removed from the shared group", func(t *testing.T) {
		h := clone(base)
		h.Groups[sg].Rules = h.Groups[sg].Rules[1:]
		ch := diffRulesets(t, rs0, Compile(h))
		if want := []string{"4/filter/" + GroupChain(sg, "egress", IPv4)}; !reflect.DeepEqual(ch.rewritten, want) || len(ch.lines) != 0 {
			t.Errorf("touched %+v, want only %v", ch, want)
		}
	})
	t.Run("remote-group member added", func(t *testing.T) {
		h := clone(base)
		h.Members[sg] = append(h.Members[sg], "10.250.0.1")
		ch := diffRulesets(t, rs0, Compile(h))
		if len(ch.rewritten) != 0 || len(ch.lines) != 0 || !reflect.DeepEqual(ch.sets, []string{GroupSetName(sg, IPv4)}) {
			t.Errorf("touched %+v, want only the IPv4 set", ch)
		}
	})
	t.Run("address pair of one port changed", func(t *testing.T) {
		h := clone(base)
		h.Ports[7].AddressPairs[0].IPAddress = "10.222.0.1"
		ch := diffRulesets(t, rs0, Compile(h))
		// Only sets: the port's pair set and the host's set of local
		// addresses (its remote-group members are checked here); no chain.
		want := []string{LocalSetName(IPv4), PairSetName(p7.ID[:10], IPv4)}
		if len(ch.rewritten) != 0 || len(ch.lines) != 0 || !reflect.DeepEqual(ch.sets, want) {
			t.Errorf("touched %+v, want only the sets %v", ch, want)
		}
	})
	t.Run("port removed", func(t *testing.T) {
		h := clone(base)
		h.Ports = append(h.Ports[:7], h.Ports[8:]...)
		ch := diffRulesets(t, rs0, Compile(h))
		wantChains := map[string]bool{}
		for _, f := range []string{"4", "6"} {
			for _, c := range []string{IngressChain(p7.ID), EgressChain(p7.ID), SpoofChain(p7.ID), DestChain(p7.ID)} {
				wantChains[f+"/filter/"+c] = true
			}
		}
		for _, c := range ch.rewritten {
			if !wantChains[c] {
				t.Errorf("rewrote %s", c)
			}
		}
		if len(ch.rewritten) != len(wantChains) {
			t.Errorf("rewrote %v", ch.rewritten)
		}
		for k, lines := range ch.lines {
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "-") || !strings.Contains(lines[0], p7.Dev()) {
				t.Errorf("%s: %q", k, lines)
			}
		}
		if len(ch.lines) != 6 { // from-port, to-port, INPUT; both families
			t.Errorf("unordered chains touched: %v", ch.lines)
		}
	})
	t.Run("port added", func(t *testing.T) {
		h := clone(base)
		extra := benchState(51).Ports[50]
		h.Ports = append(h.Ports, extra)
		ch := diffRulesets(t, rs0, Compile(h))
		if len(ch.rewritten) != 8 {
			t.Errorf("rewrote %v, want the new port's 8 chains", ch.rewritten)
		}
		if len(ch.lines) != 6 {
			t.Errorf("unordered chains touched: %v", ch.lines)
		}
	})
	t.Run("DHCP port of the network changed", func(t *testing.T) {
		h := clone(base)
		h.Networks = map[string]*Network{base.Ports[0].NetworkID: {ID: base.Ports[0].NetworkID,
			DHCP: []ServicePort{{ID: "dhcp", MAC: "fa:16:3e:dd:00:02", FixedIPs: []string{"10.100.0.2"}}}}}
		ch := diffRulesets(t, rs0, Compile(h))
		for _, c := range ch.rewritten {
			if !strings.HasPrefix(c, "4/filter/"+ChainPrefix+"i") {
				t.Errorf("rewrote %s, want only IPv4 ingress chains", c)
			}
		}
		if len(ch.rewritten) != len(base.Ports) || len(ch.lines) != 0 || len(ch.sets) != 0 {
			t.Errorf("touched %d chains, %v, %v; want the %d ingress chains", len(ch.rewritten), ch.lines, ch.sets, len(base.Ports))
		}
	})
	t.Run("port made stateless", func(t *testing.T) {
		h := clone(base)
		h.Groups["5ad5ad5a-0000-4000-8000-000000000001"] = &SecurityGroup{ID: "5ad5ad5a-0000-4000-8000-000000000001"}
		h.Ports[7].SecurityGroups = []string{"5ad5ad5a-0000-4000-8000-000000000001"}
		ch := diffRulesets(t, rs0, Compile(h))
		if len(ch.lines["4/raw/"+ChainNotrack]) != 1 || len(ch.lines["6/raw/"+ChainNotrack]) != 1 {
			t.Errorf("notrack not added as one line: %v", ch.lines)
		}
	})
}

func TestZoneAllocation(t *testing.T) {
	h := &HostState{Groups: map[string]*SecurityGroup{}}
	for _, n := range []string{"net-c", "net-a", "net-b"} {
		h.Ports = append(h.Ports, Port{ID: "p-" + n, NetworkID: n, MAC: "fa:16:3e:00:00:01", PortSecurity: true})
	}
	h.Ports = append(h.Ports, Port{ID: "p-off", NetworkID: "net-off", MAC: "fa:16:3e:00:00:02"})
	z := Compile(h).Zones
	if want := map[string]uint16{"net-a": 4097, "net-b": 4098, "net-c": 4099}; !reflect.DeepEqual(z, want) {
		t.Fatalf("fresh zones %v, want %v", z, want)
	}
	// A new network sorting first does not move the others once the
	// allocation is fed back.
	h.Zones = z
	h.Ports = append(h.Ports, Port{ID: "p-0", NetworkID: "net-0", MAC: "fa:16:3e:00:00:03", PortSecurity: true})
	z2 := Compile(h).Zones
	if want := map[string]uint16{"net-0": 4100, "net-a": 4097, "net-b": 4098, "net-c": 4099}; !reflect.DeepEqual(z2, want) {
		t.Fatalf("zones after adding a network %v, want %v", z2, want)
	}
	// A network that leaves frees its zone for the next newcomer.
	h.Zones = z2
	h.Ports = h.Ports[1:] // net-c gone
	h.Ports = append(h.Ports, Port{ID: "p-z", NetworkID: "net-z", MAC: "fa:16:3e:00:00:04", PortSecurity: true})
	z3 := Compile(h).Zones
	if z3["net-z"] != 4099 || z3["net-c"] != 0 || z3["net-0"] != 4100 {
		t.Fatalf("zones after a network left %v", z3)
	}
	// Conflicting kernel state (two networks on one zone): first in id order keeps it.
	h.Zones = map[string]uint16{"net-a": 5000, "net-b": 5000}
	z4 := Compile(h).Zones
	if z4["net-a"] != 5000 || z4["net-b"] == 5000 {
		t.Fatalf("conflicting zones resolved as %v", z4)
	}
}

func TestStatelessDecision(t *testing.T) {
	mk := func(stateful ...bool) *HostState {
		h := &HostState{Groups: map[string]*SecurityGroup{}}
		p := Port{ID: "p1", NetworkID: "n", MAC: "fa:16:3e:00:00:01", FixedIPs: []string{"10.0.0.1"}, PortSecurity: true}
		for i, s := range stateful {
			id := fmt.Sprintf("g%d", i)
			h.Groups[id] = &SecurityGroup{ID: id, Stateful: s}
			p.SecurityGroups = append(p.SecurityGroups, id)
		}
		h.Ports = []Port{p}
		return h
	}
	for _, c := range []struct {
		groups    []bool
		stateless bool
	}{{nil, false}, {[]bool{true}, false}, {[]bool{false}, true}, {[]bool{false, false}, true}, {[]bool{false, true}, false}} {
		rs := Compile(mk(c.groups...))
		notrack := len(rs.Tables[IPv4][Raw].Chain(ChainNotrack).Rules) == 1
		hasState := false
		for _, r := range rs.Tables[IPv4][Filter].Chain(IngressChain("p1")).Rules {
			hasState = hasState || r.Comment == CommentState
		}
		if notrack != c.stateless || hasState == c.stateless {
			t.Errorf("groups stateful=%v: notrack=%v state-rule=%v", c.groups, notrack, hasState)
		}
	}
}

func TestLinkLocal(t *testing.T) {
	for mac, want := range map[string]string{
		"fa:16:3e:20:00:01": "fe80::f816:3eff:fe20:1",
		"FA:16:3E:AA:BB:CC": "fe80::f816:3eff:feaa:bbcc",
		"00:00:00:00:00:00": "fe80::200:ff:fe00:0",
	} {
		if a, ok := LinkLocal(mac); !ok || a.String() != want {
			t.Errorf("LinkLocal(%s) = %v, want %s", mac, a, want)
		}
	}
	if _, ok := LinkLocal("nope"); ok {
		t.Error("LinkLocal accepted a bad MAC")
	}
}

func TestNames(t *testing.T) {
	id := "6add5cea-f0ca-560d-a916-6c4a3da99f55"
	for got, want := range map[string]string{
		DeviceName(id):                                       "tap6add5cea-f0",
		IngressChain(id):                                     "bulwark-i6add5cea-f",
		EgressChain(id):                                      "bulwark-o6add5cea-f",
		SpoofChain(id):                                       "bulwark-s6add5cea-f",
		GroupChain(id, "ingress", IPv4):                      "bulwark-g6add5cea-f-i4",
		GroupChain(id, "egress", IPv6):                       "bulwark-g6add5cea-f-o6",
		GroupSetName(id, IPv6):                               "bulwark-66add5cea-f0ca-560d-a",
		AddressGroupSetName(id, IPv4):                        "bulwark-a46add5cea-f0ca-560d-",
		BridgeName(id):                                       "brq6add5cea-f0",
		GroupSetName(id, IPv4) + "-n":                        "bulwark-46add5cea-f0ca-560d-a-n",
		AddressGroupSetName("x", IPv6):                       "bulwark-a6x",
		GroupChain("short", "egress", 4):                     "bulwark-gshort-o4",
		IngressChain("short"):                                "bulwark-ishort",
		DeviceName("short"):                                  "tapshort",
		fmt.Sprint(len(GroupSetName(id, 4) + SetSwapSuffix)): "31",
	} {
		if got != want {
			t.Errorf("got %q want %q", got, want)
		}
	}
}

// keepalived is a table of hand-written expectations for the scenario the
// project exists for (reference cases a and b), checked on Bulwark's rules
// with the deciding rule's comment.
func TestKeepalivedExpectations(t *testing.T) {
	const (
		k1, k2     = "tap6add5cea-f0", "tap68b89d5e-f7"
		mac1, mac2 = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"
		br         = "brq080d7ac9-67"
	)
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	type exp struct {
		desc     string
		pkt      Packet
		action   string
		deciding string // comment prefix of the deciding rule ("" for ACCEPT/fall-through)
	}
	fwd := func(in, out, mac, src, dst string, proto, dport int, state string) Packet {
		return Packet{Family: famOf(a(src)), Hook: "FORWARD", Bridge: br, PhysIn: in, PhysOut: out, SrcMAC: mac,
			Src: a(src), Dst: a(dst), Proto: proto, SPort: 40000, DPort: dport, State: state}
	}
	for _, c := range []struct {
		ref  string
		exps []exp
	}{
		{"a-keepalived", []exp{
			{"VRRP k1 -> k2", fwd(k1, k2, mac1, "172.16.200.193", "224.0.0.18", 112, 0, "NEW"), "ACCEPT", ""},
			{"VRRP from the VIP k1 -> uplink", fwd(k1, "eth1", mac1, "172.16.200.251", "224.0.0.18", 112, 0, "NEW"), "ACCEPT", ""},
			{"k2 sourcing the VIP is dropped", fwd(k2, "eth1", mac2, "172.16.200.251", "203.0.113.5", 6, 80, "NEW"), "DROP", CommentAntiSpoof},
			{"k1 with k2's MAC is dropped", fwd(k1, "eth1", mac2, "172.16.200.193", "203.0.113.5", 6, 80, "NEW"), "DROP", CommentAntiSpoof},
			{"ssh to k1", fwd("eth1", k1, "fa:16:3e:ee:ee:ee", "203.0.113.5", "172.16.200.193", 6, 22, "NEW"), "ACCEPT", ""},
			{"ssh to the VIP on k1", fwd("eth1", k1, "fa:16:3e:ee:ee:ee", "203.0.113.5", "172.16.200.251", 6, 22, "NEW"), "ACCEPT", ""},
			{"tcp/2222 to k1", fwd("eth1", k1, "fa:16:3e:ee:ee:ee", "203.0.113.5", "172.16.200.193", 6, 2222, "NEW"), "DROP", CommentFallback},
			{"reply on tcp/2222 to k1", fwd("eth1", k1, "fa:16:3e:ee:ee:ee", "203.0.113.5", "172.16.200.193", 6, 2222, "ESTABLISHED"), "ACCEPT", ""},
			{"INVALID to k1", fwd("eth1", k1, "fa:16:3e:ee:ee:ee", "203.0.113.5", "172.16.200.193", 6, 2222, "INVALID"), "DROP", CommentInvalid},
			{"k1 -> k2 tcp/2222 fails k2's ingress", fwd(k1, k2, mac1, "172.16.200.193", "172.16.200.194", 6, 2222, "NEW"), "DROP", CommentFallback},
			{"DHCP discover", Packet{Family: IPv4, Hook: "FORWARD", Bridge: br, PhysIn: k1, PhysOut: "eth1", SrcMAC: mac1, Src: a("0.0.0.0"), Dst: a("255.255.255.255"), Proto: 17, SPort: 68, DPort: 67, State: "NEW"}, "ACCEPT", ""},
			{"DHCP discover from a foreign MAC", Packet{Family: IPv4, Hook: "FORWARD", Bridge: br, PhysIn: k1, PhysOut: "eth1", SrcMAC: "02:00:00:00:00:09", Src: a("0.0.0.0"), Dst: a("255.255.255.255"), Proto: 17, SPort: 68, DPort: 67, State: "NEW"}, "DROP", CommentAntiSpoof},
			{"DHCP server on a VM", Packet{Family: IPv4, Hook: "FORWARD", Bridge: br, PhysIn: k1, PhysOut: "eth1", SrcMAC: mac1, Src: a("172.16.200.193"), Dst: a("255.255.255.255"), Proto: 17, SPort: 67, DPort: 68, State: "NEW"}, "DROP", CommentDHCPSpoof},
			{"IPv6 from a global address on an IPv4-only port", fwd(k1, "eth1", mac1, "2001:db8::1", "2001:db8:ff::5", 6, 80, "NEW"), "DROP", CommentAntiSpoof},
			{"IPv6 from the port's link-local", fwd(k1, "eth1", mac1, "fe80::f816:3eff:fe00:1", "ff02::1", 58, 0, "NEW"), "ACCEPT", ""},
			{"VM -> host from a foreign IP", Packet{Family: IPv4, Hook: "INPUT", Bridge: br, PhysIn: k1, SrcMAC: mac1, Src: a("10.9.9.9"), Dst: a("172.16.200.1"), Proto: 6, DPort: 22, State: "NEW"}, "DROP", CommentAntiSpoof},
			{"VM -> host allowed by egress: left to the host's firewall", Packet{Family: IPv4, Hook: "INPUT", Bridge: br, PhysIn: k1, SrcMAC: mac1, Src: a("172.16.200.193"), Dst: a("172.16.200.1"), Proto: 6, DPort: 22, State: "NEW"}, "", ""},
			{"not ours", fwd("eth1", "eth2", "fa:16:3e:ee:ee:ee", "203.0.113.5", "203.0.113.6", 6, 22, "NEW"), "", ""},
		}},
		{"b-keepalived-portsec-off", []exp{
			{"k2 (port security off) sources anything", fwd(k2, "eth1", "02:00:00:00:00:09", "9.9.9.9", "203.0.113.5", 6, 2222, "NEW"), "ACCEPT", ""},
			{"anything to k2", fwd("eth1", k2, "02:00:00:00:00:09", "9.9.9.9", "172.16.200.194", 6, 2222, "INVALID"), "ACCEPT", ""},
			{"k2 -> k1 still checked by k1's ingress", fwd(k2, k1, mac2, "172.16.200.194", "172.16.200.193", 6, 2222, "NEW"), "DROP", CommentFallback},
			{"k2 -> k1 ssh", fwd(k2, k1, mac2, "172.16.200.194", "172.16.200.193", 6, 22, "NEW"), "ACCEPT", ""},
		}},
	} {
		h, err := LoadReferenceModel([]byte(readRef(t, c.ref, "model.json")))
		if err != nil {
			t.Fatal(err)
		}
		rs := Compile(h)
		for _, e := range c.exps {
			v, err := NewEvaluator(rs, e.pkt.Family).Evaluate(e.pkt)
			if err != nil {
				t.Fatalf("%s: %v", e.desc, err)
			}
			last := v.Last().Rule.Comment
			if v.Action != e.action || (e.deciding != "" && !strings.HasPrefix(last, e.deciding)) {
				t.Errorf("%s %s: %q by %q, want %q by %q\n  %s", c.ref, e.desc, v.Action, last, e.action, e.deciding, pathText(v))
			}
		}
	}
}

func TestCompileDeterministic(t *testing.T) {
	for name, h := range allStates(t) {
		a, b := Compile(h), Compile(h)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two compilations differ", name)
		}
		sorted := true
		for _, tables := range a.Tables {
			for _, tr := range tables {
				sorted = sorted && sort.SliceIsSorted(tr.Chains, func(i, j int) bool { return tr.Chains[i].Name < tr.Chains[j].Name })
			}
		}
		if !sorted {
			t.Errorf("%s: chains not in name order", name)
		}
	}
}

func BenchmarkCompileRender1000(b *testing.B) {
	h := benchState(1000)
	for i := 0; i < b.N; i++ {
		r := Render(Compile(h))
		_ = r
	}
}

func BenchmarkCompile1000(b *testing.B) {
	h := benchState(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = Compile(h)
	}
}

// A verdict names the set member that let a packet through: the remote
// group's member for a remote-group rule, the pair set's entry for a VIP.
func TestVerdictNamesSetMembers(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		ref, desc string
		pkt       Packet
		set       string // the set the lookup must be in (GroupSetName for the remote group)
		addr      string
	}{
		{"c-remote-group", "app02 -> app03 tcp/8080, allowed by membership",
			Packet{Family: IPv4, Hook: "FORWARD", PhysIn: "tap5cbc2508-31", PhysOut: "tap254f5523-69", SrcMAC: "fa:16:3e:10:00:02",
				Src: a("10.10.0.12"), Dst: a("10.10.0.13"), Proto: 6, SPort: 40000, DPort: 8080, State: "NEW"},
			GroupSetName("cf73132d-413e-5e0a-b3c0-ba94dd7fc97d", IPv4), "10.10.0.12"},
		{"a-keepalived", "VRRP from the VIP, an address pair of k1",
			Packet{Family: IPv4, Hook: "FORWARD", PhysIn: "tap6add5cea-f0", PhysOut: "eth1", SrcMAC: "fa:16:3e:00:00:01",
				Src: a("172.16.200.251"), Dst: a("224.0.0.18"), Proto: 112, State: "NEW"},
			PairSetName("6add5cea-f", IPv4), "172.16.200.251"},
	} {
		h, err := LoadReferenceModel([]byte(readRef(t, c.ref, "model.json")))
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewEvaluator(Compile(h), IPv4).Evaluate(c.pkt)
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != "ACCEPT" {
			t.Fatalf("%s: %q, want ACCEPT\n%s", c.desc, v.Action, pathText(v))
		}
		var found []SetMatch
		for _, s := range v.Path {
			found = append(found, s.Sets...)
		}
		want := SetMatch{Set: c.set, Dir: "src", Addr: a(c.addr), In: true, Member: netip.PrefixFrom(a(c.addr), 32)}
		if !slices.Contains(found, want) {
			t.Errorf("%s: set lookups %+v lack %+v\n%s", c.desc, found, want, pathText(v))
		}
	}
}
