package iptables

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

const (
	v4     = firewall.IPv4
	v6     = firewall.IPv6
	filter = firewall.Filter
	raw    = firewall.Raw
)

// testRuleset is a small hand-written ruleset shaped like the agent's:
// a dispatch chain hooked from FORWARD and INPUT, per-port ingress and
// egress (anti-spoof) chains, conntrack zones in raw, an IPv6 table and a
// remote-group set.
func testRuleset(ports ...string) *firewall.Ruleset {
	rs := firewall.NewRuleset()
	f4, r4, f6 := rs.Tables[v4][filter], rs.Tables[v4][raw], rs.Tables[v6][filter]
	f4.Hooks = []firewall.Hook{
		{BuiltinChain: "FORWARD", Rule: r("-m physdev --physdev-is-bridged", "bulwark: bridged ports", "bulwark-sg")},
		{BuiltinChain: "INPUT", Rule: r("-m physdev --physdev-is-in", "bulwark: ports to host", "bulwark-sg")},
	}
	r4.Hooks = []firewall.Hook{{BuiltinChain: "PREROUTING", Rule: r("", "bulwark: zones", "bulwark-ct")}}
	f6.Hooks = []firewall.Hook{{BuiltinChain: "FORWARD", Rule: r("-m physdev --physdev-is-bridged", "bulwark: bridged ports", "bulwark-sg")}}
	sg, ct, sg6 := firewall.Chain{Name: "bulwark-sg"}, firewall.Chain{Name: "bulwark-ct"}, firewall.Chain{Name: "bulwark-sg"}
	set := firewall.IPSet{Name: "bulwark-sg1", Family: v4}
	for i, p := range ports {
		tap := "tap" + p
		ip := fmt.Sprintf("10.9.0.%d", i+1)
		mac := fmt.Sprintf("fa:16:3e:00:00:%02x", i+1)
		set.Members = append(set.Members, ip)
		sg.Rules = append(sg.Rules,
			r("-m physdev --physdev-out "+tap+" --physdev-is-bridged", "port "+p+" ingress", "bulwark-i"+p),
			firewall.Rule{Match: "-m physdev --physdev-in " + tap + " --physdev-is-bridged", Comment: "port " + p + " egress", Target: "bulwark-o" + p, Goto: true})
		f4.Chains = append(f4.Chains,
			firewall.Chain{Name: "bulwark-i" + p, Rules: []firewall.Rule{
				r("-m state --state RELATED,ESTABLISHED", "established", "RETURN"),
				r("-m conntrack --ctstate INVALID", "invalid", "DROP"),
				r("-p tcp -m tcp --dport 22", "sgr:1111-"+p, "RETURN"),
				r("-m set --match-set bulwark-sg1 src", "sgr:remote-"+p, "RETURN"),
				r("", "no rule matched", "DROP"),
			}},
			firewall.Chain{Name: "bulwark-o" + p, Rules: []firewall.Rule{
				r("-s "+ip+"/32 -m mac --mac-source "+mac, "anti-spoof "+p, "RETURN"),
				r("", "anti-spoof", "DROP"),
			}})
		ct.Rules = append(ct.Rules, r("-m physdev --physdev-in "+tap, "zone of "+p, fmt.Sprintf("CT --zone %d", 4097+i)))
		sg6.Rules = append(sg6.Rules, r("-m physdev --physdev-out "+tap+" --physdev-is-bridged", "port "+p+" ingress", "bulwark-i"+p))
		f6.Chains = append(f6.Chains, firewall.Chain{Name: "bulwark-i" + p, Rules: []firewall.Rule{
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 134", "router advertisement", "RETURN"),
			r("", "no rule matched", "DROP"),
		}})
	}
	sg.Unordered = true
	f4.Chains = append([]firewall.Chain{sg}, f4.Chains...)
	r4.Chains = []firewall.Chain{ct}
	f6.Chains = append([]firewall.Chain{sg6}, f6.Chains...)
	rs.Sets = []firewall.IPSet{set}
	return rs
}

