package iptables

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// benchRuleset is N ports shaped like the Neutron anchor workload
// (../shared/anchors/neutron-iptables: one group of 10 rules incl. a
// remote group, one fixed IP and two address pairs per port): about 59
// rules per port over IPv4/IPv6 filter and raw, one remote-group set of
// 3N members. variant changes one rule of port 0's ingress chain; extra
// adds port N (its chains and its dispatch lines).
func benchRuleset(n, variant int, extra bool) *firewall.Ruleset {
	rs := firewall.NewRuleset()
	f4, r4, f6, r6 := rs.Tables[v4][filter], rs.Tables[v4][raw], rs.Tables[v6][filter], rs.Tables[v6][raw]
	// The per-port dispatch chains carry no order (firewall.Chain.Unordered).
	sg4 := firewall.Chain{Name: "bulwark-sg", Unordered: true}
	in4 := firewall.Chain{Name: "bulwark-input", Unordered: true}
	ct4 := firewall.Chain{Name: "bulwark-ct", Unordered: true}
	sg6 := firewall.Chain{Name: "bulwark-sg", Unordered: true}
	ct6 := firewall.Chain{Name: "bulwark-ct", Unordered: true}
	set := firewall.IPSet{Name: "bulwark-gbench", Family: v4}
	ports := n
	if extra {
		ports++
	}
	var c4, c6 []firewall.Chain
	for p := 0; p < ports; p++ {
		id := fmt.Sprintf("%05d", p)
		tap := "tap" + id
		ip := fmt.Sprintf("10.%d.%d.%d", 1+p/65536, p/256%256, p%256)
		mac := fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", p>>16&255, p>>8&255, p&255)
		aap1 := fmt.Sprintf("172.%d.%d.%d", 16+p/65536, p/256%256, p%256)
		aap2 := fmt.Sprintf("192.168.%d.%d", p/256%256, p%256)
		if p < n {
			set.Members = append(set.Members, ip, aap1, aap2)
		}
		in, out, spoof := "bulwark-i"+id, "bulwark-o"+id, "bulwark-s"+id
		sg4.Rules = append(sg4.Rules,
			r("-m physdev --physdev-out "+tap+" --physdev-is-bridged", "port "+id+" ingress", in),
			r("-m physdev --physdev-in "+tap+" --physdev-is-bridged", "port "+id+" egress", out))
		in4.Rules = append(in4.Rules, r("-m physdev --physdev-in "+tap+" --physdev-is-bridged", "port "+id+" to host", out))
		sgr := func(k int) string { return fmt.Sprintf("sgr:0000000%d-bench-rule", k) }
		i4 := []firewall.Rule{
			r("-m state --state RELATED,ESTABLISHED", "established", "RETURN"),
			r("-m conntrack --ctstate INVALID", "invalid", "DROP"),
			r("-s 10.0.0.2/32 -p udp -m udp --sport 67 --dport 68", "dhcp server", "RETURN"),
			r("-p tcp -m tcp --dport 22", sgr(1), "RETURN"),
			r("-p tcp -m tcp --dport 80", sgr(2), "RETURN"),
			r("-p tcp -m tcp --dport 443", sgr(3), "RETURN"),
			r("-p icmp", sgr(4), "RETURN"),
			r("-s 10.0.0.0/8 -p udp -m udp --dport 53", sgr(5), "RETURN"),
			r("-s 192.168.0.0/16 -p tcp -m tcp --dport 8000:8100", sgr(6), "RETURN"),
			r("-p vrrp", sgr(7), "RETURN"),
			r("-m set --match-set bulwark-gbench src", sgr(8), "RETURN"),
			r("", "no rule matched", "DROP"),
		}
		if p == 0 && variant > 0 {
			i4 = append(i4[:len(i4)-1], r(fmt.Sprintf("-p tcp -m tcp --dport %d", 9000+variant), sgr(9), "RETURN"), i4[len(i4)-1])
		}
		o4 := []firewall.Rule{
			r("-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67", "dhcp discover", "RETURN"),
			r("", "anti-spoof", spoof),
			r("-p udp -m udp --sport 68 --dport 67", "dhcp request", "RETURN"),
			r("-p udp -m udp --sport 67 --dport 68", "dhcp server spoofing", "DROP"),
			r("-m state --state RELATED,ESTABLISHED", "established", "RETURN"),
			r("", sgr(0), "RETURN"),
			r("-m conntrack --ctstate INVALID", "invalid", "DROP"),
			r("", "no rule matched", "DROP"),
		}
		s4 := []firewall.Rule{
			r("-s "+ip+"/32 -m mac --mac-source "+mac, "fixed ip", "RETURN"),
			r("-s "+aap1+"/32 -m mac --mac-source "+mac, "address pair", "RETURN"),
			r("-s "+aap2+"/32 -m mac --mac-source "+mac, "address pair", "RETURN"),
			r("", "anti-spoof", "DROP"),
		}
		c4 = append(c4, firewall.Chain{Name: in, Rules: i4}, firewall.Chain{Name: out, Rules: o4}, firewall.Chain{Name: spoof, Rules: s4})
		sg6.Rules = append(sg6.Rules,
			r("-m physdev --physdev-out "+tap+" --physdev-is-bridged", "port "+id+" ingress", in),
			r("-m physdev --physdev-in "+tap+" --physdev-is-bridged", "port "+id+" egress", out))
		i6 := []firewall.Rule{
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 130", "mld", "RETURN"),
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 134", "router advertisement", "RETURN"),
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 135", "neighbour solicitation", "RETURN"),
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 136", "neighbour advertisement", "RETURN"),
			r("-m state --state RELATED,ESTABLISHED", "established", "RETURN"),
			r("-m conntrack --ctstate INVALID", "invalid", "DROP"),
			r("-p tcp -m tcp --dport 22", sgr(1), "RETURN"),
			r("-p tcp -m tcp --dport 80", sgr(2), "RETURN"),
			r("-p tcp -m tcp --dport 443", sgr(3), "RETURN"),
			r("-p vrrp", sgr(7), "RETURN"),
			r("", "no rule matched", "DROP"),
		}
		o6 := []firewall.Rule{
			r("-p ipv6-icmp -m icmp6 --icmpv6-type 134", "router advertisement spoofing", "DROP"),
			r("-p ipv6-icmp", "icmpv6", "RETURN"),
			r("-p udp -m udp --sport 546 --dport 547", "dhcpv6", "RETURN"),
			r("-p udp -m udp --sport 547 --dport 546", "dhcpv6 server spoofing", "DROP"),
			r("-m state --state RELATED,ESTABLISHED", "established", "RETURN"),
			r("", sgr(0), "RETURN"),
			r("-m conntrack --ctstate INVALID", "invalid", "DROP"),
			r("", "no rule matched", "DROP"),
		}
		c6 = append(c6, firewall.Chain{Name: in, Rules: i6}, firewall.Chain{Name: out, Rules: o6})
		zone := fmt.Sprintf("CT --zone %d", 4096+p)
		for _, ct := range []*firewall.Chain{&ct4, &ct6} {
			ct.Rules = append(ct.Rules,
				r("-m physdev --physdev-in "+tap, "zone of "+id, zone),
				r("-i brq"+id[:5], "zone of "+id, zone),
				r("-m physdev --physdev-out "+tap, "zone of "+id, zone))
		}
	}
	f4.Chains = append([]firewall.Chain{sg4, in4}, c4...)
	f6.Chains = append([]firewall.Chain{sg6}, c6...)
	r4.Chains = []firewall.Chain{ct4}
	r6.Chains = []firewall.Chain{ct6}
	f4.Hooks = []firewall.Hook{
		{BuiltinChain: "FORWARD", Rule: r("-m physdev --physdev-is-bridged", "bulwark: bridged ports", "bulwark-sg")},
		{BuiltinChain: "INPUT", Rule: r("-m physdev --physdev-is-in", "bulwark: ports to host", "bulwark-input")},
	}
	f6.Hooks = []firewall.Hook{{BuiltinChain: "FORWARD", Rule: r("-m physdev --physdev-is-bridged", "bulwark: bridged ports", "bulwark-sg")}}
	r4.Hooks = []firewall.Hook{{BuiltinChain: "PREROUTING", Rule: r("", "bulwark: zones", "bulwark-ct")}}
	r6.Hooks = []firewall.Hook{{BuiltinChain: "PREROUTING", Rule: r("", "bulwark: zones", "bulwark-ct")}}
	rs.Sets = []firewall.IPSet{set}
	return rs
}

