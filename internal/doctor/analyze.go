package doctor

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/model"
)

// Pair widths above which an address pair counts as over-wide: the pair's
// addresses join every remote group the port is in, so a wide pair lets
// a whole range through other ports' remote-group rules.
const (
	widestPairBits4 = 24
	widestPairBits6 = 64
)

// VRRP's multicast groups (RFC 5798).
var (
	vrrpGroup4 = netip.MustParseAddr("224.0.0.18")
	vrrpGroup6 = netip.MustParseAddr("ff02::12")
)

const protoVRRP = 112

// peer is a port taking part in the VIP, as the VRRP checks see it.
type peer struct {
	port     *Port
	filtered bool // port security on
	// groups are the port's security groups, or the group doctor will
	// propose for a filtered port that has none.
	groups []string
	ips    []netip.Addr // fixed IPs of the VIP's family: VRRP's sources
}

// analysis holds the input indexed for the checks and the findings so far.
type analysis struct {
	in       Input
	vip      netip.Addr
	ether    string // IPv4 or IPv6
	network  string // the VIP's network ("" unknown)
	groups   map[string]*Group
	agroups  map[string]*AddressGroup
	networks map[string]*Network
	ports    map[string]*Port
	peers    []*peer
	findings []Finding
	// emitted holds every fix command already given, so that a later
	// finding never repeats one (running them all in order must work).
	emitted map[string]bool
}

// Analyze looks at the VIP's peers and returns the report. It fails only
// on input it cannot read (a VIP that is not an address, an unknown port).
func Analyze(in Input) (Report, error) {
	vip, err := netip.ParseAddr(strings.TrimSpace(in.VIP))
	if err != nil {
		return Report{}, fmt.Errorf("VIP %q is not an IP address: %w", in.VIP, err)
	}
	vip = vip.Unmap()
	a := &analysis{in: in, vip: vip, ether: "IPv4", groups: map[string]*Group{}, agroups: map[string]*AddressGroup{},
		networks: map[string]*Network{}, ports: map[string]*Port{}, emitted: map[string]bool{}}
	if vip.Is6() {
		a.ether = "IPv6"
	}
	for i := range in.Groups {
		a.groups[in.Groups[i].ID] = &in.Groups[i]
	}
	for i := range in.AddressGroups {
		a.agroups[in.AddressGroups[i].ID] = &in.AddressGroups[i]
	}
	for i := range in.Networks {
		a.networks[in.Networks[i].ID] = &in.Networks[i]
	}
	for i := range in.Ports {
		a.ports[in.Ports[i].ID] = &in.Ports[i]
	}
	if err := a.pickPeers(); err != nil {
		return Report{}, err
	}
	a.pickNetwork()

	// In the order their fixes should run.
	a.checkConflicts()
	a.checkNetworks()
	a.checkSubnet()
	a.checkPeerCount()
	a.checkNoGroups()
	a.checkPairs()
	a.checkVRRP()
	a.checkPortSecurityOff()
	a.checkReservation()

	rep := Report{VIP: vip.String(), Ports: []PortSummary{}, Findings: a.findings}
	for _, p := range a.peers {
		sum := summarize(p.port)
		for _, g := range p.port.SecurityGroups {
			sum.GroupNames = append(sum.GroupNames, a.groupRef(g))
		}
		rep.Ports = append(rep.Ports, sum)
	}
	if !slices.ContainsFunc(a.findings, func(f Finding) bool {
		return f.Severity == SeverityError || f.Severity == SeverityWarning
	}) {
		names := make([]string, 0, len(a.peers))
		for _, p := range a.peers {
			names = append(names, a.portLabel(p.port))
		}
		ok := Finding{Severity: SeverityOK, Code: CodeOK, Fix: []string{},
			Title: "The VIP is set up right on every peer",
			Detail: fmt.Sprintf("%d peers (%s) on network %s: VRRP is allowed both ways between them and the VIP "+
				"is in the allowed address pairs of every filtered peer.", len(a.peers), strings.Join(names, ", "), a.networkLabel())}
		rep.Findings = append([]Finding{ok}, rep.Findings...)
	}
	for i := range rep.Findings {
		if rep.Findings[i].Fix == nil {
			rep.Findings[i].Fix = []string{}
		}
	}
	return rep, nil
}

func (a *analysis) add(f Finding) {
	var fix []string
	for _, c := range f.Fix {
		if !a.emitted[c] {
			a.emitted[c] = true
			fix = append(fix, c)
		}
	}
	f.Fix = fix
	a.findings = append(a.findings, f)
}

// ---- peers and context ----