// checkKernel asserts that the namespace holds exactly the ruleset's
// owned chains and hooks, and that the applier sees no drift.
func checkKernel(t *testing.T, ns string, a *Applier, rs *firewall.Ruleset) {
	t.Helper()
	for _, fam := range []firewall.Family{v4, v6} {
		for _, tbl := range tables {
			tr := rs.Tables[fam][tbl]
			v := view(t, ns, fam, tbl)
			if want := expectChains(tr); !maps.EqualFunc(v.chains, want, slices.Equal) {
				t.Errorf("IPv%d %s: kernel chains\n%s\nwant\n%s", fam, tbl, dump(v.chains), dump(want))
			}
			for _, builtin := range []string{"INPUT", "FORWARD", "OUTPUT", "PREROUTING"} {
				var ours []string
				for _, l := range linesOf(v, builtin) {
					if strings.Contains(l, "-j bulwark-") {
						ours = append(ours, l)
					}
				}
				if want := hookLines(tr, builtin); !slices.Equal(ours, want) {
					t.Errorf("IPv%d %s %s: hooks %q, want %q", fam, tbl, builtin, ours, want)
				}
			}
		}
	}
	d, err := a.Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(d) > 0 {
		t.Errorf("drift:\n%s", strings.Join(d, "\n"))
	}
}

func dump(m map[string][]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, ":%s\n", k)
		for _, l := range m[k] {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

func setMembers(t *testing.T, ns, name string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(sh(t, ns, "ipset", "save", name), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "add" {
			out = append(out, f[2])
		}
	}
	slices.Sort(out)
	return out
}

func TestApplyFromEmptyThenNoop(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	rs := testRuleset("a", "b")
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	calls := rec.take()
	if got, want := cmdNames(writes(calls)), []string{"ipset restore", "iptables-restore -w", "ip6tables-restore -w"}; !slices.Equal(got, want) {
		t.Errorf("first Apply wrote with %q, want %q", got, want)
	}
	for _, c := range writes(calls) {
		if strings.HasSuffix(c.argv[0], "-restore") && !slices.Contains(c.argv, "--noflush") {
			t.Errorf("%v without --noflush", c.argv)
		}
	}
	checkKernel(t, ns, a, rs)
	if got := setMembers(t, ns, "bulwark-sg1"); !slices.Equal(got, []string{"10.9.0.1", "10.9.0.2"}) {
		t.Errorf("set members %q", got)
	}

	// The same ruleset again (a fresh copy, as the agent would compile it):
	// no command at all, not even a read.
	rec.take()
	if err := a.Apply(ctx, testRuleset("a", "b")); err != nil {
		t.Fatal(err)
	}
	if calls := rec.take(); len(calls) != 0 {
		t.Errorf("identical Apply ran %q", cmdNames(calls))
	}
}

func TestOneChainChangeSendsOnlyThatChain(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	if err := a.Apply(ctx, testRuleset("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	rec.take()

	rs := testRuleset("a", "b", "c")
	ib := &rs.Tables[v4][filter].Chains[3] // bulwark-ib
	if ib.Name != "bulwark-ib" {
		t.Fatalf("fixture: %s", ib.Name)
	}
	ib.Rules = slices.Insert(ib.Rules, 3, r("-p tcp -m tcp --dport 443", "sgr:2222-b", "RETURN"))
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	w := writes(rec.take())
	if len(w) != 1 || w[0].argv[0] != "iptables-restore" {
		t.Fatalf("writes %q, want one iptables-restore", cmdNames(w))
	}
	for _, l := range strings.Split(strings.TrimSpace(w[0].stdin), "\n") {
		if l != "*filter" && l != "COMMIT" && !strings.Contains(l, " bulwark-ib ") && !strings.HasPrefix(l, ":bulwark-ib ") {
			t.Errorf("restore input touches more than bulwark-ib: %q\n%s", l, w[0].stdin)
		}
	}
	t.Logf("restore input:\n%s", w[0].stdin)
	checkKernel(t, ns, a, rs)

	// A rule change in the IPv6 table only sends ip6tables-restore.
	rs.Tables[v6][filter].Chains[1].Rules[0].Comment = "RA, renamed"
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) != 1 || w[0].argv[0] != "ip6tables-restore" {
		t.Fatalf("writes %q, want one ip6tables-restore", cmdNames(w))
	}
	checkKernel(t, ns, a, rs)
}

func TestEditInPlaceLargeChain(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec, Families: []firewall.Family{v4}}
	mk := func(ports []int) *firewall.Ruleset {
		rs := firewall.NewRuleset()
		c := firewall.Chain{Name: "bulwark-big"}
		for _, p := range ports {
			c.Rules = append(c.Rules, r(fmt.Sprintf("-p tcp -m tcp --dport %d", p), fmt.Sprintf("sgr:%d", p), "RETURN"))
		}
		c.Rules = append(c.Rules, r("", "", "DROP"))
		rs.Tables[v4][filter].Chains = []firewall.Chain{c}
		rs.Tables[v4][filter].Hooks = []firewall.Hook{{BuiltinChain: "INPUT", Rule: r("", "", "bulwark-big")}}
		return rs
	}
	var ports []int
	for p := 1000; p < 1200; p++ {
		ports = append(ports, p)
	}
	if err := a.Apply(ctx, mk(ports)); err != nil {
		t.Fatal(err)
	}
	rec.take()
	steps := []struct {
		name  string
		ports []int
		want  string // the only rule-changing line expected
	}{
		{"replace one", slices.Concat(ports[:100], []int{5000}, ports[101:]), "-R bulwark-big 101 "},
		{"insert one", slices.Concat(ports[:100], []int{5000, 5001}, ports[101:]), "-I bulwark-big 102 "},
		{"delete one", slices.Concat(ports[:100], []int{5001}, ports[101:]), "-D bulwark-big 101"},
	}
	for _, st := range steps {
		rs := mk(st.ports)
		if err := a.Apply(ctx, rs); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		w := writes(rec.take())
		if len(w) != 1 {
			t.Fatalf("%s: writes %q", st.name, cmdNames(w))
		}
		if lines := strings.Split(strings.TrimSpace(w[0].stdin), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], st.want) {
			t.Errorf("%s: restore input\n%s\nwant one line starting %q", st.name, w[0].stdin, st.want)
		}
		v := view(t, ns, v4, filter)
		if want := expectChains(rs.Tables[v4][filter]); !slices.Equal(v.chains["bulwark-big"], want["bulwark-big"]) {
			t.Fatalf("%s: chain differs from the desired one", st.name)
		}
	}
}