func countRules(rs *firewall.Ruleset) int {
	n := 0
	for _, byTable := range rs.Tables {
		for _, tr := range byTable {
			n += len(tr.Hooks)
			for _, c := range tr.Chains {
				n += len(c.Rules)
			}
		}
	}
	return n
}

// scratchNetns creates a namespace for a benchmark; the returned function
// deletes it.
func scratchNetns(b *testing.B) (string, func()) {
	b.Helper()
	name := randName("bwbench-")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v: %s", err, out)
	}
	return name, func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			b.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	}
}

func reportMS(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkApply measures the applier at N ports (go test -bench Apply
// -benchtime 3x). full: a new Applier sets up everything in a fresh
// namespace (incl. its initial read); one-chain: one rule added/removed in
// one port's chain; one-port: a port added/removed (its chains and its
// dispatch lines); set-member: one remote-group member replaced; noop: an
// identical Apply; adopt: a restarted Applier reads and finds nothing to do.
func BenchmarkApply(b *testing.B) {
	needKernel(b)
	ctx := context.Background()
	for _, n := range []int{100, 1000} {
		full := benchRuleset(n, 0, false)
		b.Run(fmt.Sprintf("N=%d/full", n), func(b *testing.B) {
			b.ReportMetric(float64(countRules(full))/float64(n), "rules/port")
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ns, del := scratchNetns(b)
				a := &Applier{Exec: InNetns(ns)}
				b.StartTimer()
				if err := a.Apply(ctx, full); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if i == 0 {
					var ms runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&ms)
					b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
					b.ReportMetric(float64(a.Stats().RestoreLines), "lines")
				}
				del()
				b.StartTimer()
			}
			reportMS(b)
		})

		// The incremental cases share one populated namespace.
		ns, del := scratchNetns(b)
		a := &Applier{Exec: InNetns(ns)}
		if err := a.Apply(ctx, full); err != nil {
			b.Fatal(err)
		}
		variants := []*firewall.Ruleset{benchRuleset(n, 1, false), benchRuleset(n, 0, false)}
		b.Run(fmt.Sprintf("N=%d/one-chain", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := a.Apply(ctx, variants[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
		if err := a.Apply(ctx, full); err != nil {
			b.Fatal(err)
		}
		ports := []*firewall.Ruleset{benchRuleset(n, 0, true), full}
		b.Run(fmt.Sprintf("N=%d/one-port", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := a.Apply(ctx, ports[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
		if err := a.Apply(ctx, full); err != nil {
			b.Fatal(err)
		}
		members := []*firewall.Ruleset{benchRuleset(n, 0, false), full}
		members[0].Sets[0].Members = append(members[0].Sets[0].Members[1:], "10.250.0.1")
		b.Run(fmt.Sprintf("N=%d/set-member", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := a.Apply(ctx, members[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
		if err := a.Apply(ctx, full); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("N=%d/noop", n), func(b *testing.B) {
			fresh := benchRuleset(n, 0, false)
			for i := 0; i < b.N; i++ {
				if err := a.Apply(ctx, fresh); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
		b.Run(fmt.Sprintf("N=%d/adopt", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := &Applier{Exec: InNetns(ns)}
				if err := c.Apply(ctx, full); err != nil {
					b.Fatal(err)
				}
				if s := c.Stats(); s.Restores+s.SetRestores != 0 {
					b.Fatalf("adoption wrote: %+v", s)
				}
			}
			reportMS(b)
		})
		del()
	}
}

// BenchmarkFloor is the bare-tool floor for the same work, through the
// same "ip netns exec": the restore text the applier sends for a full
// setup, loaded with plain iptables-restore (flush mode; and --noflush)
// into a fresh namespace, the set script with ipset restore, and a
// one-line --noflush change against the populated table.
func BenchmarkFloor(b *testing.B) {
	needKernel(b)
	ctx := context.Background()
	for _, n := range []int{100, 1000} {
		// Capture what the applier sends for a full setup.
		ns, del := scratchNetns(b)
		rec := newRecorder(ns)
		a := &Applier{Exec: rec.Exec}
		if err := a.Apply(ctx, benchRuleset(n, 0, false)); err != nil {
			b.Fatal(err)
		}
		var setScript, v4Text, v6Text []byte
		for _, c := range writes(rec.take()) {
			switch c.argv[0] {
			case "ipset":
				setScript = []byte(c.stdin)
			case "iptables-restore":
				v4Text = []byte(c.stdin)
			case "ip6tables-restore":
				v6Text = []byte(c.stdin)
			}
		}
		oneLine := []byte("*filter\n-I bulwark-i00000 1 -p tcp -m tcp --dport 7 -j RETURN\nCOMMIT\n")
		b.Run(fmt.Sprintf("N=%d/one-line-noflush", n), func(b *testing.B) {
			run := InNetns(ns)
			for i := 0; i < b.N; i++ {
				if _, err := run(ctx, oneLine, "iptables-restore", "--noflush"); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
		del()

		for _, mode := range []string{"flush", "noflush"} {
			b.Run(fmt.Sprintf("N=%d/full-%s", n, mode), func(b *testing.B) {
				var tSet, t4, t6 time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ns, del := scratchNetns(b)
					run := InNetns(ns)
					b.StartTimer()
					t0 := time.Now()
					if _, err := run(ctx, setScript, "ipset", "restore"); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					args := []string{"iptables-restore"}
					if mode == "noflush" {
						args = append(args, "--noflush")
					}
					if _, err := run(ctx, v4Text, args...); err != nil {
						b.Fatal(err)
					}
					t2 := time.Now()
					args[0] = "ip6tables-restore"
					if _, err := run(ctx, v6Text, args...); err != nil {
						b.Fatal(err)
					}
					t3 := time.Now()
					tSet, t4, t6 = tSet+t1.Sub(t0), t4+t2.Sub(t1), t6+t3.Sub(t2)
					b.StopTimer()
					del()
					b.StartTimer()
				}
				per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
				b.ReportMetric(per(tSet), "ipset-ms")
				b.ReportMetric(per(t4), "v4-ms")
				b.ReportMetric(per(t6), "v6-ms")
				b.ReportMetric(float64(strings.Count(string(v4Text)+string(v6Text), "\n")), "lines")
				reportMS(b)
			})
		}
	}
}