// pickPeers takes the ports given, else every port that holds the VIP in
// its address pairs, or as its own fixed IP on a VM (that is a mistake the
// conflict check reports, but the port still takes part).
func (a *analysis) pickPeers() error {
	var chosen []*Port
	if a.in.PeerIDs != nil {
		for _, id := range a.in.PeerIDs {
			p, ok := a.ports[id]
			if !ok {
				return fmt.Errorf("port %s: not found", id)
			}
			if !slices.Contains(chosen, p) {
				chosen = append(chosen, p)
			}
		}
	} else {
		// A VM whose own address is the VIP is a peer only when no port
		// holds the VIP as a pair: next to keepalived nodes that do, it is
		// a VM that was handed the address (a conflict, not a node).
		var byPair, byAddress []*Port
		for i := range a.in.Ports {
			p := &a.in.Ports[i]
			if a.in.NetworkID != "" && p.NetworkID != a.in.NetworkID {
				continue
			}
			switch {
			case a.pairCoveringVIP(p) >= 0:
				byPair = append(byPair, p)
			case a.holdsVIP(p) && onVM(p):
				byAddress = append(byAddress, p)
			}
		}
		chosen = byPair
		if len(byPair) == 0 {
			chosen = byAddress
		}
		// Stable order: by address, then id.
		slices.SortStableFunc(chosen, func(x, y *Port) int {
			if c := firstIP(x).Compare(firstIP(y)); c != 0 {
				return c
			}
			return strings.Compare(x.ID, y.ID)
		})
	}
	for _, p := range chosen {
		pv := &peer{port: p, filtered: p.PortSecurity, groups: p.SecurityGroups}
		for _, f := range p.FixedIPs {
			if ip, err := netip.ParseAddr(f.IPAddress); err == nil && ip.Unmap().Is4() == a.vip.Is4() {
				pv.ips = append(pv.ips, ip.Unmap())
			}
		}
		a.peers = append(a.peers, pv)
	}
	// A filtered port without groups drops everything; the fix puts it in
	// a group and the VRRP checks look at it as it will be then.
	for _, pv := range a.peers {
		if pv.filtered && len(pv.groups) == 0 {
			if g := a.proposedGroup(pv.port); g != "" {
				pv.groups = []string{g}
			}
		}
	}
	return nil
}

// pickNetwork decides the VIP's network: the one given, else the peers'
// (when they differ, the most common one of those with a subnet holding
// the VIP).
func (a *analysis) pickNetwork() {
	if a.in.NetworkID != "" {
		a.network = a.in.NetworkID
		return
	}
	score := map[string]int{}
	best := 0
	for _, p := range a.peers {
		n := p.port.NetworkID
		if _, seen := score[n]; !seen {
			a.network = n
			if a.vipSubnet() != nil {
				score[n] += len(a.peers) + 1
			}
		}
		score[n]++
	}
	for _, p := range a.peers {
		if n := p.port.NetworkID; score[n] > best {
			best, a.network = score[n], n
		}
	}
}

func firstIP(p *Port) netip.Addr {
	for _, f := range p.FixedIPs {
		if ip, err := netip.ParseAddr(f.IPAddress); err == nil {
			return ip
		}
	}
	return netip.Addr{}
}

// onVM reports whether a port is plugged into an instance (as opposed to
// a port that only reserves an address, or a network service port).
func onVM(p *Port) bool {
	return strings.HasPrefix(p.DeviceOwner, "compute:") || (p.DeviceOwner == "" && p.DeviceID != "")
}

func (a *analysis) holdsVIP(p *Port) bool {
	for _, f := range p.FixedIPs {
		if ip, err := netip.ParseAddr(f.IPAddress); err == nil && ip.Unmap() == a.vip {
			return true
		}
	}
	return false
}

// pairCoveringVIP returns the index of the first address pair of p that
// covers the VIP (the address itself or a CIDR holding it), or -1.
func (a *analysis) pairCoveringVIP(p *Port) int {
	for i, ap := range p.AddressPairs {
		if pr, ok := parsePrefix(ap.IPAddress); ok && pr.Contains(a.vip) {
			return i
		}
	}
	return -1
}

// parsePrefix reads an address ("10.0.0.1" is 10.0.0.1/32) or a CIDR,
// masked.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-unmapBits(pr.Addr())).Masked(), true
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), true
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// subnetsOf returns the subnets of a network in input order.
func (a *analysis) subnetsOf(network string) []*Subnet {
	var out []*Subnet
	for i := range a.in.Subnets {
		if a.in.Subnets[i].NetworkID == network {
			out = append(out, &a.in.Subnets[i])
		}
	}
	return out
}

// vipSubnet is the subnet of the VIP's network that contains it, or nil.
func (a *analysis) vipSubnet() *Subnet {
	for _, s := range a.subnetsOf(a.network) {
		if pr, ok := parsePrefix(s.CIDR); ok && pr.Contains(a.vip) {
			return s
		}
	}
	return nil
}

// ---- checks ----