func TestRemovedPortChainsAndHooksGone(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	if err := a.Apply(ctx, testRuleset("a", "b")); err != nil {
		t.Fatal(err)
	}
	rs := testRuleset("a")
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	checkKernel(t, ns, a, rs)
	for _, fam := range []firewall.Family{v4, v6} {
		v := view(t, ns, fam, filter)
		for name := range v.chains {
			if strings.HasSuffix(name, "b") {
				t.Errorf("IPv%d: chain %s of the removed port is still there", fam, name)
			}
		}
	}

	// Everything removed: the hooks go too, then the chains and the set.
	rec.take()
	if err := a.Apply(ctx, firewall.NewRuleset()); err != nil {
		t.Fatal(err)
	}
	checkKernel(t, ns, a, firewall.NewRuleset())
	if out := sh(t, ns, "ipset", "list", "-n"); strings.Contains(out, "bulwark-") {
		t.Errorf("sets left: %s", out)
	}
	// Order: the set is destroyed after the rules that used it are gone.
	w := writes(rec.take())
	if got := cmdNames(w); !slices.Equal(got, []string{"iptables-restore -w", "ip6tables-restore -w", "ipset restore"}) {
		t.Errorf("writes %q", got)
	}
	v4in := w[0].stdin
	if strings.Index(v4in, "-D FORWARD") > strings.Index(v4in, "-X bulwark-sg") {
		t.Errorf("chain deleted before its hook:\n%s", v4in)
	}
}

