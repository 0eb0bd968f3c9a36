package firewall

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// sameOutput fails unless the memoizing compiler's ruleset is the pure
// one's: the rendered text, warnings, ports and zones.
func sameOutput(t *testing.T, what string, want, got *Ruleset) {
	t.Helper()
	if w, g := Render(want), Render(got); w != g {
		t.Fatalf("%s: rendered text differs\n--- Compile:\n%s\n%s\n%s\n--- Compiler.Compile:\n%s\n%s\n%s", what, w.IPv4, w.IPv6, w.IPSets, g.IPv4, g.IPv6, g.IPSets)
	}
	if !reflect.DeepEqual(want.Warnings, got.Warnings) {
		t.Fatalf("%s: warnings differ\n%q\n%q", what, want.Warnings, got.Warnings)
	}
	if !reflect.DeepEqual(want.Ports, got.Ports) || !reflect.DeepEqual(want.Zones, got.Zones) {
		t.Fatalf("%s: ports or zones differ", what)
	}
	if !reflect.DeepEqual(want.Tables, got.Tables) || !reflect.DeepEqual(want.Sets, got.Sets) {
		t.Fatalf("%s: tables or sets differ", what)
	}
}

func TestCompilerMatchesCompile(t *testing.T) {
	for name, h := range allStates(t) {
		var m Compiler
		for i := 0; i < 3; i++ { // fresh, then fully memoized
			sameOutput(t, fmt.Sprintf("%s call %d", name, i), Compile(h), m.Compile(h))
		}
	}
}

func TestCompilerReusesChains(t *testing.T) {
	var m Compiler
	h := benchState(20)
	a := m.Compile(h)
	h2 := clone(h)
	h2.Members["5e5e5e5e-0000-4000-8000-000000000001"] = append(h2.Members["5e5e5e5e-0000-4000-8000-000000000001"], "10.250.0.1")
	b := m.Compile(h2)
	if !sameTables(a, b) {
		t.Errorf("only members changed, yet Compile built new tables")
	}
	for f, byT := range a.Tables {
		for tbl, tr := range byT {
			for i, c := range tr.Chains {
				d := b.Tables[f][tbl].Chains[i]
				if c.Unordered || len(c.Rules) == 0 || len(c.Rules) != len(d.Rules) {
					continue
				}
				if &c.Rules[0] != &d.Rules[0] && (c.Name != ChainForward && c.Name != ChainAccept && c.Name != ChainFallback && c.Name != ChainPrerouting) {
					t.Errorf("%d/%s/%s not reused", f, tbl, c.Name)
				}
			}
		}
	}
}