func (a *analysis) checkConflicts() {
	routerHolds := false
	for i := range a.in.Ports {
		p := &a.in.Ports[i]
		if !a.holdsVIP(p) || (a.network != "" && p.NetworkID != a.network) {
			continue
		}
		isPeer := a.isPeer(p)
		switch {
		case strings.HasPrefix(p.DeviceOwner, "network:"):
			routerHolds = routerHolds || strings.HasPrefix(p.DeviceOwner, "network:router")
			a.add(Finding{Severity: SeverityError, Code: CodeConflict,
				Title: fmt.Sprintf("The VIP %s is the address of %s port %s", a.vip, p.DeviceOwner, a.portLabel(p)),
				Detail: fmt.Sprintf("Port %s (%s) owns %s. A keepalived node that takes the VIP answers ARP for it "+
					"too, and traffic for the network service goes astray. Choose a VIP that no port holds.", a.portLabel(p), p.DeviceOwner, a.vip)})
		case onVM(p) && isPeer:
			var fix []string
			if s := a.vipSubnet(); s != nil {
				if free, ok := a.freeAddress(s); ok {
					fix = append(fix, fmt.Sprintf("openstack port set --no-fixed-ip --fixed-ip subnet=%s,ip-address=%s --allowed-address ip-address=%s %s",
						s.ID, free, a.vip, p.ID))
				}
			}
			a.add(Finding{Severity: SeverityError, Code: CodeConflict, Fix: fix,
				Title: fmt.Sprintf("The VIP %s is the fixed IP of peer %s", a.vip, a.portLabel(p)),
				Detail: fmt.Sprintf("Port %s has the VIP as its own address, so the VM keeps it while another node holds "+
					"the VIP: two machines answer for one address. The fix gives the port a new address from the subnet "+
					"and keeps the VIP as an address pair; the VM then needs its new address (DHCP renew or reboot) "+
					"and keepalived's configuration the VIP as a virtual address.", a.portLabel(p))})
		case onVM(p):
			var fix []string
			if s := a.vipSubnet(); s != nil {
				if free, ok := a.freeAddress(s); ok {
					fix = append(fix, fmt.Sprintf("openstack port set --no-fixed-ip --fixed-ip subnet=%s,ip-address=%s %s", s.ID, free, p.ID))
				}
			}
			a.add(Finding{Severity: SeverityError, Code: CodeConflict, Fix: fix,
				Title: fmt.Sprintf("The VIP %s is the fixed IP of another VM's port %s", a.vip, a.portLabel(p)),
				Detail: fmt.Sprintf("Port %s (device %s) owns %s and is not one of the peers: whenever keepalived "+
					"raises the VIP, two machines answer for it. Either choose another VIP, or move that port to a new "+
					"address (the fix; its VM must then pick the address up by DHCP renew or reboot).", a.portLabel(p), p.DeviceID, a.vip)})
		}
	}
	if routerHolds {
		return
	}
	for _, s := range a.subnetsOf(a.network) {
		if gw, err := netip.ParseAddr(s.GatewayIP); err == nil && gw.Unmap() == a.vip {
			a.add(Finding{Severity: SeverityError, Code: CodeConflict,
				Title:  fmt.Sprintf("The VIP %s is the gateway of subnet %s", a.vip, label(s.Name, s.ID)),
				Detail: "The subnet's router answers for this address. Choose a VIP that is not the gateway."})
		}
	}
}

// freeAddress picks the first address of the subnet's allocation pools
// that no port seen holds (fixed IP or single-address pair), for moving a
// port off the VIP. An address is named because a subnet alone would let
// the cloud keep the port's current address on that subnet.
func (a *analysis) freeAddress(s *Subnet) (netip.Addr, bool) {
	used := map[netip.Addr]bool{a.vip: true}
	if gw, err := netip.ParseAddr(s.GatewayIP); err == nil {
		used[gw.Unmap()] = true
	}
	for _, p := range a.in.Ports {
		if p.NetworkID != s.NetworkID {
			continue
		}
		for _, f := range p.FixedIPs {
			if ip, err := netip.ParseAddr(f.IPAddress); err == nil {
				used[ip.Unmap()] = true
			}
		}
		for _, ap := range p.AddressPairs {
			if ip, err := netip.ParseAddr(ap.IPAddress); err == nil {
				used[ip.Unmap()] = true
			}
		}
	}
	for _, pool := range s.AllocationPools {
		lo, err1 := netip.ParseAddr(pool.Start)
		hi, err2 := netip.ParseAddr(pool.End)
		if err1 != nil || err2 != nil {
			continue
		}
		// Bounded: a port set's worth of tries is plenty on a real subnet.
		for ip, n := lo.Unmap(), 0; ip.IsValid() && !hi.Unmap().Less(ip) && n < 1<<16; ip, n = ip.Next(), n+1 {
			if !used[ip] {
				return ip, true
			}
		}
	}
	return netip.Addr{}, false
}

func (a *analysis) isPeer(p *Port) bool {
	return slices.ContainsFunc(a.peers, func(pv *peer) bool { return pv.port == p })
}