// foreignState sets up rules and chains of "another tool" and returns a
// function that checks they are exactly as they were.
func foreignState(t *testing.T, ns string) func() {
	t.Helper()
	sh(t, ns, "iptables", "-A", "FORWARD", "-j", "ACCEPT")
	sh(t, ns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "ACCEPT")
	sh(t, ns, "iptables", "-N", "other-chain")
	sh(t, ns, "iptables", "-A", "other-chain", "-s", "192.0.2.0/24", "-j", "DROP")
	sh(t, ns, "iptables", "-A", "FORWARD", "-j", "other-chain")
	sh(t, ns, "iptables", "-t", "raw", "-A", "PREROUTING", "-p", "udp", "--dport", "53", "-j", "NOTRACK")
	sh(t, ns, "ip6tables", "-A", "FORWARD", "-j", "DROP")
	sh(t, ns, "ipset", "create", "other-set", "hash:ip")
	sh(t, ns, "ipset", "add", "other-set", "192.0.2.7")
	snap := func() []string {
		var all []string
		for _, fam := range []firewall.Family{v4, v6} {
			for _, tbl := range tables {
				for _, l := range view(t, ns, fam, tbl).foreign {
					if !strings.Contains(l, "bulwark-") {
						all = append(all, fmt.Sprintf("v%d %s %s", fam, tbl, l))
					}
				}
			}
		}
		return append(all, strings.Fields(sh(t, ns, "ipset", "save", "other-set"))...)
	}
	before := snap()
	return func() {
		t.Helper()
		after := snap()
		// initval of the set is random per set, so it is stable: compare all.
		if !slices.Equal(before, after) {
			t.Errorf("foreign state changed:\nbefore %q\nafter  %q", before, after)
		}
	}
}

func TestForeignRulesUntouched(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	check := foreignState(t, ns)
	a := &Applier{Exec: InNetns(ns)}
	for _, rs := range []*firewall.Ruleset{testRuleset("a", "b"), testRuleset("b", "c"), testRuleset(), firewall.NewRuleset()} {
		if err := a.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
		check()
		checkKernel(t, ns, a, rs)
	}
	// Our hook sits above the foreign FORWARD rules.
	if err := a.Apply(ctx, testRuleset("a")); err != nil {
		t.Fatal(err)
	}
	fwd := linesOf(view(t, ns, v4, filter), "FORWARD")
	if len(fwd) != 3 || !strings.Contains(fwd[0], "-j bulwark-sg") {
		t.Errorf("FORWARD = %q, want our hook first, then the two foreign rules", fwd)
	}
	check()
}

func TestRestartAdoptsWithoutWriting(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	check := foreignState(t, ns)
	first := &Applier{Exec: InNetns(ns)}
	if err := first.Apply(ctx, testRuleset("a", "b")); err != nil {
		t.Fatal(err)
	}

	// A new process: same desired state -> it reads, writes nothing.
	rec := newRecorder(ns)
	second := &Applier{Exec: rec.Exec}
	rs := testRuleset("a", "b")
	if err := second.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	calls := rec.take()
	if w := writes(calls); len(w) != 0 {
		t.Errorf("adoption wrote: %q\n%s", cmdNames(w), w[0].stdin)
	}
	if n := len(calls); n != 5 { // 2 families x 2 tables + ipset save
		t.Errorf("adoption ran %d commands: %q", n, cmdNames(calls))
	}
	checkKernel(t, ns, second, rs)

	// Another restart, while port b has gone: only b's chains and jump
	// lines are written; a's chains are not touched.
	third := &Applier{Exec: rec.Exec}
	rs = testRuleset("a")
	if err := third.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, c := range writes(rec.take()) {
		if strings.Contains(c.stdin, "bulwark-ia") || strings.Contains(c.stdin, "bulwark-oa") {
			t.Errorf("%s rewrote port a's chains:\n%s", c.argv[0], c.stdin)
		}
	}
	checkKernel(t, ns, third, rs)

	// Another tool inserts above our hook; the next start puts ours back
	// on top (in one transaction) and keeps the foreign rule.
	sh(t, ns, "iptables", "-I", "FORWARD", "1", "-s", "198.51.100.1/32", "-j", "ACCEPT")
	fourth := &Applier{Exec: rec.Exec}
	if err := fourth.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	fwd := linesOf(view(t, ns, v4, filter), "FORWARD")
	if len(fwd) != 4 || !strings.Contains(fwd[0], "-j bulwark-sg") || !strings.Contains(fwd[1], "198.51.100.1") {
		t.Errorf("FORWARD = %q", fwd)
	}
	w := writes(rec.take())
	if len(w) != 1 || !strings.Contains(w[0].stdin, "-D FORWARD ") || !strings.Contains(w[0].stdin, "-I FORWARD 1 ") || strings.Contains(w[0].stdin, ":bulwark-") {
		t.Errorf("moving the hook back on top: writes %q, want one restore with -D/-I FORWARD and no chain rewrite", cmdNames(w))
		for _, c := range w {
			t.Logf("%s:\n%s", c.argv[0], c.stdin)
		}
	}
	sh(t, ns, "iptables", "-D", "FORWARD", "-s", "198.51.100.1/32", "-j", "ACCEPT")
	check()
}

