package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// savedRule is one rule of `iptables-save -c` with its counters.
type savedRule struct {
	Chain, Comment, Target, Spec string
	Packets, Bytes               uint64
}

var (
	counterLine = regexp.MustCompile(`^\[(\d+):(\d+)\] -A (\S+) (.*)$`)
	commentOpt  = regexp.MustCompile(`--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))`)
	targetOpt   = regexp.MustCompile(`(?:^| )-[jg] (\S+)`)
)

// parseSaveCounters reads the rules of an `iptables-save -c` dump.
func parseSaveCounters(text string) []savedRule {
	var out []savedRule
	for _, line := range strings.Split(text, "\n") {
		m := counterLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		r := savedRule{Chain: m[3], Spec: m[4]}
		r.Packets, _ = strconv.ParseUint(m[1], 10, 64)
		r.Bytes, _ = strconv.ParseUint(m[2], 10, 64)
		if c := commentOpt.FindStringSubmatch(r.Spec); c != nil {
			r.Comment = c[1] + c[2]
			r.Comment = strings.ReplaceAll(r.Comment, `\"`, `"`)
		}
		if t := targetOpt.FindAllStringSubmatch(r.Spec, -1); len(t) > 0 {
			r.Target = t[len(t)-1][1]
		}
		out = append(out, r)
	}
	return out
}

// ruleTable is a counted dump of the filter table in one namespace.
type ruleTable []savedRule

// sum adds the packet counters of the rules match selects.
func (t ruleTable) sum(match func(savedRule) bool) uint64 {
	var n uint64
	for _, r := range t {
		if match(r) {
			n += r.Packets
		}
	}
	return n
}

func (t ruleTable) has(match func(savedRule) bool) bool {
	for _, r := range t {
		if match(r) {
			return true
		}
	}
	return false
}

// portChains finds a port's ingress, egress and anti-spoofing chains from
// the agent's dispatch rules (so hashed chain names are found too).
func (t ruleTable) portChains(portID string) (in, out, spoof string) {
	for _, r := range t {
		if r.Comment != "port:"+portID {
			continue
		}
		switch r.Chain {
		case "bulwark-to-port":
			in = r.Target
		case "bulwark-from-port":
			out = r.Target
		}
	}
	for _, r := range t {
		if out != "" && r.Chain == out && r.Comment == "anti-spoof" {
			spoof = r.Target
		}
	}
	return in, out, spoof
}

// filterTable dumps the filter table with counters in namespace ns, and
// the members of the ipsets there as entries of chain "ipset:NAME" (Spec
// the member): a port's address pairs sent from its own MAC are members
// of its pair set, matched by one rule of its anti-spoofing chain.
func filterTable(ctx context.Context, ns string) (ruleTable, error) {
	out, err := run(ctx, ns, "iptables-save", "-c", "-t", "filter")
	if err != nil {
		return nil, fmt.Errorf("lab: counters in %s: %w", ns, err)
	}
	t := parseSaveCounters(out)
	sets, err := run(ctx, ns, "ipset", "save")
	if err != nil {
		return nil, fmt.Errorf("lab: sets in %s: %w", ns, err)
	}
	return append(t, parseSetMembers(sets)...), nil
}

// parseSetMembers reads the "add NAME MEMBER" lines of ipset save.
func parseSetMembers(save string) ruleTable {
	var out ruleTable
	for _, line := range strings.Split(save, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "add" {
			out = append(out, savedRule{Chain: "ipset:" + f[1], Spec: strings.TrimSuffix(f[2], "/32")})
		}
	}
	return out
}

// Counters of the agent's rules the story looks at, for one port.
type portCounters struct {
	AntiSpoofDrops uint64 // the final DROP of the port's anti-spoofing chain
	DestCheckDrops uint64 // the final DROP of the port's destination check
	VIPPairPackets uint64 // packets the port's address-pair rule for the VIP let through
	HasVIPPair     bool   // the port's anti-spoofing chain allows the VIP
	FallbackDrops  uint64 // packets to the port no rule allowed
	PortSecOff     uint64 // packets passed unfiltered (port security off)
	Filtered       bool   // the port has chains at all
}

