package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Step is one step of the story: what it changes and why, and the
// function that changes it and checks what happens. Run returns an error
// when an expected observation is not made.
type Step struct {
	Title string
	Why   string
	Run   func(ctx context.Context) error
}

// Story walks the operator's six steps on a lab. It serves TCP on the web
// port (allowed by the group) and the admin port (never allowed) in both
// VMs, and holds sessions from the client, all from this process.
type Story struct {
	l         *Lab
	mu        sync.Mutex
	listeners []net.Listener
	conns     []net.Conn
	sessions  map[int]*session // by destination port
	// Timeouts of the bounded waits.
	Converge time.Duration // an API change reaching the kernel, a failover
}

// NewStory starts the VMs' TCP services.
func NewStory(ctx context.Context, l *Lab) (*Story, error) {
	s := &Story{l: l, sessions: map[int]*session{}, Converge: 15 * time.Second}
	for _, v := range l.State.VMs {
		for _, port := range []int{WebPort, AdminPort} {
			ln, err := listenIn(v.NetNS, fmt.Sprintf("0.0.0.0:%d", port))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("lab: TCP service on %s:%d: %w", v.Name, port, err)
			}
			s.listeners = append(s.listeners, ln)
			go s.serve(ln, v.Name)
		}
	}
	return s, nil
}

// serve answers every line with "<vm> <line>", so the client also learns
// which VM answered.
func (s *Story) serve(ln net.Listener, vm string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		go func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if _, err := fmt.Fprintf(c, "%s %s\n", vm, sc.Text()); err != nil {
					return
				}
			}
		}()
	}
}

// Close ends the services and sessions.
func (s *Story) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.listeners {
		ln.Close()
	}
	for _, c := range s.conns {
		c.Close()
	}
	for _, ss := range s.sessions {
		ss.c.Close()
	}
	s.listeners, s.conns, s.sessions = nil, nil, map[int]*session{}
}

// session is a long-lived TCP connection from the client.
type session struct {
	c  net.Conn
	rd *bufio.Reader
	n  int
}

// echo sends one line and waits up to timeout for its echo; it returns
// the VM that answered.
func (ss *session) echo(timeout time.Duration) (string, error) {
	ss.n++
	msg := "line-" + strconv.Itoa(ss.n)
	_ = ss.c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintln(ss.c, msg); err != nil {
		return "", err
	}
	for {
		line, err := ss.rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		if f := strings.Fields(line); len(f) == 2 && f[1] == msg {
			return f[0], nil
		}
	}
}

func (ss *session) localPort() int { return ss.c.LocalAddr().(*net.TCPAddr).Port }