func TestIPSetSwapAndDiff(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	rs := testRuleset("a")
	var many []string
	for i := 0; i < 200; i++ {
		many = append(many, fmt.Sprintf("10.20.%d.%d", i/100, i%100))
	}
	rs.Sets = []firewall.IPSet{
		{Name: "bulwark-sg1", Family: v4, Members: many},
		{Name: "bulwark-v6", Family: v6, Members: []string{"2001:db8::1", "2001:0db8:0:1::/64"}},
		{Name: "bulwark-all", Family: v4, Members: []string{"0.0.0.0/0"}},
	}
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	rec.take()
	ruleBefore := view(t, ns, v4, filter).chains["bulwark-ia"]

	steps := []struct {
		name    string
		members []string
		verb    string // what the ipset script must use
	}{
		{"one added", append(slices.Clone(many), "10.30.0.0/16"), "add bulwark-sg1 10.30.0.0/16"},
		{"one removed", many[1:], "del bulwark-sg1 10.20.0.0"},
		{"most replaced", append([]string{"172.16.0.1"}, many[150:]...), "swap bulwark-tmp bulwark-sg1"},
		{"emptied", nil, "swap bulwark-tmp bulwark-sg1"},
	}
	for _, st := range steps {
		rs.Sets[0].Members = st.members
		if err := a.Apply(ctx, rs); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		w := writes(rec.take())
		if len(w) != 1 || w[0].argv[0] != "ipset" {
			t.Fatalf("%s: writes %q, want one ipset restore and no iptables", st.name, cmdNames(w))
		}
		if !strings.Contains(w[0].stdin, st.verb+"\n") {
			t.Errorf("%s: script\n%s\nlacks %q", st.name, w[0].stdin, st.verb)
		}
		want := make([]string, 0, len(st.members))
		for _, m := range st.members {
			c, _, _ := canonMember(m)
			want = append(want, c)
		}
		slices.Sort(want)
		if got := setMembers(t, ns, "bulwark-sg1"); !slices.Equal(got, want) {
			t.Errorf("%s: members %d, want %d", st.name, len(got), len(want))
		}
		if out := sh(t, ns, "ipset", "list", "-n"); strings.Contains(out, "bulwark-tmp") {
			t.Errorf("%s: scratch set left behind", st.name)
		}
		if got := view(t, ns, v4, filter).chains["bulwark-ia"]; !slices.Equal(got, ruleBefore) {
			t.Errorf("%s: the rule using the set changed", st.name)
		}
	}
	if got := setMembers(t, ns, "bulwark-v6"); !slices.Equal(got, []string{"2001:db8:0:1::/64", "2001:db8::1"}) {
		t.Errorf("v6 set %q", got)
	}
	if got := setMembers(t, ns, "bulwark-all"); !slices.Equal(got, []string{"0.0.0.0/1", "128.0.0.0/1"}) {
		t.Errorf("/0 set %q", got)
	}
	checkKernel(t, ns, a, rs)

	// A restart adopts the sets as they are.
	rec2 := newRecorder(ns)
	b := &Applier{Exec: rec2.Exec}
	if err := b.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec2.take()); len(w) != 0 {
		t.Errorf("adoption wrote %q:\n%s", cmdNames(w), w[0].stdin)
	}
}

