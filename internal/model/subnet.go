package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// SubnetInput is a validated subnet body. Gateway is tri-state:
// GatewaySet false = not sent, true with nil Gateway = null (no gateway).
type SubnetInput struct {
	ProjectID   string
	NetworkID   string
	IPVersion   int
	CIDR        netip.Prefix
	Name        *string
	Description *string
	GatewaySet  bool
	Gateway     *netip.Addr
	Pools       *[]AllocationPool
	EnableDHCP  *bool
	DNS         *[]string
	HostRoutes  *[]HostRoute
	RAMode      *string
	AddrMode    *string
	Tags        *[]string
}

var subnetUpdatable = setOf("name", "description", "gateway_ip", "allocation_pools", "enable_dhcp", "dns_nameservers", "host_routes")
var subnetCreatable = union(subnetUpdatable, setOf("network_id", "ip_version", "cidr", "ipv6_ra_mode",
	"ipv6_address_mode", "tenant_id", "project_id", "subnetpool_id", "tags", "service_types"))
var subnetReadOnly = setOf("id", "network_id", "ip_version", "cidr", "ipv6_ra_mode", "ipv6_address_mode",
	"subnetpool_id", "tenant_id", "project_id", "created_at", "updated_at", "revision_number")

var ipv6Modes = []string{"slaac", "dhcpv6-stateful", "dhcpv6-stateless"}

