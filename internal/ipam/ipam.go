// Package ipam makes the address decisions for subnets and ports: default
// gateways and allocation pools, pool validation, which free address to
// hand out, MAC addresses and SLAAC addresses. It is pure: the caller
// supplies what is in use and stores the result.
package ipam

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/netip"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
)

// Range is an inclusive address range.
type Range struct{ Start, End netip.Addr }

// Size returns the number of addresses in r (capped to fit an int64).
func (r Range) Size() int64 {
	d := new(big.Int).Sub(addrInt(r.End), addrInt(r.Start))
	d.Add(d, big.NewInt(1))
	if !d.IsInt64() {
		return 1 << 62
	}
	return d.Int64()
}

func addrInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func intAddr(i *big.Int, is4 bool) netip.Addr {
	n := 16
	if is4 {
		n = 4
	}
	b := make([]byte, n)
	i.FillBytes(b)
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Offset returns the address i places after a.
func Offset(a netip.Addr, i int64) netip.Addr {
	return intAddr(new(big.Int).Add(addrInt(a), big.NewInt(i)), a.Is4())
}

// LastAddr returns the highest address of p.
func LastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// usable returns the first and last addresses of p that may be handed
// out: IPv4 skips the network and broadcast addresses (except /31 and
// /32), IPv6 skips the subnet-router anycast address.
func usable(p netip.Prefix) (netip.Addr, netip.Addr, bool) {
	p = p.Masked()
	first, last := p.Addr(), LastAddr(p)
	if p.Addr().Is4() {
		if p.Bits() >= 31 {
			return first, last, true
		}
		return first.Next(), last.Prev(), true
	}
	if p.Bits() == 128 {
		return first, last, true
	}
	return first.Next(), last, true
}

// DefaultGateway is the first usable address of p.
func DefaultGateway(p netip.Prefix) netip.Addr {
	first, _, _ := usable(p)
	return first
}

// DefaultPools covers every usable address of p except the gateway.
func DefaultPools(p netip.Prefix, gateway *netip.Addr) []Range {
	first, last, _ := usable(p)
	pools := []Range{{first, last}}
	if gateway == nil || !p.Contains(*gateway) {
		return pools
	}
	g := *gateway
	var out []Range
	for _, r := range pools {
		if g.Less(r.Start) || r.End.Less(g) {
			out = append(out, r)
			continue
		}
		if r.Start.Less(g) {
			out = append(out, Range{r.Start, g.Prev()})
		}
		if g.Less(r.End) {
			out = append(out, Range{g.Next(), r.End})
		}
	}
	return out
}

// ValidatePools checks requested pools against the subnet and gateway the
// way Neutron's validate_allocation_pools and validate_gw_out_of_pools do:
// every pool first (ordered, same family, inside the usable range), then
// overlaps between pools, then the gateway.
func ValidatePools(p netip.Prefix, pools []Range, gateway *netip.Addr) error {
	first, last, _ := usable(p)
	for _, r := range pools {
		if r.Start.Is4() != p.Addr().Is4() || r.End.Is4() != p.Addr().Is4() || r.End.Less(r.Start) {
			return apierr.New(400, "InvalidAllocationPool", "The allocation pool {'start': '%s', 'end': '%s'} is not valid.", r.Start, r.End)
		}
		if r.Start.Less(first) || last.Less(r.End) {
			return apierr.New(400, "OutOfBoundsAllocationPool",
				"The allocation pool %s-%s spans beyond the subnet cidr %s.", r.Start, r.End, p.Masked())
		}
	}
	for i, r := range pools {
		for _, o := range pools[i+1:] {
			if !r.End.Less(o.Start) && !o.End.Less(r.Start) {
				return apierr.New(409, "OverlappingAllocationPools",
					"Found overlapping allocation pools: %s-%s %s-%s for subnet %s.", r.Start, r.End, o.Start, o.End, p.Masked())
			}
		}
	}
	if gateway != nil {
		for _, r := range pools {
			if !gateway.Less(r.Start) && !r.End.Less(*gateway) {
				return apierr.New(409, "GatewayConflictWithAllocationPools",
					"Gateway ip %s conflicts with allocation pool %s-%s.", gateway, r.Start, r.End)
			}
		}
	}
	return nil
}

// InPools reports whether a lies in one of pools.
func InPools(a netip.Addr, pools []Range) bool {
	for _, r := range pools {
		if !a.Less(r.Start) && !r.End.Less(a) {
			return true
		}
	}
	return false
}

// PickFree returns a free address of pools: the lowest free address
// of small pools first; for large pools random picks, so that allocation
// cost does not grow with the number of ports. used reports whether an
// address is taken; it is called at most a few hundred times per
// allocation unless the pools are small.
func PickFree(pools []Range, used func(netip.Addr) (bool, error)) (netip.Addr, error) {
	var total int64
	for _, r := range pools {
		// Sizes are capped at 1<<62; saturate so that several huge IPv6
		// pools cannot overflow the sum.
		if s := r.Size(); total > 1<<62-s {
			total = 1 << 62
		} else {
			total += s
		}
	}
	if total == 0 {
		return netip.Addr{}, errExhausted
	}
	if total > 4096 {
		for try := 0; try < 64; try++ {
			n, _ := rand.Int(rand.Reader, big.NewInt(total))
			a := nth(pools, n.Int64())
			taken, err := used(a)
			if err != nil {
				return netip.Addr{}, err
			}
			if !taken {
				return a, nil
			}
		}
	}
	// Small or crowded: walk in order.
	var walked int64
	for _, r := range pools {
		for a := r.Start; ; a = a.Next() {
			taken, err := used(a)
			if err != nil {
				return netip.Addr{}, err
			}
			if !taken {
				return a, nil
			}
			walked++
			if a == r.End || walked > 1<<20 {
				break
			}
		}
	}
	return netip.Addr{}, errExhausted
}

var errExhausted = fmt.Errorf("no free address")

// IsExhausted reports whether err means the pools are full.
func IsExhausted(err error) bool { return err == errExhausted }

func nth(pools []Range, n int64) netip.Addr {
	for _, r := range pools {
		if s := r.Size(); n < s {
			return Offset(r.Start, n)
		} else {
			n -= s
		}
	}
	return pools[len(pools)-1].End
}

// RandomMAC returns a MAC under Neutron's default base fa:16:3e.
func RandomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// EUI64 derives the SLAAC address of mac in a /64.
func EUI64(p netip.Prefix, mac string) (netip.Addr, bool) {
	if !p.Addr().Is6() || p.Bits() != 64 || !model.ValidMAC(mac) {
		return netip.Addr{}, false
	}
	var m [6]byte
	fmt.Sscanf(model.NormalizeMAC(mac), "%02x:%02x:%02x:%02x:%02x:%02x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5])
	b := p.Masked().Addr().As16()
	b[8], b[9], b[10], b[11] = m[0]^0x02, m[1], m[2], 0xff
	b[12], b[13], b[14], b[15] = 0xfe, m[3], m[4], m[5]
	return netip.AddrFrom16(b), true
}