func (t ruleTable) port(portID string) portCounters {
	in, _, spoof := t.portChains(portID)
	var c portCounters
	c.Filtered = in != ""
	c.AntiSpoofDrops = t.sum(func(r savedRule) bool { return spoof != "" && r.Chain == spoof && r.Comment == "anti-spoof" })
	// The hardened agent also checks the destination of packets to a port
	// against the same allow list (its "dest-check" chain): a request to an
	// address the port may not use is dropped on the way in.
	dest := ""
	for _, r := range t {
		if in != "" && r.Chain == in && r.Comment == "dest-check" && r.Target != "DROP" {
			dest = r.Target
		}
	}
	c.DestCheckDrops = t.sum(func(r savedRule) bool {
		return dest != "" && r.Chain == dest && r.Comment == "dest-check" && r.Target == "DROP"
	})
	// The VIP is allowed by a rule of its own (a pair with another MAC)
	// or, as a pair from the port's own MAC, by the rule matching the
	// port's pair set when the set holds it.
	pair := func(r savedRule) bool {
		if spoof == "" || r.Chain != spoof {
			return false
		}
		if strings.HasPrefix(r.Comment, "address-pair "+VIP+" ") {
			return true
		}
		set := setMatched(r.Spec)
		return strings.HasPrefix(r.Comment, "address-pairs ") && set != "" &&
			t.has(func(m savedRule) bool { return m.Chain == "ipset:"+set && m.Spec == VIP })
	}
	c.VIPPairPackets = t.sum(pair)
	c.HasVIPPair = t.has(pair)
	c.FallbackDrops = t.sum(func(r savedRule) bool { return in != "" && r.Chain == in && r.Comment == "fallback" })
	c.PortSecOff = t.sum(func(r savedRule) bool { return r.Comment == "port-security-off:"+portID })
	return c
}

// vrrpAccepted counts the VRRP packets the agent's security-group rules
// accepted (both directions, every port).
func (t ruleTable) vrrpAccepted() uint64 {
	return t.sum(func(r savedRule) bool {
		return strings.HasPrefix(r.Comment, "sg-rule:") && (strings.Contains(r.Spec, "-p vrrp ") || strings.Contains(r.Spec, "-p 112 "))
	})
}

// The VM namespaces count VRRP with rules of their own (no target, so
// they only count): adverts a node sent, and adverts it received from
// its peer. This is what keepalived itself sees, whatever the agent does.
const (
	vrrpSentComment     = "bwlab-vrrp-sent"
	vrrpFromPeerComment = "bwlab-vrrp-from-peer"
)

func installVRRPCounters(ctx context.Context, ns, peerIP string) error {
	t, err := filterTable(ctx, ns)
	if err != nil {
		return err
	}
	if !t.has(func(r savedRule) bool { return r.Comment == vrrpSentComment }) {
		if _, err := run(ctx, ns, "iptables", "-w", "-A", "OUTPUT", "-p", "vrrp", "-m", "comment", "--comment", vrrpSentComment); err != nil {
			return fmt.Errorf("lab: VRRP counter: %w", err)
		}
	}
	if !t.has(func(r savedRule) bool { return r.Comment == vrrpFromPeerComment }) {
		if _, err := run(ctx, ns, "iptables", "-w", "-A", "INPUT", "-p", "vrrp", "-s", peerIP+"/32", "-m", "comment", "--comment", vrrpFromPeerComment); err != nil {
			return fmt.Errorf("lab: VRRP counter: %w", err)
		}
	}
	return nil
}

// vrrpCounts reads a VM's advert counters.
func vrrpCounts(ctx context.Context, ns string) (sent, fromPeer uint64, err error) {
	t, err := filterTable(ctx, ns)
	if err != nil {
		return 0, 0, err
	}
	sent = t.sum(func(r savedRule) bool { return r.Comment == vrrpSentComment })
	fromPeer = t.sum(func(r savedRule) bool { return r.Comment == vrrpFromPeerComment })
	return sent, fromPeer, nil
}