func TestFailedRestoreChangesNothing(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	good := testRuleset("a", "b")
	if err := a.Apply(ctx, good); err != nil {
		t.Fatal(err)
	}
	before4, before6 := view(t, ns, v4, filter), view(t, ns, v6, filter)

	bad := testRuleset("a", "c") // b goes, c comes, and one rule is invalid
	bad.Tables[v4][filter].Chains[3].Rules[1].Match = "-m no-such-match --x"
	err := a.Apply(ctx, bad)
	if err == nil {
		t.Fatal("Apply of an invalid rule succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-match") {
		t.Errorf("error does not show the failing line: %v", err)
	}
	t.Logf("error: %v", err)
	if after := view(t, ns, v4, filter); !maps.EqualFunc(after.chains, before4.chains, slices.Equal) || !slices.Equal(after.foreign, before4.foreign) {
		t.Errorf("IPv4 filter changed by a failed transaction")
	}
	if after := view(t, ns, v6, filter); !maps.EqualFunc(after.chains, before6.chains, slices.Equal) {
		t.Errorf("IPv6 changed although IPv4 failed first")
	}
	// The cache was dropped: the next Apply reads the kernel again and
	// converges.
	rec.take()
	if err := a.Apply(ctx, good); err != nil {
		t.Fatal(err)
	}
	calls := rec.take()
	if len(calls) < 5 || calls[0].argv[0] != "iptables-save" {
		t.Errorf("no fresh read after a failure: %q", cmdNames(calls))
	}
	checkKernel(t, ns, a, good)
}

func TestUnorderedDispatchChain(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec, Families: []firewall.Family{v4}}
	if err := a.Apply(ctx, testRuleset("b", "c", "d")); err != nil {
		t.Fatal(err)
	}
	rec.take()
	// Port a comes (it sorts first), port c goes: the dispatch chain gets
	// a's two lines appended and c's two deleted, nothing else.
	rs := testRuleset("a", "b", "d")
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	w := writes(rec.take())
	if len(w) != 1 || w[0].argv[0] != "iptables-restore" { // set members are by index: unchanged
		t.Fatalf("writes %q", cmdNames(w))
	}
	var sgLines []string
	for _, l := range strings.Split(w[0].stdin, "\n") {
		if strings.Contains(l, " bulwark-sg ") || strings.HasPrefix(l, ":bulwark-sg ") {
			sgLines = append(sgLines, l)
		}
	}
	if len(sgLines) != 4 || !strings.HasPrefix(sgLines[0], "-D bulwark-sg ") || !strings.HasPrefix(sgLines[1], "-D bulwark-sg ") ||
		!strings.HasPrefix(sgLines[2], "-A bulwark-sg ") || !strings.HasPrefix(sgLines[3], "-A bulwark-sg ") {
		t.Errorf("dispatch chain lines %q", sgLines)
	}
	// The kernel holds the same rules in another order; Drift follows the
	// kernel's order, and a restart sees nothing to do.
	d, err := a.Drift(ctx)
	if err != nil || len(d) > 0 {
		t.Fatalf("drift %q %v", d, err)
	}
	got := view(t, ns, v4, filter).chains["bulwark-sg"]
	want := expectChains(rs.Tables[v4][filter])["bulwark-sg"]
	if slices.Equal(got, want) || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("dispatch chain\n%s\nwant the same lines in another order than\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rec.take()
	b := &Applier{Exec: rec.Exec, Families: []firewall.Family{v4}}
	if err := b.Apply(ctx, testRuleset("a", "b", "d")); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) != 0 {
		t.Errorf("restart wrote %q:\n%s", cmdNames(w), w[0].stdin)
	}
}

func TestZonesReadBack(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	ns := newNetns(t)
	rs := testRuleset("a")
	for _, fam := range []firewall.Family{v4, v6} {
		rs.Tables[fam][raw].Hooks = append(rs.Tables[fam][raw].Hooks, firewall.Hook{BuiltinChain: "PREROUTING", Rule: r("", "hook", "bulwark-zone")})
		rs.Tables[fam][raw].Chains = append(rs.Tables[fam][raw].Chains, firewall.Chain{Name: "bulwark-zone", Unordered: true, Rules: []firewall.Rule{
			r("-i brq11111111-11", firewall.CommentZone+":11111111-1111-4111-8111-111111111111", "CT --zone 4097"),
			r("-i brq22222222-22", firewall.CommentZone+":22222222-2222-4222-8222-222222222222", "CT --zone 4100"),
		}})
	}
	a := &Applier{Exec: InNetns(ns)}
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint16{"11111111-1111-4111-8111-111111111111": 4097, "22222222-2222-4222-8222-222222222222": 4100}
	if z, err := a.Zones(ctx); err != nil || !maps.Equal(z, want) {
		t.Errorf("Zones from the cache = %v, %v", z, err)
	}
	// After a restart the zones come from the kernel, and the Apply that
	// follows reuses that one read.
	rec := newRecorder(ns)
	b := &Applier{Exec: rec.Exec}
	if z, err := b.Zones(ctx); err != nil || !maps.Equal(z, want) {
		t.Errorf("Zones from the kernel = %v, %v", z, err)
	}
	if err := b.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Reads != 1 || s.Restores != 0 {
		t.Errorf("stats after Zones + Apply: %+v", s)
	}
}

