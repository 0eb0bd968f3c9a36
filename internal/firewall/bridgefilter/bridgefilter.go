// Package bridgefilter keeps a bridge-family nftables table ("bridge
// bulwark") that checks what the iptables layer cannot see: the link
// layer of the frames a VM sends. Per filtered port it allows only the
// port's own MAC and its address pairs' MACs as Ethernet source and ARP
// sender, only the port's addresses (fixed IPs, pairs) as ARP sender IP
// and as the target of a neighbour advertisement, and no VLAN-tagged
// frames (br_netfilter does not pass tagged frames to iptables, so they
// would skip every IP check). Ports without port security, and
// network-owned ports, are not filtered.
//
// Build is a pure function from the compiler's HostState to the desired
// Filter; a Syncer writes the difference to the kernel as one nftables
// transaction per sync (knftables), and nothing when nothing changed.
//
//	table bridge bulwark {
//	    map ports { type ifname : verdict }          device -> goto port-<device>
//	    chain prerouting { type filter hook prerouting priority filter
//	        iifname vmap @ports }
//	    chain port-<device> { the port's rules (Filter.Ports[device].Rules) }
//	}
package bridgefilter

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"sigs.k8s.io/knftables"
)

// Table is the name of the bridge-family table Bulwark owns.
const Table = "bulwark"

const (
	baseChain = "prerouting"
	portsMap  = "ports"
)

// Filter is the desired content of the table.
type Filter struct {
	// Ports holds the rules of every filtered port by device.
	Ports map[string]PortFilter
}

// PortFilter is one port's chain.
type PortFilter struct {
	PortID string
	// Rules are nft rules in order; a frame that passes them all is
	// accepted here (and goes on to the iptables layer).
	Rules []string
}

// ChainName is the chain of a port's device.
func ChainName(device string) string { return "port-" + device }

// Build computes the filter a host must have. It is pure and
// deterministic, like firewall.Compile, and reads the same allow lists.
func Build(h *firewall.HostState) *Filter {
	f := &Filter{Ports: map[string]PortFilter{}}
	devs := map[string]int{}
	for i := range h.Ports {
		devs[h.Ports[i].Dev()]++
	}
	for i := range h.Ports {
		p := &h.Ports[i]
		if !p.Filtered() {
			continue
		}
		dev := p.Dev()
		if devs[dev] > 1 || p.FailClosed {
			// Inconsistent or incomplete data: the iptables layer fails
			// closed, and so does this one.
			f.Ports[dev] = PortFilter{PortID: p.ID, Rules: []string{"drop"}}
			continue
		}
		f.Ports[dev] = PortFilter{PortID: p.ID, Rules: portRules(h, p)}
	}
	return f
}

func portRules(h *firewall.HostState, p *firewall.Port) []string {
	v4 := firewall.AllowList(h, p, firewall.IPv4)
	v6 := firewall.AllowList(h, p, firewall.IPv6)
	var macs []string
	anyAddr := false
	for _, e := range append(slices.Clone(v4), v6...) {
		if !slices.Contains(macs, e.MAC) {
			macs = append(macs, e.MAC)
		}
		if e.Kind == firewall.CommentMACOnly {
			anyAddr = true
		}
	}
	if len(macs) == 0 {
		return []string{"drop"}
	}
	rules := []string{
		// 802.1Q/802.1ad frames are not handed to iptables by
		// br_netfilter: they would bypass every IP check.
		"ether type { 8021q, 8021ad } drop",
		"ether saddr != " + set(macs) + " drop",
		"arp saddr ether != " + set(macs) + " drop",
	}
	if anyAddr {
		// A port without fixed IPs may use any address (as in iptables).
		return rules
	}
	// ARP: the sender IP is one of the port's IPv4 addresses, or 0.0.0.0
	// (an address probe). This is what keeps a VIP from being claimed by
	// a port that does not hold it as a pair.
	ips := []string{"0.0.0.0"}
	for _, e := range v4 {
		if e.Prefix.IsValid() {
			ips = appendOnce(ips, prefixText(e.Prefix))
		}
	}
	rules = append(rules, "arp saddr ip != "+set(ips)+" drop")
	// Neighbour advertisements: the target is one of the port's IPv6
	// addresses (its link-local included), the IPv6 counterpart of the
	// ARP sender check. The target sits at offset 8 of the ICMPv6 header.
	var targets []string
	for _, e := range v6 {
		if e.Prefix.IsValid() {
			targets = appendOnce(targets, hex128(e.Prefix))
		}
	}
	// (The tab before the raw payload expression is whitespace to nft;
	// it keeps knftables' Fake from reading "@th" as a set reference.)
	rules = append(rules, "icmpv6 type nd-neighbor-advert\t@th,64,128 != "+set(targets)+" drop")
	return rules
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func set(items []string) string { return "{ " + strings.Join(items, ", ") + " }" }

func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.Masked().String()
}