func (a *analysis) checkNetworks() {
	seen := map[string][]string{}
	var order []string
	for _, pv := range a.peers {
		n := pv.port.NetworkID
		if _, ok := seen[n]; !ok {
			order = append(order, n)
		}
		seen[n] = append(seen[n], a.portLabel(pv.port))
	}
	if len(order) < 2 && (a.in.NetworkID == "" || len(order) == 0 || order[0] == a.in.NetworkID) {
		return
	}
	var parts []string
	for _, n := range order {
		parts = append(parts, fmt.Sprintf("%s on %s", strings.Join(seen[n], ", "), a.netLabel(n)))
	}
	title := "The peers are on different networks"
	if len(order) == 1 {
		title = fmt.Sprintf("The peers are not on network %s", a.netLabel(a.in.NetworkID))
	}
	a.add(Finding{Severity: SeverityError, Code: CodeNetworks, Title: title,
		Detail: "VRRP advertisements and the VIP's ARP stay inside one layer-2 network, so all peers must have a port " +
			"on the same network: " + strings.Join(parts, "; ") + ". If these are separate clusters that reuse the address " +
			"on their own networks, name the network with --network."})
}

func (a *analysis) checkSubnet() {
	if a.network == "" || a.vipSubnet() != nil {
		return
	}
	var cidrs []string
	for _, s := range a.subnetsOf(a.network) {
		cidrs = append(cidrs, s.CIDR)
	}
	detail := fmt.Sprintf("Network %s has no subnet", a.netLabel(a.network))
	if len(cidrs) > 0 {
		detail = fmt.Sprintf("Network %s has only %s", a.netLabel(a.network), strings.Join(cidrs, ", "))
	}
	a.add(Finding{Severity: SeverityError, Code: CodeOutsideSubnet,
		Title:  fmt.Sprintf("The VIP %s is outside every subnet of network %s", a.vip, a.netLabel(a.network)),
		Detail: detail + ": the instances have no route to the VIP on this link and the cloud's routers will not deliver it. Choose a VIP inside the subnet of the peers."})
}

func (a *analysis) checkPeerCount() {
	if len(a.peers) >= 2 {
		return
	}
	how := "hold it as a fixed IP or in their allowed address pairs"
	if a.in.PeerIDs != nil {
		how = "were given with --ports"
	}
	detail := fmt.Sprintf("Only %d port(s) %s", len(a.peers), how)
	if len(a.peers) == 1 {
		detail += " (" + a.portLabel(a.peers[0].port) + ")"
	}
	// A VM port without port security may hold any address, so it can be
	// a peer that the search by address pairs cannot see.
	var open []string
	for i := range a.in.Ports {
		p := &a.in.Ports[i]
		if !p.PortSecurity && onVM(p) && !a.isPeer(p) && (a.network == "" || p.NetworkID == a.network) {
			open = append(open, a.portLabel(p))
		}
	}
	if len(open) > 0 {
		detail += ". Ports without port security, which can hold the VIP unseen: " + strings.Join(open, ", ") +
			" (name them with --ports to check them as peers)"
	}
	a.add(Finding{Severity: SeverityError, Code: CodeFewPeers,
		Title: fmt.Sprintf("Fewer than 2 peers share the VIP %s", a.vip),
		Detail: detail + ": there is nothing to fail over to. Add the VIP to the other node's port with " +
			"`openstack port set --allowed-address ip-address=" + a.vip.String() + " PORT`, or name the peers with --ports."})
}

func (a *analysis) checkNoGroups() {
	for _, pv := range a.peers {
		p := pv.port
		if !pv.filtered || len(p.SecurityGroups) > 0 {
			continue
		}
		f := Finding{Severity: SeverityError, Code: CodeNoGroups,
			Title: fmt.Sprintf("Peer %s has port security on but no security group", a.portLabel(p)),
			Detail: fmt.Sprintf("With port security on and no group, port %s drops every packet to it and every new "+
				"connection from it, VRRP included.", a.portLabel(p))}
		if len(pv.groups) > 0 {
			f.Fix = []string{fmt.Sprintf("openstack port set --security-group %s %s", a.groupRef(pv.groups[0]), p.ID)}
			f.Detail += fmt.Sprintf(" The fix puts it in %s, the group the other peers use.", a.groupLabel(pv.groups[0]))
		}
		a.add(f)
	}
}