// dial opens a TCP connection from the client to the VIP.
func (s *Story) dial(ctx context.Context, port int) (*session, error) {
	c, err := dialIn(ctx, s.l.State.ClientNS, fmt.Sprintf("%s:%d", VIP, port), 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &session{c: c, rd: bufio.NewReader(c)}, nil
}

// open dials a session the story holds across steps.
func (s *Story) open(ctx context.Context, port int) (*session, error) {
	ss, err := s.dial(ctx, port)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if old := s.sessions[port]; old != nil {
		old.c.Close()
	}
	s.sessions[port] = ss
	s.mu.Unlock()
	return ss, nil
}

func (s *Story) seen(format string, args ...any) { s.l.say("  SEEN "+format, args...) }

func (s *Story) host(ctx context.Context) (ruleTable, error) {
	return filterTable(ctx, s.l.State.HostNS)
}

func (s *Story) vm(name string) VMState { return *s.l.State.vm(name) }

// Steps returns the six steps in order.
func (s *Story) Steps() []Step {
	return []Step{
		{Title: "split brain: the group allows TCP and ICMP, not VRRP",
			Why: "keepalived speaks VRRP, IP protocol 112 — neither TCP nor UDP nor ICMP. A group that allows only\n" +
				"those drops the adverts, so each node hears nobody, declares itself MASTER and adds the VIP.",
			Run: s.stepSplitBrain},
		{Title: "allow VRRP (protocol 112) ingress and egress",
			Why: "With adverts passing, the node with the higher priority (keepalived01, 150) wins and the other\n" +
				"(100) falls back to BACKUP and drops the VIP, within a few advert intervals.",
			Run: s.stepAllowVRRP},
		{Title: "the VIP on keepalived01, whose port has no address pair for it",
			Why: "A port may use only its own (IP, MAC) pairs: anti-spoofing drops what it sends from any other\n" +
				"source, and Bulwark's destination check drops what is sent to any other address. The VIP is\n" +
				"neither, so the client gets no answer from it.",
			Run: s.stepNoPair},
		{Title: "allowed address pair " + VIP + " on keepalived01",
			Why: "The operator's first fix: the pair adds (VIP, port MAC) to the port's allow list; the security\n" +
				"group still filters everything else.",
			Run: s.stepPair},
		{Title: "keepalived01 stops: the VIP moves to keepalived02, which has no pair; then port security off",
			Why: "Failover works (VRRP is allowed) but keepalived02's port may not send from the VIP either. The\n" +
				"operator's second fix is to turn port security off on it — the API refuses that while the port\n" +
				"has security groups, so they are cleared first. Then nothing filters keepalived02 at all.",
			Run: s.stepFailover},
		{Title: "keepalived02 back under the group, with the pair; keepalived01 loses its pair",
			Why: "Port security on again, the group and the VIP pair in one update: only what the rules allow\n" +
				"reaches the VIP. Connections that were open only because nothing was filtered are ended by\n" +
				"the agent (it deletes their conntrack entries); those the rules allow carry on.",
			Run: s.stepBackUnderGroup},
	}
}

// unreachable checks that the client gets no answer from the VIP (ping
// and a TCP connection to the web port) while it is on holder, whose port
// has no pair for it — and that the agent dropped it for that reason, not
// that the packets were lost elsewhere. Three layers of the agent can do
// it, and the story names those it saw at work: the link-layer check drops
// holder's ARP answers for the VIP (the lab's ARP counter grows, the
// client learns no MAC); the destination check drops requests to an
// address that is not the port's; anti-spoofing drops replies sourced
// from one (their iptables counters grow).
func (s *Story) unreachable(ctx context.Context, holder VMState) (string, error) {
	t0, err := s.host(ctx)
	if err != nil {
		return "", err
	}
	arp0 := s.l.vipARP(ctx)
	for i := 0; i < 3; i++ {
		if ping(ctx, s.l.State.ClientNS, VIP) {
			return "", fmt.Errorf("the client's ping to the VIP was answered (attempt %d)", i+1)
		}
	}
	if tcpOpen(ctx, s.l.State.ClientNS, VIP, WebPort, time.Second) {
		return "", fmt.Errorf("the client opened a TCP connection to the VIP:%d", WebPort)
	}
	t1, err := s.host(ctx)
	if err != nil {
		return "", err
	}
	arp1 := s.l.vipARP(ctx)
	lladdr := neighbourLLAddr(ctx, s.l.State.ClientNS, VIP)
	c0, c1 := t0.port(holder.PortID), t1.port(holder.PortID)
	dest, spoof := c1.DestCheckDrops-c0.DestCheckDrops, c1.AntiSpoofDrops-c0.AntiSpoofDrops
	arp := arp1[holder.Name] - arp0[holder.Name]
	var parts []string
	if arp > 0 && lladdr == "" {
		parts = append(parts, fmt.Sprintf("%s sent %d ARP answers for the VIP but the client never learned its MAC: "+
			"the agent's link-layer check (nftables table bridge bulwark) drops ARP whose sender address is not the port's", holder.Name, arp))
	}
	if dest > 0 {
		parts = append(parts, fmt.Sprintf("%s's destination check ('dest-check') dropped %d requests to the VIP", holder.Name, dest))
	}
	if spoof > 0 {
		parts = append(parts, fmt.Sprintf("%s's anti-spoofing rule ('anti-spoof') dropped %d replies sourced from the VIP", holder.Name, spoof))
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("the client got no answer, but no drop of %s's was seen (ARP for the VIP +%d, client's MAC for the VIP %q, dest-check +%d, anti-spoof +%d): the packets were lost elsewhere",
			holder.Name, arp, lladdr, dest, spoof)
	}
	return strings.Join(parts, "; ") + " (the VIP is not an address of its port)", nil
}

// reachable waits until the client's ping to the VIP is answered and a
// TCP connection to the web port carries a line; it returns the answering VM.
func (s *Story) reachable(ctx context.Context) (string, time.Duration, error) {
	start := time.Now()
	var who string
	err := waitFor(ctx, s.Converge, 100*time.Millisecond, "the client reaching the VIP", func() (bool, string) {
		if !ping(ctx, s.l.State.ClientNS, VIP) {
			return false, "ping unanswered"
		}
		ss, err := s.dial(ctx, WebPort)
		if err != nil {
			return false, "TCP :" + strconv.Itoa(WebPort) + ": " + err.Error()
		}
		defer ss.c.Close()
		if who, err = ss.echo(2 * time.Second); err != nil {
			return false, "TCP :" + strconv.Itoa(WebPort) + " carries no data: " + err.Error()
		}
		return true, ""
	})
	return who, time.Since(start), err
}

// waitRules waits until the agent's rules in the host namespace satisfy
// cond (an API change has reached the kernel).
func (s *Story) waitRules(ctx context.Context, what string, cond func(ruleTable) bool) (time.Duration, error) {
	start := time.Now()
	err := waitFor(ctx, s.Converge, 50*time.Millisecond, what, func() (bool, string) {
		t, err := s.host(ctx)
		if err != nil {
			return false, err.Error()
		}
		return cond(t), "rules not there yet"
	})
	return time.Since(start), err
}

// vrrpRoles waits until the given nodes are MASTER (by keepalived's own
// account) and exactly they hold the VIP.
func (s *Story) vrrpRoles(ctx context.Context, timeout time.Duration, masters ...string) (time.Duration, error) {
	start := time.Now()
	err := waitFor(ctx, timeout, 100*time.Millisecond, fmt.Sprintf("MASTER and VIP on %v", masters), func() (bool, string) {
		m, h := s.l.masters(), s.l.vipHolders(ctx)
		return slices.Equal(m, masters) && slices.Equal(h, masters), fmt.Sprintf("MASTER: %v, VIP on: %v", m, h)
	})
	return time.Since(start), err
}

func (s *Story) stepSplitBrain(ctx context.Context) error {
	l := s.l
	l.say("  Setting the scene through the API: both ports under %s with port security, no address pairs, no VRRP rule.", l.names.SecurityGroup())
	for _, v := range l.State.VMs {
		if err := l.StartKeepalived(ctx, v.Name); err != nil {
			return err
		}
	}
	if err := l.baseRules(ctx); err != nil {
		return err
	}
	for _, v := range l.State.VMs {
		if err := l.secure(ctx, v.Name); err != nil {
			return err
		}
	}
	if err := l.denyVRRP(ctx); err != nil {
		return err
	}
	both := []string{VMs[0].Name, VMs[1].Name}
	took, err := s.vrrpRoles(ctx, s.Converge+5*time.Second, both...)
	if err != nil {
		return err
	}
	s.seen("after %s: keepalived01 %s, keepalived02 %s; the VIP is on both (ip addr in each VM) — split brain",
		took.Round(100*time.Millisecond), l.vrrpState(both[0]), l.vrrpState(both[1]))
	// Both send adverts; neither receives any: counted inside the VMs.
	type count struct{ sent, peer uint64 }
	read := func() (map[string]count, uint64, error) {
		out := map[string]count{}
		for _, v := range l.State.VMs {
			a, b, err := vrrpCounts(ctx, v.NetNS)
			if err != nil {
				return nil, 0, err
			}
			out[v.Name] = count{a, b}
		}
		t, err := s.host(ctx)
		if err != nil {
			return nil, 0, err
		}
		return out, t.vrrpAccepted(), nil
	}
	c0, acc0, err := read()
	if err != nil {
		return err
	}
	var c1 map[string]count
	var acc1 uint64
	if err := waitFor(ctx, 5*AdvertSecs*time.Second, 200*time.Millisecond, "both nodes sending adverts", func() (bool, string) {
		if c1, acc1, err = read(); err != nil {
			return false, err.Error()
		}
		for _, v := range both {
			if c1[v].sent < c0[v].sent+2 {
				return false, v + " sent fewer than 2 adverts"
			}
		}
		return true, ""
	}); err != nil {
		return err
	}
	for _, v := range both {
		if c1[v].peer != c0[v].peer {
			return fmt.Errorf("%s received %d adverts from its peer although VRRP is not allowed", v, c1[v].peer-c0[v].peer)
		}
	}
	if acc1 != acc0 {
		return fmt.Errorf("the agent's rules accepted %d VRRP packets although no rule allows VRRP", acc1-acc0)
	}
	s.seen("adverts sent meanwhile: keepalived01 +%d, keepalived02 +%d; received from the peer: +0, +0; VRRP accepted by the agent's rules: +0",
		c1[both[0]].sent-c0[both[0]].sent, c1[both[1]].sent-c0[both[1]].sent)
	return nil
}

func (s *Story) stepAllowVRRP(ctx context.Context) error {
	l := s.l
	t0, err := s.host(ctx)
	if err != nil {
		return err
	}
	_, peer0, err := vrrpCounts(ctx, l.State.VMs[1].NetNS)
	if err != nil {
		return err
	}
	if err := l.allowVRRP(ctx); err != nil {
		return err
	}
	took, err := s.vrrpRoles(ctx, 5*AdvertSecs*time.Second, VMs[0].Name)
	if err != nil {
		return err
	}
	if st := l.vrrpState(VMs[1].Name); st != "BACKUP" {
		return fmt.Errorf("keepalived02 is %s, want BACKUP", st)
	}
	t1, err := s.host(ctx)
	if err != nil {
		return err
	}
	_, peer1, err := vrrpCounts(ctx, l.State.VMs[1].NetNS)
	if err != nil {
		return err
	}
	if peer1 <= peer0 || t1.vrrpAccepted() <= t0.vrrpAccepted() {
		return fmt.Errorf("no VRRP seen passing (keepalived02 from its peer %d -> %d, accepted by rules %d -> %d)", peer0, peer1, t0.vrrpAccepted(), t1.vrrpAccepted())
	}
	s.seen("after %s (%.1f advert intervals): keepalived01 MASTER with the VIP, keepalived02 BACKUP without it",
		took.Round(100*time.Millisecond), took.Seconds()/AdvertSecs)
	s.seen("keepalived02 received %d adverts from keepalived01; the agent's VRRP rules accepted %d packets",
		peer1-peer0, t1.vrrpAccepted()-t0.vrrpAccepted())
	return nil
}

func (s *Story) stepNoPair(ctx context.Context) error {
	l := s.l
	k1 := s.vm(VMs[0].Name)
	p, err := l.getPort(ctx, k1.PortID)
	if err != nil {
		return err
	}
	if len(p.AllowedAddressPairs) != 0 {
		return fmt.Errorf("keepalived01's port has address pairs %v, want none", p.AllowedAddressPairs)
	}
	s.seen("keepalived01 (MASTER) holds the VIP; its port's allowed_address_pairs: []")
	if !ping(ctx, l.State.ClientNS, k1.IP) {
		return fmt.Errorf("the client cannot even ping keepalived01's own address %s: the lab is broken", k1.IP)
	}
	s.seen("the client pings keepalived01's own address %s: answered", k1.IP)
	how, err := s.unreachable(ctx, k1)
	if err != nil {
		return err
	}
	s.seen("the client's 3 pings and a TCP connection to %s:%d: no answer; %s", VIP, WebPort, how)
	return nil
}

func (s *Story) stepPair(ctx context.Context) error {
	l := s.l
	k1 := s.vm(VMs[0].Name)
	t0, err := s.host(ctx)
	if err != nil {
		return err
	}
	if err := l.setPairs(ctx, k1.Name, VIP); err != nil {
		return err
	}
	took, err := s.waitRules(ctx, "keepalived01's address pair for the VIP", func(t ruleTable) bool { return t.port(k1.PortID).HasVIPPair })
	if err != nil {
		return err
	}
	s.seen("the agent added the pair %s %s to keepalived01's anti-spoofing (its pair set, matched by the 'address-pairs' rule of its spoof chain) %s after the API answered",
		VIP, k1.MAC, took.Round(time.Millisecond))
	who, took, err := s.reachable(ctx)
	if err != nil {
		return err
	}
	t1, err := s.host(ctx)
	if err != nil {
		return err
	}
	n := t1.port(k1.PortID).VIPPairPackets - t0.port(k1.PortID).VIPPairPackets
	if who != k1.Name || n == 0 {
		return fmt.Errorf("the VIP answered from %s with %d packets through keepalived01's pair rule", who, n)
	}
	s.seen("the client reaches the VIP (ping, TCP :%d answered by %s) within %s; %d packets passed the pair rule",
		WebPort, who, took.Round(time.Millisecond), n)
	return nil
}

func (s *Story) stepFailover(ctx context.Context) error {
	l := s.l
	k2 := s.vm(VMs[1].Name)
	if err := l.StopKeepalived(VMs[0].Name); err != nil {
		return err
	}
	took, err := s.vrrpRoles(ctx, s.Converge, k2.Name)
	if err != nil {
		return err
	}
	s.seen("after %s keepalived02 is MASTER and holds the VIP; keepalived01 has none", took.Round(time.Millisecond))
	how, err := s.unreachable(ctx, k2)
	if err != nil {
		return err
	}
	s.seen("the client gets no answer from the VIP; %s", how)

	// The order the API enforces: port security cannot go while groups remain.
	off := false
	err = l.updatePort(ctx, k2.Name, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: &off})
	if !gophercloud.ResponseCodeIs(err, 409) {
		return fmt.Errorf("disabling port security with groups attached: want 409 PortSecurityPortHasSecurityGroup, got %v", err)
	}
	s.seen("refused: 409 (PortSecurityPortHasSecurityGroup): the groups must go first")
	if err := l.updatePort(ctx, k2.Name, ports.UpdateOpts{SecurityGroups: &[]string{}}); err != nil {
		return err
	}
	if err := l.updatePort(ctx, k2.Name, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: &off}); err != nil {
		return err
	}
	took, err = s.waitRules(ctx, "keepalived02 passed through unfiltered", func(t ruleTable) bool {
		c := t.port(k2.PortID)
		return !c.Filtered && t.has(func(r savedRule) bool { return r.Comment == "port-security-off:"+k2.PortID })
	})
	if err != nil {
		return err
	}
	s.seen("the agent replaced keepalived02's chains by 'port-security-off' pass-through rules %s after the API answered", took.Round(time.Millisecond))
	who, took, err := s.reachable(ctx)
	if err != nil {
		return err
	}
	if who != k2.Name {
		return fmt.Errorf("the VIP answered from %s, want keepalived02", who)
	}
	s.seen("the client reaches the VIP again (ping, TCP :%d answered by %s) within %s", WebPort, who, took.Round(time.Millisecond))
	// Everything is open now, the admin port too: hold a session on each.
	for _, port := range []int{WebPort, AdminPort} {
		ss, err := s.open(ctx, port)
		if err != nil {
			return fmt.Errorf("TCP session to the VIP:%d: %w", port, err)
		}
		if _, err := ss.echo(2 * time.Second); err != nil {
			return fmt.Errorf("TCP session to the VIP:%d carries no data: %w", port, err)
		}
	}
	s.seen("the client holds two TCP sessions to the VIP: :%d (the group allows it) and :%d (nothing allows it; it passes only because nothing is filtered)", WebPort, AdminPort)
	return nil
}