// ParseSubnet validates a subnet body (syntax only; pools against the
// CIDR are checked by ipam).
func ParseSubnet(a Attrs, create bool) (*SubnetInput, error) {
	if err := checkAttrs(a, create, subnetCreatable, subnetUpdatable, subnetReadOnly); err != nil {
		return nil, err
	}
	in := &SubnetInput{}
	var err error
	if create {
		var ok bool
		if in.NetworkID, ok, err = a.UUID("network_id"); err != nil {
			return nil, err
		} else if !ok {
			return nil, apierr.BadRequest("Failed to parse request. Required attribute 'network_id' not specified")
		}
		if in.ProjectID, err = projectFromBody(a); err != nil {
			return nil, err
		}
		v, ok, err := a.Int("ip_version")
		if err != nil {
			return nil, err
		}
		if !ok || v == nil {
			return nil, apierr.BadRequest("Failed to parse request. Required attribute 'ip_version' not specified")
		}
		if *v != 4 && *v != 6 {
			return nil, apierr.InvalidAttr("ip_version", fmt.Sprintf("%d is not in valid_values", *v))
		}
		in.IPVersion = *v
		if a.Has("subnetpool_id") && !a.IsNull("subnetpool_id") {
			return nil, apierr.BadRequest("Subnet pools are not supported; give a cidr instead of subnetpool_id")
		}
		cidr, ok, err := "", false, error(nil)
		if !a.IsNull("cidr") {
			if cidr, ok, err = a.String("cidr", 0); err != nil {
				return nil, err
			}
		}
		if !ok || cidr == "" {
			return nil, apierr.BadRequest("a subnetpool must be specified in the absence of a cidr")
		}
		// validate_subnet: a bare address is refused with the CIDR it
		// would be; host bits are accepted and masked off (create_subnet
		// turns the CIDR into a proper subnet).
		p, err2 := netip.ParsePrefix(cidr)
		if err2 != nil || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			if a, ok := ParseIP(cidr); ok && !strings.Contains(cidr, "/") {
				return nil, apierr.InvalidAttr("cidr", fmt.Sprintf("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", cidr, netip.PrefixFrom(a, a.BitLen())))
			}
			return nil, apierr.InvalidAttr("cidr", fmt.Sprintf("'%s' is not a valid IP subnet", cidr))
		}
		p = p.Masked()
		if (in.IPVersion == 4) != p.Addr().Is4() {
			return nil, apierr.InvalidInput("cidr '%s' does not match the ip_version '%d'.", cidr, in.IPVersion)
		}
		in.CIDR = p
		for _, f := range []struct {
			name string
			dst  **string
		}{{"ipv6_ra_mode", &in.RAMode}, {"ipv6_address_mode", &in.AddrMode}} {
			if a.Has(f.name) && !a.IsNull(f.name) {
				s, _, err := a.OneOf(f.name, ipv6Modes...)
				if err != nil {
					return nil, err
				}
				if in.IPVersion != 6 {
					return nil, apierr.InvalidInput("%s is not valid when ip_version is 4.", f.name)
				}
				*f.dst = &s
			}
		}
		if in.RAMode != nil && in.AddrMode != nil && *in.RAMode != *in.AddrMode {
			return nil, apierr.InvalidInput("ipv6_ra_mode set to '%s' with ipv6_address_mode set to '%s' is not valid. If both attributes are set, they must be the same value.", *in.RAMode, *in.AddrMode)
		}
		if l, ok, err := a.StringList("tags", 255); err != nil {
			return nil, err
		} else if ok {
			in.Tags = &l
		}
		if l, ok, err := a.StringList("service_types", 255); err != nil {
			return nil, err
		} else if ok && len(l) > 0 {
			return nil, apierr.BadRequest("Subnet service types are not supported")
		}
	}
	if err := strAttrs(a, map[string]**string{"name": &in.Name, "description": &in.Description}); err != nil {
		return nil, err
	}
	if err := boolAttrs(a, map[string]**bool{"enable_dhcp": &in.EnableDHCP}); err != nil {
		return nil, err
	}
	if create {
		if err := validateSubnetDHCP(in); err != nil {
			return nil, err
		}
	}
	if a.Has("gateway_ip") {
		in.GatewaySet = true
		if !a.IsNull("gateway_ip") {
			s, _, err := a.String("gateway_ip", 0)
			g, ok := ParseIP(s)
			if err != nil || !ok {
				return nil, apierr.InvalidAttr("gateway_ip", fmt.Sprintf("'%s' is not a valid IP address", pyRepr(a["gateway_ip"])))
			}
			in.Gateway = &g
		}
	}
	if a.Has("allocation_pools") && !a.IsNull("allocation_pools") {
		var pools []Attrs
		if err := json.Unmarshal(a["allocation_pools"], &pools); err != nil {
			return nil, apierr.InvalidAttr("allocation_pools", fmt.Sprintf("Invalid data format for IP pool: '%s'", pyRepr(a["allocation_pools"])))
		}
		out := make([]AllocationPool, 0, len(pools))
		for _, p := range pools {
			if p == nil || p.CheckKnown(setOf("start", "end")) != nil || !p.Has("start") || !p.Has("end") {
				return nil, apierr.InvalidAttr("allocation_pools", "Invalid data format for IP pool: each pool needs exactly 'start' and 'end'")
			}
			var r AllocationPool
			for name, dst := range map[string]*string{"start": &r.Start, "end": &r.End} {
				s, _, err := p.String(name, 0)
				addr, ok := ParseIP(s)
				if err != nil || !ok {
					return nil, apierr.InvalidAttr("allocation_pools", fmt.Sprintf("'%s' is not a valid IP address", pyRepr(p[name])))
				}
				*dst = addr.String()
			}
			out = append(out, r)
		}
		in.Pools = &out
	}
	if a.Has("dns_nameservers") {
		l, _, err := a.StringList("dns_nameservers", 0)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, s := range l {
			if _, ok := ParseIP(s); !ok {
				return nil, apierr.InvalidAttr("dns_nameservers", fmt.Sprintf("'%s' is not a valid nameserver. '%s' is not a valid IP address", s, s))
			}
			if seen[s] {
				return nil, apierr.InvalidAttr("dns_nameservers", fmt.Sprintf("Duplicate nameserver '%s'", s))
			}
			seen[s] = true
		}
		in.DNS = &l
	}
	if a.Has("host_routes") {
		var routes []Attrs
		if !a.IsNull("host_routes") {
			if err := json.Unmarshal(a["host_routes"], &routes); err != nil {
				return nil, apierr.InvalidAttr("host_routes", fmt.Sprintf("Invalid data format for hostroute: '%s'", pyRepr(a["host_routes"])))
			}
		}
		out := make([]HostRoute, 0, len(routes))
		for _, r := range routes {
			if r == nil || r.CheckKnown(setOf("destination", "nexthop")) != nil {
				return nil, apierr.InvalidAttr("host_routes", "Invalid data format for hostroute: each route needs 'destination' and 'nexthop'")
			}
			d, _, err1 := r.String("destination", 0)
			n, _, err2 := r.String("nexthop", 0)
			dp, ok1 := ParseCIDR(d)
			_, ok2 := ParseIP(n)
			if err1 != nil || err2 != nil || !ok1 || !ok2 {
				return nil, apierr.InvalidAttr("host_routes", fmt.Sprintf("Invalid data format for hostroute: '%s'", pyRepr(mustJSON(r))))
			}
			out = append(out, HostRoute{Destination: dp.Masked().String(), NextHop: n})
		}
		in.HostRoutes = &out
	}
	return in, nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// validateSubnetDHCP applies Neutron's create-time checks that depend on
// enable_dhcp (default true) and the IPv6 modes.
func validateSubnetDHCP(in *SubnetInput) error {
	dhcp := in.EnableDHCP == nil || *in.EnableDHCP
	p := in.CIDR
	if dhcp && ((p.Addr().Is4() && p.Bits() > 30) || (p.Addr().Is6() && p.Bits() > 126)) {
		return apierr.InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled.")
	}
	if in.RAMode == nil && in.AddrMode == nil {
		return nil
	}
	if !dhcp {
		return apierr.InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.")
	}
	auto := func(m *string) bool { return m != nil && (*m == "slaac" || *m == "dhcpv6-stateless") }
	if (auto(in.RAMode) || auto(in.AddrMode)) && p.Bits() != 64 {
		return apierr.InvalidInput("Invalid CIDR %s for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.", p)
	}
	return nil
}
