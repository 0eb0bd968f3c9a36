package iptables

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// lab is a host namespace with a Linux bridge (bridge-nf-call-iptables=1
// inside it) and "VMs": namespaces whose eth0 is a veth peer of tapN on
// the bridge, with fa:16:3e MACs and 10.9.0.N/24.
type lab struct {
	ns  string
	vms []string
}

func (l *lab) ip(i int) string { return fmt.Sprintf("10.9.0.%d", i+1) }

func newLab(t *testing.T, n int) *lab {
	t.Helper()
	for _, tool := range []string{"ping", "nc", "ss", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
		}
	}
	l := &lab{ns: newNetns(t)}
	bridgeNF := []string{"sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1"}
	if _, err := shErr(l.ns, bridgeNF...); err != nil {
		_, _ = shErr("", "modprobe", "br_netfilter") // a module load, nothing else
		if out, err := shErr(l.ns, bridgeNF...); err != nil {
			t.Skipf("br_netfilter unavailable, bridged packets would bypass iptables: %s", out)
		}
	}
	sh(t, l.ns, "ip", "link", "set", "lo", "up")
	sh(t, l.ns, "ip", "link", "add", "br0", "type", "bridge")
	sh(t, l.ns, "ip", "link", "set", "br0", "up")
	for i := 0; i < n; i++ {
		vm := newNetns(t)
		tap := fmt.Sprintf("tap%d", i+1)
		sh(t, "", "ip", "-n", l.ns, "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", vm)
		sh(t, l.ns, "ip", "link", "set", tap, "master", "br0", "up")
		sh(t, vm, "ip", "link", "set", "lo", "up")
		sh(t, vm, "ip", "link", "set", "eth0", "address", fmt.Sprintf("fa:16:3e:00:00:%02x", i+1))
		sh(t, vm, "ip", "addr", "add", l.ip(i)+"/24", "dev", "eth0")
		sh(t, vm, "ip", "link", "set", "eth0", "up")
		l.vms = append(l.vms, vm)
	}
	return l
}

// ping reports whether vm from reaches vm to.
func (l *lab) ping(from, to int) bool {
	_, err := shErr(l.vms[from], "ping", "-c", "2", "-i", "0.2", "-W", "1", "-q", l.ip(to))
	return err == nil
}