// checkPairs: the VIP in every filtered peer's pairs, no over-wide pairs,
// pairs whose MAC is not the port's.
func (a *analysis) checkPairs() {
	for _, pv := range a.peers {
		p := pv.port
		if !pv.filtered {
			continue // no anti-spoofing; reported by checkPortSecurityOff
		}
		subnetBits := map[string]int{} // family → narrowest subnet prefix on the port's network
		for _, s := range a.subnetsOf(p.NetworkID) {
			if pr, ok := parsePrefix(s.CIDR); ok {
				k := fam(pr.Addr())
				if b, seen := subnetBits[k]; !seen || pr.Bits() > b {
					subnetBits[k] = pr.Bits()
				}
			}
		}
		covering := a.pairCoveringVIP(p)
		removedCovering := false
		for i, ap := range p.AddressPairs {
			pr, ok := parsePrefix(ap.IPAddress)
			if !ok {
				continue
			}
			limit := widestPairBits4
			if pr.Addr().Is6() {
				limit = widestPairBits6
			}
			sb, hasSubnet := subnetBits[fam(pr.Addr())]
			wide := pr.Bits() < limit || (hasSubnet && pr.Bits() < sb)
			if !wide {
				continue
			}
			sev, why := SeverityWarning, fmt.Sprintf("wider than /%d", limit)
			if hasSubnet && pr.Bits() < sb {
				why = fmt.Sprintf("wider than the network's subnet (/%d)", sb)
			}
			if pr.Bits() == 0 {
				sev, why = SeverityError, "every address"
			}
			fix := []string{fmt.Sprintf("openstack port unset --allowed-address %s %s", pairArg(ap), p.ID)}
			if i == covering && a.pairCoveringVIPAfter(p, i) < 0 {
				removedCovering = true
				fix = append(fix, fmt.Sprintf("openstack port set --allowed-address ip-address=%s %s", a.vip, p.ID))
			}
			a.add(Finding{Severity: sev, Code: CodeWidePair, Fix: fix,
				Title: fmt.Sprintf("Peer %s has an over-wide address pair %s", a.portLabel(p), ap.IPAddress),
				Detail: fmt.Sprintf("The pair %s (%s, %s) lets port %s send from any of those addresses, and every one of them "+
					"joins each security group the port is in (%s): rules of other ports that admit that group as remote now "+
					"admit the whole range. Allow only the VIP.", ap.IPAddress, why, addressCount(pr), a.portLabel(p), a.groupList(p.SecurityGroups))})
		}
		if covering < 0 && !a.holdsVIP(p) {
			a.add(Finding{Severity: SeverityError, Code: CodeMissingPair,
				Fix:   []string{fmt.Sprintf("openstack port set --allowed-address ip-address=%s %s", a.vip, p.ID)},
				Title: fmt.Sprintf("The VIP %s is not in the allowed address pairs of peer %s", a.vip, a.portLabel(p)),
				Detail: fmt.Sprintf("Anti-spoofing on port %s drops every packet the VM sends from %s, so once keepalived "+
					"moves the VIP to this node, the VIP is unreachable.", a.portLabel(p), a.vip)})
		}
		if covering >= 0 && !removedCovering {
			ap := p.AddressPairs[covering]
			mac := strings.ToLower(ap.MACAddress)
			if mac != "" && mac != strings.ToLower(p.MACAddress) && !strings.HasPrefix(mac, "00:00:5e:00:0") {
				a.add(Finding{Severity: SeverityWarning, Code: CodePairMAC,
					Fix: []string{
						fmt.Sprintf("openstack port unset --allowed-address %s %s", pairArg(ap), p.ID),
						fmt.Sprintf("openstack port set --allowed-address ip-address=%s %s", a.vip, p.ID),
					},
					Title: fmt.Sprintf("The VIP's address pair on peer %s carries another MAC (%s)", a.portLabel(p), ap.MACAddress),
					Detail: fmt.Sprintf("Port %s has MAC %s, but its pair for the VIP allows %s only with source MAC %s: "+
						"keepalived sends from the interface's own MAC, so the VIP's packets are dropped.", a.portLabel(p), p.MACAddress, ap.IPAddress, ap.MACAddress)})
			}
		}
	}
}

// addressCount says how many addresses a prefix holds.
func addressCount(pr netip.Prefix) string {
	host := pr.Addr().BitLen() - pr.Bits()
	if host >= 63 {
		return fmt.Sprintf("2^%d addresses", host)
	}
	return fmt.Sprintf("%d addresses", uint64(1)<<host)
}

func (a *analysis) groupList(ids []string) string {
	if len(ids) == 0 {
		return "none now"
	}
	var names []string
	for _, g := range ids {
		names = append(names, a.groupLabel(g))
	}
	return strings.Join(names, ", ")
}

// pairCoveringVIPAfter: another pair than skip that covers the VIP, or -1.
func (a *analysis) pairCoveringVIPAfter(p *Port, skip int) int {
	for i, ap := range p.AddressPairs {
		if pr, ok := parsePrefix(ap.IPAddress); i != skip && ok && pr.Contains(a.vip) {
			return i
		}
	}
	return -1
}

// pairArg is the openstack CLI's spelling of an existing pair (unset
// matches the pair exactly, MAC included).
func pairArg(ap AddressPair) string {
	if ap.MACAddress == "" {
		return "ip-address=" + ap.IPAddress
	}
	return "ip-address=" + ap.IPAddress + ",mac-address=" + ap.MACAddress
}

func fam(a netip.Addr) string {
	if a.Is4() {
		return "4"
	}
	return "6"
}

