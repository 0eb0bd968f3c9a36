package firewall

import (
	"fmt"
	"math"

	"github.com/bulwark-net/bulwark/internal/model"
)

// WidePair is an address pair that covers more than one address. Every
// address in it becomes a member of each of the port's security groups:
// a remote-group rule naming one of them accepts (or reaches) the whole
// prefix, on every host. Neutron does the same silently.
type WidePair struct {
	PortID string
	Pair   string   // the prefix as stored
	Groups []string // the port's groups, whose remote-group sets hold it
	// Addresses is how many addresses the prefix covers (saturated at
	// MaxUint64 for IPv6 prefixes shorter than /64).
	Addresses uint64
}

// String is a warning fit for an API response or a doctor report.
func (w WidePair) String() string {
	what := fmt.Sprintf("%d addresses", w.Addresses)
	if p, ok := parseAddr(w.Pair); ok && p.Bits() == 0 {
		what = "every " + ethertype(family(p)) + " address"
	}
	return fmt.Sprintf("port %s: address pair %s makes %s a member of security groups %v: remote-group rules naming them match all of it",
		w.PortID, w.Pair, what, w.Groups)
}

// WidePairs lists the address pairs of ports that cover a prefix rather
// than one address, for the ports that are members of some group.
func WidePairs(ports []model.Port) []WidePair {
	var out []WidePair
	for _, p := range ports {
		if len(p.SecurityGroups) == 0 {
			continue
		}
		for _, ap := range p.AllowedAddressPairs {
			pr, ok := parseAddr(ap.IPAddress)
			if !ok || pr.IsSingleIP() {
				continue
			}
			host := pr.Addr().BitLen() - pr.Bits()
			n := uint64(math.MaxUint64)
			if host < 64 {
				n = uint64(1) << host
			}
			out = append(out, WidePair{PortID: p.ID, Pair: ap.IPAddress, Groups: append([]string(nil), p.SecurityGroups...), Addresses: n})
		}
	}
	return out
}