// vrrpState is what keepalived's notify script last wrote for vm.
func (l *Lab) vrrpState(vm string) string {
	b, err := os.ReadFile(keepalivedFiles(l.State.Dir, vm).State)
	if err != nil {
		return "UNKNOWN"
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "UNKNOWN"
	}
	return s
}

// holdsVIP reports whether the VIP is configured on the VM's interface.
func holdsVIP(ctx context.Context, ns string) bool {
	out, err := run(ctx, "", "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", VMDevice)
	return err == nil && strings.Contains(out, " "+VIP+"/")
}

// ping sends one echo request from ns to ip and reports an answer within
// a second. The client's neighbour entry for ip is flushed first, so the
// answer comes from whoever holds ip now (keepalived's gratuitous ARPs are
// sent only on becoming MASTER, a stale entry could name the old holder).
func ping(ctx context.Context, ns, ip string) bool {
	_, _ = run(ctx, "", "ip", "-n", ns, "neigh", "flush", "to", ip)
	_, err := run(ctx, ns, "ping", "-c", "1", "-W", "1", "-q", ip)
	return err == nil
}

// tcpOpen reports whether a new TCP connection from ns to ip:port is
// accepted within timeout.
func tcpOpen(ctx context.Context, ns, ip string, port int, timeout time.Duration) bool {
	c, err := dialIn(ctx, ns, fmt.Sprintf("%s:%d", ip, port), timeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitFor polls cond every interval until it holds or timeout passes;
// the error carries cond's last explanation.
func waitFor(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not seen within %s (last: %s)", what, timeout, detail)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// The lab's own nftables table in the host namespace counts the ARP
// packets each VM sends with the VIP as sender address, before any
// filter sees them (priority -300, ahead of the agent's link-layer table
// "bridge bulwark" at the filter priority). With the counts and the
// client's neighbour table the story tells "the VM answered for the VIP
// but the client never learned its MAC" (the agent's ARP check) from
// "the VM never answered". It only counts; it never drops.
const arpCountTable = "bwlab"

var arpCounter = regexp.MustCompile(`counter packets (\d+) bytes \d+ comment "bwlab-vip-arp ([a-z0-9]+)"`)

func (l *Lab) installARPCounters(ctx context.Context) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil // no nftables: the agent has no link-layer table either
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s\ndelete table bridge %s\n", arpCountTable, arpCountTable)
	fmt.Fprintf(&b, "table bridge %s {\n\tchain vip-arp {\n\t\ttype filter hook prerouting priority -300; policy accept;\n", arpCountTable)
	for _, v := range l.State.VMs {
		fmt.Fprintf(&b, "\t\tiifname %q arp saddr ip %s counter comment \"bwlab-vip-arp %s\"\n", v.Tap, VIP, v.Name)
	}
	b.WriteString("\t}\n}\n")
	path := filepath.Join(l.State.Dir, "vip-arp.nft")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("lab: write %s: %w", path, err)
	}
	if _, err := run(ctx, l.State.HostNS, "nft", "-f", path); err != nil {
		return fmt.Errorf("lab: ARP counters: %w", err)
	}
	return nil
}

// vipARP returns, per VM, the ARP packets it sent for the VIP (nil
// without the counters).
func (l *Lab) vipARP(ctx context.Context) map[string]uint64 {
	out, err := run(ctx, l.State.HostNS, "nft", "list", "table", "bridge", arpCountTable)
	if err != nil {
		return nil
	}
	m := map[string]uint64{}
	for _, c := range arpCounter.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseUint(c[1], 10, 64)
		m[c[2]] += n
	}
	return m
}

// neighbourLLAddr is the MAC ns has learned for ip ("" if none).
func neighbourLLAddr(ctx context.Context, ns, ip string) string {
	out, err := run(ctx, "", "ip", "-n", ns, "neigh", "show", ip)
	if err != nil {
		return ""
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			return f[i+1]
		}
	}
	return ""
}

// setMatched returns the set a rule's "--match-set NAME" names ("" none).
func setMatched(spec string) string {
	f := strings.Fields(spec)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "--match-set" {
			return f[i+1]
		}
	}
	return ""
}