func (a *analysis) checkVRRP() {
	if len(a.peers) < 2 {
		return
	}
	fixIn, fixOut, in, out, unicastOnly := a.vrrpPlan(a.peers)
	if len(in) > 0 {
		a.add(Finding{Severity: SeverityError, Code: CodeVRRPIngress, Fix: fixIn,
			Title: "VRRP (IP protocol 112) is not admitted between the peers",
			Detail: strings.Join(in, "; ") + ". A node that hears no advertisements from its peer takes the VIP " +
				"itself: both become master (split brain) and the VIP flaps."})
	}
	if len(out) > 0 {
		a.add(Finding{Severity: SeverityError, Code: CodeVRRPEgress, Fix: fixOut,
			Title: "VRRP (IP protocol 112) may not leave every peer",
			Detail: strings.Join(out, "; ") + ". The other nodes never hear this one's advertisements and take the " +
				"VIP too (split brain)."})
	}
	for _, pv := range unicastOnly {
		a.add(Finding{Severity: SeverityInfo, Code: CodeUnicastOnly,
			Title: fmt.Sprintf("Peer %s may send VRRP only to the peers' own addresses", a.portLabel(pv.port)),
			Detail: fmt.Sprintf("Its egress rules allow protocol 112 to the other peers but not to %s: this works only "+
				"if keepalived is configured with unicast_peer.", a.vrrpGroup())})
	}
}

func (a *analysis) vrrpGroup() netip.Addr {
	if a.vip.Is4() {
		return vrrpGroup4
	}
	return vrrpGroup6
}

// vrrpPlan finds, for the peers as given, which VRRP flows no rule allows,
// and the rules that would allow them: one rule on a group all the
// affected peers share where possible, else one per peer and source.
func (a *analysis) vrrpPlan(peers []*peer) (fixIn, fixOut, inGaps, outGaps []string, unicastOnly []*peer) {
	type gap struct {
		src *peer
		ip  netip.Addr
	}
	inMissing := map[*peer][]gap{}
	var receivers []*peer
	var senders []*peer
	for _, x := range peers {
		if !x.filtered {
			continue
		}
		var gaps []gap
		for _, q := range peers {
			if q == x {
				continue
			}
			for _, ip := range q.ips {
				if !a.allows(x, "ingress", ip, q) {
					gaps = append(gaps, gap{q, ip})
				}
			}
		}
		if len(gaps) > 0 {
			inMissing[x] = gaps
			receivers = append(receivers, x)
			var from []string
			for _, g := range gaps {
				from = append(from, fmt.Sprintf("%s (port %s)", g.ip, a.portLabel(g.src.port)))
			}
			inGaps = append(inGaps, fmt.Sprintf("port %s does not admit VRRP from %s", a.portLabel(x.port), strings.Join(from, ", ")))
		}
		if !a.allows(x, "egress", a.vrrpGroup(), nil) {
			all := true
			for _, q := range peers {
				for _, ip := range q.ips {
					if q != x && !a.allows(x, "egress", ip, q) {
						all = false
					}
				}
			}
			if all {
				unicastOnly = append(unicastOnly, x)
			} else {
				senders = append(senders, x)
				outGaps = append(outGaps, fmt.Sprintf("port %s may not send VRRP to %s", a.portLabel(x.port), a.vrrpGroup()))
			}
		}
	}
	if len(receivers) > 0 {
		// With a group every receiver is in, one rule on it admitting its
		// own members covers the sources that are members too; the others
		// (unfiltered peers, peers in other groups) get a rule for their
		// address on the same group.
		var common string
		for _, g := range receivers[0].groups {
			if !slices.ContainsFunc(receivers, func(x *peer) bool { return !slices.Contains(x.groups, g) }) {
				common = g
				break
			}
		}
		if common != "" {
			var byAddress []string
			member := false
			for _, x := range receivers {
				for _, gp := range inMissing[x] {
					if gp.src.filtered && slices.Contains(gp.src.groups, common) {
						member = true
						continue
					}
					c := fmt.Sprintf("openstack security group rule create --ingress --ethertype %s --protocol 112 --remote-ip %s %s",
						a.ether, netip.PrefixFrom(gp.ip, gp.ip.BitLen()), a.groupRef(common))
					if !slices.Contains(byAddress, c) {
						byAddress = append(byAddress, c)
					}
				}
			}
			if member {
				fixIn = append(fixIn, fmt.Sprintf("openstack security group rule create --ingress --ethertype %s --protocol 112 --remote-group %s %s",
					a.ether, a.groupRef(common), a.groupRef(common)))
			}
			fixIn = append(fixIn, byAddress...)
		} else {
			for _, x := range receivers {
				if len(x.groups) == 0 {
					continue
				}
				for _, gp := range inMissing[x] {
					c := fmt.Sprintf("openstack security group rule create --ingress --ethertype %s --protocol 112 --remote-ip %s %s",
						a.ether, netip.PrefixFrom(gp.ip, gp.ip.BitLen()), a.groupRef(x.groups[0]))
					if !slices.Contains(fixIn, c) {
						fixIn = append(fixIn, c)
					}
				}
			}
		}
	}
	if len(senders) > 0 {
		var common string
		for _, g := range senders[0].groups {
			if !slices.ContainsFunc(senders, func(x *peer) bool { return !slices.Contains(x.groups, g) }) {
				common = g
				break
			}
		}
		for _, x := range senders {
			g := common
			if g == "" && len(x.groups) > 0 {
				g = x.groups[0]
			}
			if g == "" {
				continue
			}
			c := fmt.Sprintf("openstack security group rule create --egress --ethertype %s --protocol 112 %s", a.ether, a.groupRef(g))
			if !slices.Contains(fixOut, c) {
				fixOut = append(fixOut, c)
			}
		}
	}
	return fixIn, fixOut, inGaps, outGaps, unicastOnly
}