// start runs a long-lived command in a namespace; it is killed (by its
// own pid) when the test ends. stdin is nil unless withStdin.
func start(t *testing.T, ns string, withStdin bool, argv ...string) (io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	var stdin io.WriteCloser
	if withStdin {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return stdin, bufio.NewScanner(out)
}

func waitListen(t *testing.T, ns string, port int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if out, _ := shErr(ns, "ss", "-Hltn", fmt.Sprintf("sport = :%d", port)); strings.Contains(out, "LISTEN") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %d in %s", port, ns)
}

// packetRuleset: vm1 (tap1) and vm2 (tap2) share conntrack zone 7; vm2
// accepts ICMP and new TCP to 5000-5001 only when told; bulwark-i3 is a
// chain of a port without a device, changed by "unrelated".
func packetRuleset(allowICMP, allowNewTCP bool, unrelated string) *firewall.Ruleset {
	rs := firewall.NewRuleset()
	f, rw := rs.Tables[v4][filter], rs.Tables[v4][raw]
	f.Hooks = []firewall.Hook{{BuiltinChain: "FORWARD", Rule: r("-m physdev --physdev-is-bridged", "bulwark: bridged ports", "bulwark-sg")}}
	rw.Hooks = []firewall.Hook{{BuiltinChain: "PREROUTING", Rule: r("-m physdev --physdev-is-in", "bulwark: zones", "bulwark-ct")}}
	est := r("-m conntrack --ctstate RELATED,ESTABLISHED", "established", "ACCEPT")
	i2 := []firewall.Rule{est}
	if allowICMP {
		i2 = append(i2, r("-p icmp", "sgr:icmp", "ACCEPT"))
	}
	if allowNewTCP {
		i2 = append(i2, r("-p tcp -m tcp --dport 5000:5001", "sgr:tcp-5000-5001", "ACCEPT"))
	}
	i2 = append(i2, r("", "no rule matched", "DROP"))
	f.Chains = []firewall.Chain{
		{Name: "bulwark-sg", Rules: []firewall.Rule{
			r("-m physdev --physdev-out tap1 --physdev-is-bridged", "to vm1", "bulwark-i1"),
			r("-m physdev --physdev-out tap2 --physdev-is-bridged", "to vm2", "bulwark-i2"),
			r("-m physdev --physdev-out tap3 --physdev-is-bridged", "to vm3", "bulwark-i3"),
		}},
		{Name: "bulwark-i1", Rules: []firewall.Rule{est, r("", "no rule matched", "DROP")}},
		{Name: "bulwark-i2", Rules: i2},
		{Name: "bulwark-i3", Rules: []firewall.Rule{r("-p udp -m udp --dport 9", unrelated, "ACCEPT"), r("", "no rule matched", "DROP")}},
	}
	rw.Chains = []firewall.Chain{{Name: "bulwark-ct", Rules: []firewall.Rule{
		r("-m physdev --physdev-in tap1", "zone of vm1", "CT --zone 7"),
		r("-m physdev --physdev-in tap2", "zone of vm2", "CT --zone 7"),
	}}}
	return rs
}

func TestPacketsICMPDroppedThenAllowed(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	l := newLab(t, 2)
	a := &Applier{Exec: InNetns(l.ns)}
	if !l.ping(0, 1) {
		t.Fatal("no connectivity before any rule: the lab is broken")
	}
	if err := a.Apply(ctx, packetRuleset(false, true, "x")); err != nil {
		t.Fatal(err)
	}
	if d, err := a.Drift(ctx); err != nil || len(d) > 0 {
		t.Fatalf("drift %q %v", d, err)
	}
	if l.ping(0, 1) {
		t.Fatal("ping vm1 -> vm2 passed although vm2's chain drops ICMP")
	}
	if err := a.Apply(ctx, packetRuleset(true, true, "x")); err != nil {
		t.Fatal(err)
	}
	if !l.ping(0, 1) {
		t.Fatal("ping vm1 -> vm2 dropped although vm2's chain now allows ICMP")
	}
	if l.ping(1, 0) {
		t.Fatal("ping vm2 -> vm1 passed: vm1 allows no ICMP")
	}
}

func TestPacketsEstablishedSurvivesApplyAndRestart(t *testing.T) {
	needKernel(t)
	ctx := context.Background()
	l := newLab(t, 2)
	rec := newRecorder(l.ns)
	a := &Applier{Exec: rec.Exec}
	if err := a.Apply(ctx, packetRuleset(false, true, "x")); err != nil {
		t.Fatal(err)
	}

	_, server := start(t, l.vms[1], false, "nc", "-l", "5000")
	start(t, l.vms[1], false, "nc", "-k", "-l", "5001")
	waitListen(t, l.vms[1], 5000)
	waitListen(t, l.vms[1], 5001)
	lines := make(chan string, 16)
	go func() {
		for server.Scan() {
			lines <- server.Text()
		}
		close(lines)
	}()
	pw, _ := start(t, l.vms[0], true, "nc", l.ip(1), "5000")
	send := func(msg string) bool {
		if _, err := io.WriteString(pw, msg+"\n"); err != nil {
			t.Fatalf("write to the client: %v", err)
		}
		select {
		case got, ok := <-lines:
			if !ok {
				t.Fatalf("server ended while waiting for %q", msg)
			}
			if got != msg {
				t.Fatalf("server got %q, want %q", got, msg)
			}
			return true
		case <-time.After(3 * time.Second):
			return false
		}
	}
	newConn := func() bool {
		_, err := shErr(l.vms[0], "nc", "-z", "-w", "2", l.ip(1), "5001")
		return err == nil
	}
	if !send("one") {
		t.Fatal("the TCP connection does not carry data")
	}
	if !newConn() {
		t.Fatal("new TCP to 5001 refused while allowed")
	}

	// An Apply that rewrites an unrelated chain: the connection carries on.
	rec.take()
	if err := a.Apply(ctx, packetRuleset(false, true, "y")); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec.take()); len(w) != 1 || !strings.Contains(w[0].stdin, "bulwark-i3") || strings.Contains(w[0].stdin, "bulwark-i2") {
		t.Fatalf("unexpected writes %q", cmdNames(w))
	}
	if !send("two") {
		t.Fatal("the established connection broke after rewriting an unrelated chain")
	}

	// vm2's own chain rewritten without the TCP allow: the established
	// connection still flows (conntrack untouched), new ones are dropped.
	if err := a.Apply(ctx, packetRuleset(false, false, "y")); err != nil {
		t.Fatal(err)
	}
	if !send("three") {
		t.Fatal("the established connection broke when its own port's chain was rewritten")
	}
	if newConn() {
		t.Fatal("a new connection passed although the rule allowing it is gone")
	}

	// Agent restart: a new Applier adopts everything, writes nothing, and
	// the connection keeps flowing.
	rec2 := newRecorder(l.ns)
	b := &Applier{Exec: rec2.Exec}
	if err := b.Apply(ctx, packetRuleset(false, false, "y")); err != nil {
		t.Fatal(err)
	}
	if w := writes(rec2.take()); len(w) != 0 {
		t.Fatalf("restart wrote %q", cmdNames(w))
	}
	if !send("four") {
		t.Fatal("the established connection broke across an agent restart")
	}

	// Ending its flows (scoped by zone) stops the connection for good,
	// since nothing allows it as new any more.
	ct := &Conntrack{NetNS: l.ns}
	flt := FlowFilter{Zone: 8, Dst: netip.MustParsePrefix(l.ip(1) + "/32"), Protocol: 6, DstPort: 5000}
	if n, err := ct.EndFlows(ctx, flt); err != nil || n != 0 {
		t.Fatalf("EndFlows in another zone ended %d flows (err %v)", n, err)
	}
	flt.Zone = 7
	n, err := ct.EndFlows(ctx, flt)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("EndFlows ended %d flows, want 1", n)
	}
	if send("five") {
		t.Fatal("data still flows after its conntrack entry was deleted and no rule allows it")
	}
}
