package firewall

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

func TestQuoteComment(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"hook", "hook"},
		{"anti-spoof", "anti-spoof"},
		{"a_b-9Z", "a_b-9Z"},
		{"sg-rule:6d81a226", `"sg-rule:6d81a226"`},
		{"address-pair 10.1.0.0/24 fa:16:3e:30:00:01", `"address-pair 10.1.0.0/24 fa:16:3e:30:00:01"`},
		{"", `""`},
		{`say "hi" it's \`, `"say \"hi\" it\'s \\"`},
	} {
		if got := QuoteComment(c.in); got != c.want {
			t.Errorf("QuoteComment(%q) = %s, want %s", c.in, got, c.want)
		}
		// What iptables-restore reads back is the original.
		toks, err := SplitArgs("x " + QuoteComment(c.in))
		if err != nil || len(toks) != 2 || toks[1] != c.in {
			t.Errorf("SplitArgs(%s) = %q, %v", QuoteComment(c.in), toks, err)
		}
	}
}

func TestRenderRule(t *testing.T) {
	for _, c := range []struct {
		r    Rule
		want string
	}{
		{Rule{Target: "DROP"}, "-A c -j DROP"},
		{Rule{Target: "DROP", Comment: "fallback"}, "-A c -m comment --comment fallback -j DROP"},
		{Rule{Match: "-p tcp -m tcp --dport 22", Target: ChainAccept, Goto: true, Comment: "sg-rule:x"},
			`-A c -p tcp -m tcp --dport 22 -m comment --comment "sg-rule:x" -g bulwark-accept`},
		{Rule{Match: "-i brq1", Target: "CT --zone 4097"}, "-A c -i brq1 -j CT --zone 4097"},
	} {
		if got := RenderRule("c", c.r); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
		chain, back, err := ParseRule(c.want)
		if err != nil || chain != "c" || back != c.r {
			t.Errorf("ParseRule(%s) = %q %+v %v", c.want, chain, back, err)
		}
	}
}

func TestProtocolNames(t *testing.T) {
	for n, want := range map[int]string{6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 112: "vrrp", 47: "gre", 4: "ipencap", 94: "ipip", 132: "sctp", 136: "udplite", 254: "254"} {
		if got := ProtocolName(n); got != want {
			t.Errorf("ProtocolName(%d) = %q, want %q", n, got, want)
		}
		if back := ProtocolNumberOf(want); back != n {
			t.Errorf("ProtocolNumberOf(%q) = %d, want %d", want, back, n)
		}
	}
	if ProtocolNumberOf("nonsense") != -1 || ProtocolNumberOf("icmpv6") != 58 {
		t.Error("ProtocolNumberOf")
	}
}

// The protocol table must agree with this machine's /etc/protocols when it
// has one (that is what iptables-save prints with).
func TestProtocolNamesMatchEtcProtocols(t *testing.T) {
	b, err := os.ReadFile("/etc/protocols")
	if err != nil {
		t.Skip("no /etc/protocols")
	}
	first := map[int]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var n int
		if _, err := fmt.Sscan(f[1], &n); err != nil || n > 255 {
			continue
		}
		if _, ok := first[n]; !ok {
			first[n] = f[0]
		}
	}
	for n, name := range first {
		if n == 0 {
			continue // "-p 0" is "all": no -p printed
		}
		if got := ProtocolName(n); got != name {
			t.Errorf("protocol %d: ProtocolName %q, /etc/protocols %q", n, got, name)
		}
	}
}

func TestRenderIPSets(t *testing.T) {
	got := RenderIPSets([]IPSet{
		{Name: "bulwark-6b", Family: IPv6, Members: []string{"fd00::1", "fd00:1::/64"}},
		{Name: "bulwark-4a", Family: IPv4, Members: []string{}},
	})
	want := "create bulwark-4a hash:net family inet hashsize 1024 maxelem 65536\n" +
		"create bulwark-6b hash:net family inet6 hashsize 1024 maxelem 65536\n" +
		"add bulwark-6b fd00::1\nadd bulwark-6b fd00:1::/64\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRenderKernelRoundTrip restores every reference case's rendered text
// with the real iptables-restore, ip6tables-restore and ipset in a private
// network namespace, and checks that iptables-save and ipset save print
// exactly what was rendered. Root only; it never touches the caller's
// namespace.
func TestRenderKernelRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates a private network namespace)")
	}
	for _, tool := range []string{"ip", "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	rulesets := map[string]*Ruleset{}
	for _, c := range referenceCases(t) {
		_, rs := loadCase(t, c)
		rulesets[c] = rs
	}
	for name, mk := range syntheticCases() {
		rulesets[name] = Compile(mk())
	}
	for i, c := range sortedKeys(rulesets) {
		rs := rulesets[c]
		t.Run(c, func(t *testing.T) {
			r := Render(rs)
			ns := fmt.Sprintf("bwfw-rt-%d-%d", os.Getpid(), i)
			if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
				t.Skipf("cannot create a network namespace: %v %s", err, out)
			}
			defer exec.Command("ip", "netns", "del", ns).Run()
			run := func(stdin string, args ...string) string {
				cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
				cmd.Stdin = strings.NewReader(stdin)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, errb.String())
				}
				return out.String()
			}
			run(r.IPSets, "ipset", "restore")
			run(r.IPv4, "iptables-restore", "--noflush")
			run(r.IPv6, "ip6tables-restore", "--noflush")
			for _, f := range []Family{IPv4, IPv6} {
				save := "iptables-save"
				if f == IPv6 {
					save = "ip6tables-save"
				}
				for _, tb := range []Table{Filter, Raw} {
					got := normalizeSave(run("", save, "-t", string(tb)))
					want := RenderTable(tb, rs.Tables[f][tb])
					if got != want {
						t.Errorf("IPv%d %s: %s prints back something else:\n%s", f, tb, save, firstDiff(want, got))
					}
				}
			}
			saved, err := ParseIPSetSave(run("", "ipset", "save"))
			if err != nil {
				t.Fatal(err)
			}
			ours := SetsOf(rs)
			if len(saved) != len(ours) {
				t.Errorf("ipset save has %d sets, rendered %d", len(saved), len(ours))
			}
			for name, members := range ours {
				if prefixList(saved[name]) != prefixList(members) {
					t.Errorf("set %s: saved %s, rendered %s", name, prefixList(saved[name]), prefixList(members))
				}
			}
			// The kernel's text, read back by the evaluator, gives the same
			// ruleset: a trace over iptables-save output sees what we built.
			for _, f := range []Family{IPv4, IPv6} {
				save := map[Family]string{IPv4: "iptables-save", IPv6: "ip6tables-save"}[f]
				tables, err := ParseSave(run("", save))
				if err != nil {
					t.Fatal(err)
				}
				for _, tb := range []Table{Filter, Raw} {
					if a, b := RenderTable(tb, tables[tb]), RenderTable(tb, rs.Tables[f][tb]); a != b {
						t.Errorf("IPv%d %s: parsed save differs:\n%s", f, tb, firstDiff(b, a))
					}
				}
			}
		})
	}
}

// normalizeSave drops what iptables-save adds around the restore text:
// "#" lines and the declarations of built-in chains.
func normalizeSave(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, ":") {
			if f := strings.Fields(l); len(f) > 1 && f[1] != "-" {
				continue // ":INPUT ACCEPT [0:0]"
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

func TestRenderDeterministic(t *testing.T) {
	for _, c := range referenceCases(t) {
		h, rs := loadCase(t, c)
		// Shuffle the input order: same text.
		h2 := *h
		h2.Ports = append([]Port(nil), h.Ports...)
		sort.Slice(h2.Ports, func(i, j int) bool { return h2.Ports[i].ID > h2.Ports[j].ID })
		if a, b := Render(rs), Render(Compile(&h2)); a != b {
			t.Errorf("%s: rendering depends on port order", c)
		}
	}
}