// allows reports whether some rule of x's groups lets VRRP through in
// direction dir with remote address ip; other is the peer that holds ip
// (nil for the multicast group), for remote-group rules.
func (a *analysis) allows(x *peer, dir string, ip netip.Addr, other *peer) bool {
	for _, gid := range x.groups {
		g := a.groups[gid]
		if g == nil {
			continue
		}
		for _, r := range g.Rules {
			if !strings.EqualFold(r.Direction, dir) || !a.etherMatches(r.EtherType) || !allowsProto(r.Protocol, protoVRRP) {
				continue
			}
			switch {
			case r.RemoteGroupID != "":
				if other != nil && other.filtered && slices.Contains(other.groups, r.RemoteGroupID) {
					return true
				}
			case r.RemoteAddressGroupID != "":
				if ag := a.agroups[r.RemoteAddressGroupID]; ag != nil {
					for _, s := range ag.Addresses {
						if pr, ok := parsePrefix(s); ok && pr.Contains(ip) {
							return true
						}
					}
				}
			case r.RemoteIPPrefix == "":
				return true
			default:
				if pr, ok := parsePrefix(r.RemoteIPPrefix); ok && pr.Contains(ip) {
					return true
				}
			}
		}
	}
	return false
}

func (a *analysis) etherMatches(e string) bool {
	return e == "" || strings.EqualFold(e, a.ether)
}

// allowsProto: does a rule's protocol (as stored) match IP protocol n?
// No protocol, "any" and 0 match everything, as Neutron's drivers do.
func allowsProto(p string, n int) bool {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" || p == "any" {
		return true
	}
	if v, ok := model.ProtocolNumbers[p]; ok {
		return v == 0 || v == n
	}
	v, err := strconv.Atoi(p)
	return err == nil && (v == 0 || v == n)
}

func (a *analysis) checkPortSecurityOff() {
	for _, pv := range a.peers {
		if pv.filtered {
			continue
		}
		p := pv.port
		g := a.proposedGroup(p)
		cmd := "openstack port set --enable-port-security"
		if g != "" {
			cmd += " --security-group " + a.groupRef(g)
		}
		if a.pairCoveringVIP(p) < 0 && !a.holdsVIP(p) {
			cmd += " --allowed-address ip-address=" + a.vip.String()
		}
		fix := []string{cmd + " " + p.ID}
		if g != "" {
			// Filtered in g, this peer needs g to let VRRP through.
			var after []*peer
			for _, q := range a.peers {
				if q == pv {
					q = &peer{port: p, filtered: true, groups: []string{g}, ips: pv.ips}
				}
				after = append(after, q)
			}
			in, out, _, _, _ := a.vrrpPlan(after)
			fix = append(fix, in...)
			fix = append(fix, out...)
		}
		detail := fmt.Sprintf("Port %s has port security disabled: keepalived works (nothing is filtered or "+
			"anti-spoofed), but the VM is open to everything on the network and may send from any address.", a.portLabel(p))
		if g != "" {
			detail += fmt.Sprintf(" To filter it again, put it in %s with the VIP as an address pair.", a.groupLabel(g))
		}
		a.add(Finding{Severity: SeverityWarning, Code: CodePortSecurityOff, Fix: fix,
			Title:  fmt.Sprintf("Port security is disabled on peer %s", a.portLabel(p)),
			Detail: detail})
	}
}