// A member-only change (Compiler.UpdateMembers: the same tables) is one
// ipset restore: the tables are neither diffed nor written. Once the cache
// is dropped, the same tables no longer vouch for the kernel: a chain
// damaged by hand in the meantime is repaired.
func TestMembersOnlyChangeSkipsTables(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	hs := referenceState(t, "c-remote-group")
	ns := newNetns(t)
	rec := newRecorder(ns)
	a := &Applier{Exec: rec.Exec}
	var comp firewall.Compiler
	first := comp.Compile(hs)
	if err := a.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	rec.take()

	var group string
	for id := range hs.Members {
		group = id
	}
	hs.Members[group] = append(slices.Clone(hs.Members[group]), "10.99.0.7")
	rs := comp.UpdateMembers(hs, []string{group})
	for fam, byTable := range first.Tables {
		for tbl, tr := range byTable {
			if rs.Tables[fam][tbl] != tr {
				t.Fatalf("UpdateMembers did not hand out the same IPv%d %s table", fam, tbl)
			}
		}
	}
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	w := writes(rec.take())
	if len(w) != 1 || w[0].argv[0] != "ipset" || !strings.Contains(w[0].stdin, " 10.99.0.7\n") {
		t.Fatalf("member added: writes %q, want one ipset restore adding 10.99.0.7", cmdNames(w))
	}
	var set string
	for _, s := range rs.Sets {
		if slices.Contains(s.Members, "10.99.0.7") {
			set = s.Name
		}
	}
	if got := setMembers(t, ns, set); !slices.Contains(got, "10.99.0.7") {
		t.Fatalf("set %s holds %v, without 10.99.0.7", set, got)
	}
	checkKernel(t, ns, a, rs)

	// Damage a chain behind the applier's back, drop its cache, apply the
	// same version: it must read the kernel and repair the chain.
	var chain string
	for _, c := range rs.Tables[firewall.IPv4][firewall.Filter].Chains {
		if len(c.Rules) > 1 && strings.HasPrefix(c.Name, firewall.ChainPrefix+"i") {
			chain = c.Name
			break
		}
	}
	if chain == "" {
		t.Fatal("fixture: no ingress chain")
	}
	sh(t, ns, "iptables", "-D", chain, "1")
	a.Invalidate()
	if _, err := a.Zones(ctx); err != nil { // reads the kernel first, as the agent does
		t.Fatal(err)
	}
	if err := a.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) != 1 || w[0].argv[0] != "iptables-restore" {
		t.Errorf("after Invalidate: writes %q, want the IPv4 repair", cmdNames(w))
	}
	checkKernel(t, ns, a, rs)
}

// A first write of many chains into a filter table that holds nothing
// else starts with "-Z" (it spares iptables-nft a quadratic walk); with a
// rule of someone else's in the table it does not, and that rule's
// counters survive.
func TestFirstWriteZeroesOnlyAnEmptyTable(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	rs := benchRuleset(60, 0, false)
	for _, foreign := range []bool{false, true} {
		ns := newNetns(t)
		if foreign {
			sh(t, ns, "iptables", "-A", "INPUT", "-c", "5", "500", "-s", "192.0.2.1/32", "-j", "ACCEPT")
		}
		rec := newRecorder(ns)
		a := &Applier{Exec: rec.Exec}
		if err := a.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
		var v4in string
		for _, c := range writes(rec.take()) {
			if c.argv[0] == "iptables-restore" {
				v4in = c.stdin
			}
		}
		zeroed := strings.Contains(v4in, "*filter\n-Z\n")
		if zeroed == foreign {
			t.Errorf("foreign rule %v: -Z in the IPv4 filter input: %v", foreign, zeroed)
		}
		if strings.Contains(strings.SplitN(v4in, "*filter", 2)[0], "-Z") {
			t.Errorf("-Z outside the filter table:\n%s", v4in[:200])
		}
		checkKernel(t, ns, a, rs)
		if foreign {
			if out := sh(t, ns, "iptables-save", "-c", "-t", "filter"); !strings.Contains(out, "[5:500] -A INPUT -s 192.0.2.1/32 -j ACCEPT") {
				t.Errorf("the foreign rule's counters did not survive:\n%s", firstLines(out, 12))
			}
		}
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}