// conntrackEntries counts the host's tracked connections from the
// client's port sport to dport ("" error when the conntrack tool is missing).
func (s *Story) conntrackEntries(ctx context.Context, sport, dport int) (int, error) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		return 0, err
	}
	out, err := run(ctx, s.l.State.HostNS, "conntrack", "-L", "-p", "tcp", "--orig-src", ClientIP, "--sport", strconv.Itoa(sport), "--dport", strconv.Itoa(dport))
	if err != nil && !strings.Contains(out, "0 flow entries") {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "tcp ") {
			n++
		}
	}
	return n, nil
}

func (s *Story) stepBackUnderGroup(ctx context.Context) error {
	l := s.l
	k1, k2 := s.vm(VMs[0].Name), s.vm(VMs[1].Name)
	web, admin := s.sessions[WebPort], s.sessions[AdminPort]
	if web == nil || admin == nil {
		return errors.New("the sessions of step 5 are missing (run the steps in order)")
	}
	adminCT, ctErr := s.conntrackEntries(ctx, admin.localPort(), AdminPort)
	if ctErr == nil && adminCT == 0 {
		return fmt.Errorf("no conntrack entry for the :%d session before the change", AdminPort)
	}
	t0, err := s.host(ctx)
	if err != nil {
		return err
	}
	if err := l.secure(ctx, k2.Name, VIP); err != nil {
		return err
	}
	if err := l.setPairs(ctx, k1.Name); err != nil {
		return err
	}
	took, err := s.waitRules(ctx, "keepalived02 filtered with the VIP pair, keepalived01 without it", func(t ruleTable) bool {
		c1, c2 := t.port(k1.PortID), t.port(k2.PortID)
		return c2.Filtered && c2.HasVIPPair && !c1.HasVIPPair
	})
	if err != nil {
		return err
	}
	s.seen("%s after the API answered the agent had keepalived02 filtered again with the pair %s %s, and keepalived01's pair gone",
		took.Round(time.Millisecond), VIP, k2.MAC)
	who, took, err := s.reachable(ctx)
	if err != nil {
		return err
	}
	s.seen("the client reaches the VIP (ping, new TCP :%d answered by %s) within %s", WebPort, who, took.Round(time.Millisecond))
	if tcpOpen(ctx, l.State.ClientNS, VIP, AdminPort, time.Second) {
		return fmt.Errorf("a new TCP connection to the VIP:%d is accepted although no rule allows it", AdminPort)
	}
	t1, err := s.host(ctx)
	if err != nil {
		return err
	}
	if d := t1.port(k2.PortID).FallbackDrops - t0.port(k2.PortID).FallbackDrops; t1.port(k2.PortID).FallbackDrops == 0 || d == 0 {
		return fmt.Errorf("a new TCP connection to the VIP:%d got no answer but keepalived02's fallback DROP counted nothing", AdminPort)
	}
	s.seen("a new TCP connection to the VIP:%d gets no answer: keepalived02's 'fallback' rule dropped it (no group rule allows it)", AdminPort)
	if _, err := web.echo(3 * time.Second); err != nil {
		return fmt.Errorf("the :%d session, which the group allows, broke: %w", WebPort, err)
	}
	s.seen("the established :%d session still carries data (its rule allows it)", WebPort)
	start := time.Now()
	if err := waitFor(ctx, s.Converge, 0, fmt.Sprintf("the :%d session cut", AdminPort), func() (bool, string) {
		_, err := admin.echo(time.Second)
		return err != nil, "it still carries data"
	}); err != nil {
		return err
	}
	msg := fmt.Sprintf("the established :%d session no longer carries data (cut within %s)", AdminPort, time.Since(start).Round(100*time.Millisecond))
	if ctErr == nil {
		n, err := s.conntrackEntries(ctx, admin.localPort(), AdminPort)
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("the :%d session lost its data path but %d conntrack entries remain", AdminPort, n)
		}
		msg += fmt.Sprintf("; its conntrack entry in %s is gone", l.State.HostNS)
	}
	s.seen("%s", msg)
	if _, err := web.echo(3 * time.Second); err != nil {
		return fmt.Errorf("the :%d session broke after the :%d session was cut: %w", WebPort, AdminPort, err)
	}
	return nil
}