// checkReservation: a port that only holds the VIP keeps the address
// from being handed to a new port; without one, a VIP inside an
// allocation pool is at risk.
func (a *analysis) checkReservation() {
	var holder *Port
	for i := range a.in.Ports {
		p := &a.in.Ports[i]
		// A VM holding the VIP as its own address gives it up with the
		// conflict's fix, after which nothing reserves it.
		if a.holdsVIP(p) && (a.network == "" || p.NetworkID == a.network) && !(onVM(p) && a.vipSubnet() != nil) {
			holder = p
			break
		}
	}
	if holder != nil {
		if !onVM(holder) && !strings.HasPrefix(holder.DeviceOwner, "network:") {
			a.add(Finding{Severity: SeverityInfo, Code: CodeReserved, Fix: []string{},
				Title:  fmt.Sprintf("The VIP %s is reserved by port %s", a.vip, a.portLabel(holder)),
				Detail: "That port holds the address as its fixed IP and is attached to no VM, so the cloud will not give the VIP to another port."})
		}
		return
	}
	s := a.vipSubnet()
	if s == nil {
		return
	}
	for _, pool := range s.AllocationPools {
		lo, err1 := netip.ParseAddr(pool.Start)
		hi, err2 := netip.ParseAddr(pool.End)
		if err1 != nil || err2 != nil || a.vip.Less(lo.Unmap()) || hi.Unmap().Less(a.vip) {
			continue
		}
		a.add(Finding{Severity: SeverityWarning, Code: CodeUnreservedInPool,
			Fix: []string{fmt.Sprintf("openstack port create --network %s --fixed-ip subnet=%s,ip-address=%s %s",
				a.netRef(s.NetworkID), s.ID, a.vip, reservationName(a.vip))},
			Title: fmt.Sprintf("The VIP %s is in the allocation pool of subnet %s and no port reserves it", a.vip, label(s.Name, s.ID)),
			Detail: fmt.Sprintf("The next port created on the network may get %s as its fixed IP (pool %s-%s), and then "+
				"two machines answer for it. A port that holds the VIP and is attached to nothing reserves it.", a.vip, pool.Start, pool.End)})
		return
	}
}

func reservationName(vip netip.Addr) string {
	return "vip-" + strings.NewReplacer(".", "-", ":", "-").Replace(vip.String())
}

// proposedGroup is the group doctor puts a groupless or unfiltered peer
// in: the one most of the other filtered peers use, else its project's
// default group.
func (a *analysis) proposedGroup(p *Port) string {
	count := map[string]int{}
	best, pick := 0, ""
	for _, q := range a.peers {
		if q.port == p || !q.filtered {
			continue
		}
		for _, g := range q.port.SecurityGroups {
			count[g]++
			if count[g] > best {
				best, pick = count[g], g
			}
		}
	}
	if pick != "" {
		return pick
	}
	for _, g := range a.in.Groups {
		if g.Name == "default" && (g.ProjectID == p.ProjectID || p.ProjectID == "") {
			return g.ID
		}
	}
	return ""
}

// ---- naming ----

var plainWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

// groupRef names a group on a command line: its name when that is
// unambiguous among the groups seen and needs no quoting, else its id.
func (a *analysis) groupRef(id string) string {
	g := a.groups[id]
	if g == nil || g.Name == "" || !plainWord.MatchString(g.Name) {
		return id
	}
	n := 0
	for _, o := range a.in.Groups {
		if o.Name == g.Name || o.ID == g.Name {
			n++
		}
	}
	if n != 1 {
		return id
	}
	return g.Name
}

func (a *analysis) groupLabel(id string) string {
	if ref := a.groupRef(id); ref != id {
		return ref
	}
	if g := a.groups[id]; g != nil {
		return label(g.Name, id)
	}
	return id
}

// portLabel names a port in prose: its name when no other port seen has
// it, else name and id.
func (a *analysis) portLabel(p *Port) string {
	n := 0
	for i := range a.in.Ports {
		if a.in.Ports[i].Name == p.Name {
			n++
		}
	}
	if p.Name != "" && n == 1 {
		return p.Name
	}
	return label(p.Name, p.ID)
}

func (a *analysis) netLabel(id string) string {
	if ref := a.netRef(id); ref != id {
		return ref
	}
	if n := a.networks[id]; n != nil {
		return label(n.Name, id)
	}
	return id
}

// netRef names a network on a command line: its name when unambiguous
// among the networks seen and plain, else its id.
func (a *analysis) netRef(id string) string {
	n := a.networks[id]
	if n == nil || !plainWord.MatchString(n.Name) {
		return id
	}
	count := 0
	for _, o := range a.in.Networks {
		if o.Name == n.Name || o.ID == n.Name {
			count++
		}
	}
	if count != 1 {
		return id
	}
	return n.Name
}

func (a *analysis) networkLabel() string {
	if a.network == "" {
		return "(unknown)"
	}
	return a.netLabel(a.network)
}

// label is "name (id)", or the id alone.
func label(name, id string) string {
	if name == "" {
		return id
	}
	return name + " (" + id + ")"
}

func summarize(p *Port) PortSummary {
	s := PortSummary{ID: p.ID, Name: p.Name, NetworkID: p.NetworkID, MACAddress: p.MACAddress,
		PortSecurityEnabled: p.PortSecurity, FixedIPs: []string{}, SecurityGroups: []string{}, AllowedAddressPairs: []AddressPair{}}
	for _, f := range p.FixedIPs {
		s.FixedIPs = append(s.FixedIPs, f.IPAddress)
	}
	s.SecurityGroups = append(s.SecurityGroups, p.SecurityGroups...)
	s.AllowedAddressPairs = append(s.AllowedAddressPairs, p.AddressPairs...)
	return s
}