// TestCompilerRandomEdits applies random edits to a host state and checks
// after each that the memoizing compiler still matches Compile.
func TestCompilerRandomEdits(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const sg = "5e5e5e5e-0000-4000-8000-000000000001"
	const sg2 = "5e5e5e5e-0000-4000-8000-000000000002"
	const ag = "addr0000-0000-4000-8000-000000000001"
	for _, start := range []func() *HostState{func() *HostState { return benchState(30) }, kitchenSink} {
		// m compiles every state; u takes UpdateMembers for the steps
		// that change only members, and must keep the tables then.
		var m, u Compiler
		var prev *Ruleset
		var prevCopy map[Family]map[Table]*TableRules
		kept := 0
		h := start()
		if h.AddressGroups == nil {
			h.AddressGroups = map[string][]string{}
		}
		if h.Groups[sg] == nil {
			h.Groups[sg] = &SecurityGroup{ID: sg, Stateful: true}
			h.Ports[0].SecurityGroups = append(h.Ports[0].SecurityGroups, sg)
		}
		for step := 0; step < 400; step++ {
			h = clone(h)
			h.AddressGroups = cloneMap(h.AddressGroups)
			n := len(h.Ports)
			var what string
			switch k := rng.Intn(17); {
			case n == 0 || k == 0:
				p := benchState(40 + step%20).Ports[39+step%20]
				p.ID = fmt.Sprintf("%08x-1111-4000-8000-%012x", step, step)
				h.Ports = append(h.Ports, p)
				what = "port added"
			case k == 1:
				i := rng.Intn(n)
				h.Ports = append(h.Ports[:i], h.Ports[i+1:]...)
				what = "port removed"
			case k == 2:
				h.Ports[rng.Intn(n)].AddressPairs = append(h.Ports[rng.Intn(n)].AddressPairs, model.AddressPair{IPAddress: fmt.Sprintf("10.9.%d.%d", step%250, rng.Intn(250))})
				what = "address pair added"
			case k == 3:
				h.Ports[rng.Intn(n)].FixedIPs = []string{fmt.Sprintf("10.8.%d.1", rng.Intn(3)), "bogus"}
				what = "fixed ips changed (one unusable)"
			case k == 4:
				h.Ports[rng.Intn(n)].PortSecurity = rng.Intn(2) == 0
				what = "port security toggled"
			case k == 5:
				h.Ports[rng.Intn(n)].FailClosed = rng.Intn(3) == 0
				what = "fail closed toggled"
			case k == 6:
				h.Ports[rng.Intn(n)].SecurityGroups = [][]string{{sg}, {sg2}, {sg, sg2}, {"unknown-group"}, nil}[rng.Intn(5)]
				what = "groups changed"
			case k == 7:
				g := h.Groups[sg]
				g.Rules = append(g.Rules, rule(fmt.Sprintf("n%d", step), []string{"ingress", "egress"}[rng.Intn(2)], []string{"IPv4", "IPv6"}[rng.Intn(2)], sp([]string{"tcp", "udp", "icmp", "nope"}[rng.Intn(4)]), ip(rng.Intn(1000)), ip(1000)))
				what = "rule added"
			case k == 8:
				if g := h.Groups[sg]; len(g.Rules) > 0 {
					i := rng.Intn(len(g.Rules))
					g.Rules = append(g.Rules[:i], g.Rules[i+1:]...)
				}
				what = "rule removed"
			case k == 9:
				h.Members[sg] = append(h.Members[sg], fmt.Sprintf("10.7.%d.%d", rng.Intn(250), rng.Intn(250)), "2001:db8::"+fmt.Sprint(rng.Intn(99)))
				if rng.Intn(8) == 0 {
					h.Members[sg] = append(h.Members[sg], "junk")
				}
				what = "members added"
			case k == 10:
				if ms := h.Members[sg]; len(ms) > 0 {
					h.Members[sg] = ms[:rng.Intn(len(ms))]
				}
				what = "members removed"
			case k == 11:
				if h.Groups[sg2] == nil {
					h.Groups[sg2] = &SecurityGroup{ID: sg2, Stateful: true}
				}
				g := h.Groups[sg2]
				g.Stateful = rng.Intn(2) == 0
				g.Rules = append(g.Rules, model.SecurityGroupRule{ID: fmt.Sprintf("a%d", step), Direction: "ingress", Ethertype: "IPv4", RemoteAddressGroupID: sp(ag)},
					model.SecurityGroupRule{ID: fmt.Sprintf("b%d", step), Direction: "egress", Ethertype: "IPv6", RemoteGroupID: sp(sg)})
				what = "second group changed"
			case k == 12:
				h.AddressGroups[ag] = append(append([]string(nil), h.AddressGroups[ag]...), fmt.Sprintf("192.168.%d.0/24", rng.Intn(250)), "0.0.0.0/0")
				what = "address group changed"
			case k == 13:
				i := rng.Intn(n)
				h.Ports[i].MAC = []string{"fa:16:3e:00:00:01", "FA:16:3E:00:00:02", "not-a-mac"}[rng.Intn(3)]
				what = "mac changed"
			case k == 14:
				i, j := rng.Intn(n), rng.Intn(n)
				h.Ports[i].Device = h.Ports[j].Dev()
				what = "device shared"
			case k == 15:
				nets := map[string]*Network{}
				for id, nw := range h.Networks {
					c := *nw
					nets[id] = &c
				}
				h.Networks = nets
				id := h.Ports[rng.Intn(n)].NetworkID
				if nets[id] == nil {
					nets[id] = &Network{ID: id}
				}
				sp := func() []ServicePort {
					if rng.Intn(4) == 0 {
						return nil
					}
					return []ServicePort{{ID: "svc", MAC: []string{"fa:16:3e:dd:00:01", "fa:16:3e:dd:00:02", "bad"}[rng.Intn(3)],
						FixedIPs: []string{fmt.Sprintf("10.6.0.%d", rng.Intn(3)), fmt.Sprintf("fd00::%d", rng.Intn(3))}}}
				}
				nets[id].DHCP, nets[id].Routers = sp(), sp()
				what = "network DHCP/router ports changed"
			default:
				i := rng.Intn(n)
				p := h.Ports[i]
				p.ID = p.ID[:10] + "zzzz" // same 10-char prefix: hashed chain names
				h.Ports = append(h.Ports, p)
				what = "colliding port added"
			}
			want := Compile(h)
			sameOutput(t, fmt.Sprintf("step %d (%s)", step, what), want, m.Compile(h))
			var got *Ruleset
			if strings.HasPrefix(what, "members") {
				got = u.UpdateMembers(h, []string{sg, "not-a-remote-group"})
				if sameTables(got, prev) {
					kept++
				}
			} else {
				got = u.Compile(h)
			}
			// A table handed out again must be the same, rule for rule.
			if prev != nil {
				for f, byT := range got.Tables {
					for tbl, tr := range byT {
						if tr == prev.Tables[f][tbl] && !reflect.DeepEqual(*tr, *prevCopy[f][tbl]) {
							t.Fatalf("step %d (%s): IPv%d %s handed out again, but it changed", step, what, f, tbl)
						}
					}
				}
			}
			sameOutput(t, fmt.Sprintf("step %d (%s) via UpdateMembers", step, what), want, got)
			prev, prevCopy = got, deepCopyTables(got)
		}
		if kept < 10 {
			t.Errorf("UpdateMembers kept the tables only %d times: the cheap path was hardly taken", kept)
		}
		t.Logf("UpdateMembers kept the tables %d times", kept)
	}
}

// sameTables: b hands out a's tables (the same *TableRules, all of them).
func sameTables(a, b *Ruleset) bool {
	for f, byT := range a.Tables {
		for tbl, tr := range byT {
			if b.Tables[f][tbl] != tr {
				return false
			}
		}
	}
	return true
}

func deepCopyTables(rs *Ruleset) map[Family]map[Table]*TableRules {
	out := map[Family]map[Table]*TableRules{}
	for f, byT := range rs.Tables {
		out[f] = map[Table]*TableRules{}
		for tbl, tr := range byT {
			c := &TableRules{Hooks: append([]Hook(nil), tr.Hooks...)}
			for _, ch := range tr.Chains {
				ch.Rules = append([]Rule(nil), ch.Rules...)
				c.Chains = append(c.Chains, ch)
			}
			out[f][tbl] = c
		}
	}
	return out
}

func cloneMap(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = append([]string(nil), v...)
	}
	return out
}