// hex128 writes an IPv6 prefix as nft raw-payload integers: one value
// for an address, "first-last" for a network.
func hex128(p netip.Prefix) string {
	p = p.Masked()
	a := p.Addr().As16()
	lo := new(big.Int).SetBytes(a[:])
	if p.IsSingleIP() {
		return fmt.Sprintf("0x%032x", lo)
	}
	span := new(big.Int).Lsh(big.NewInt(1), uint(128-p.Bits()))
	hi := new(big.Int).Add(lo, span.Sub(span, big.NewInt(1)))
	return fmt.Sprintf("0x%032x-0x%032x", lo, hi)
}

// NFT is the part of knftables.Interface a Syncer uses.
type NFT interface {
	NewTransaction() *knftables.Transaction
	Run(ctx context.Context, tx *knftables.Transaction) error
}

// Syncer writes a Filter to the kernel. The first sync (and the first
// after a failed one) replaces the whole table; later ones change only
// the chains and map elements of ports that changed. A sync with nothing
// changed runs no command. Not safe for concurrent use.
type Syncer struct {
	NFT  NFT
	last *Filter // what the kernel holds; nil: unknown
}

// Sync makes the table hold f.
func (s *Syncer) Sync(ctx context.Context, f *Filter) error {
	tx := s.NFT.NewTransaction()
	if s.last == nil {
		// Whatever is there (an older agent's table, a half-applied
		// one) is replaced in the same atomic transaction.
		tx.Add(&knftables.Table{})
		tx.Delete(&knftables.Table{})
		tx.Add(&knftables.Table{Comment: knftables.PtrTo("bulwark: link-layer checks of VM ports")})
		tx.Add(&knftables.Chain{Name: baseChain, Type: knftables.PtrTo(knftables.FilterType),
			Hook: knftables.PtrTo(knftables.PreroutingHook), Priority: knftables.PtrTo(knftables.FilterPriority)})
		tx.Add(&knftables.Map{Name: portsMap, Type: "ifname : verdict"})
		tx.Add(&knftables.Rule{Chain: baseChain, Rule: "iifname vmap @" + portsMap})
		for _, dev := range sortedDevs(f) {
			addPort(tx, dev, f.Ports[dev], true)
		}
	} else {
		for _, dev := range sortedDevs(s.last) {
			if _, ok := f.Ports[dev]; !ok {
				tx.Delete(&knftables.Element{Map: portsMap, Key: []string{ifname(dev)}})
				tx.Flush(&knftables.Chain{Name: ChainName(dev)})
				tx.Delete(&knftables.Chain{Name: ChainName(dev)})
			}
		}
		for _, dev := range sortedDevs(f) {
			old, had := s.last.Ports[dev]
			if had && slices.Equal(old.Rules, f.Ports[dev].Rules) {
				continue
			}
			if had {
				tx.Flush(&knftables.Chain{Name: ChainName(dev)})
			}
			addPort(tx, dev, f.Ports[dev], !had)
		}
	}
	if tx.NumOperations() == 0 {
		return nil
	}
	if err := s.NFT.Run(ctx, tx); err != nil {
		s.last = nil
		return fmt.Errorf("bridgefilter: %w", err)
	}
	s.last = f
	return nil
}

func addPort(tx *knftables.Transaction, dev string, pf PortFilter, isNew bool) {
	chain := ChainName(dev)
	if isNew {
		tx.Add(&knftables.Chain{Name: chain, Comment: knftables.PtrTo("port:" + pf.PortID)})
	}
	for _, r := range pf.Rules {
		tx.Add(&knftables.Rule{Chain: chain, Rule: r})
	}
	if isNew {
		tx.Add(&knftables.Element{Map: portsMap, Key: []string{ifname(dev)}, Value: []string{"goto " + chain}})
	}
}

var plainName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*$`)

// ifname writes a device name as an nft string.
func ifname(dev string) string {
	if plainName.MatchString(dev) {
		return dev
	}
	return fmt.Sprintf("%q", dev)
}

func sortedDevs(f *Filter) []string {
	out := make([]string, 0, len(f.Ports))
	for d := range f.Ports {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Command runs transactions with the nft binary, inside a network
// namespace when netns is set ("ip netns exec").
type Command struct {
	NetNS string
	fake  *knftables.Fake // only builds transactions for this family and table
}

// NewCommand returns a Command for the bridge table.
func NewCommand(netns string) *Command {
	return &Command{NetNS: netns, fake: knftables.NewFake(knftables.BridgeFamily, Table)}
}

// NewTransaction implements NFT.
func (c *Command) NewTransaction() *knftables.Transaction { return c.fake.NewTransaction() }

// Run implements NFT: the transaction goes to `nft -f -` as one atomic
// batch.
func (c *Command) Run(ctx context.Context, tx *knftables.Transaction) error {
	text := tx.String()
	if i := strings.Index(text, "# ERROR: "); i >= 0 {
		return fmt.Errorf("%s", strings.TrimSpace(text[i+len("# ERROR: "):]))
	}
	argv := []string{"nft", "-f", "-"}
	if c.NetNS != "" {
		argv = append([]string{"ip", "netns", "exec", c.NetNS}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
