package model_test

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// subnet builds a create body on network netID.
func subnet(extra string) string {
	return `{"network_id": "` + netID + `", ` + extra + `}`
}

func TestParseSubnetErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
		body   string
		want   wantErr
	}{
		{"no network", true, `{"ip_version": 4, "cidr": "10.0.0.0/24"}`, bad("Failed to parse request. Required attribute 'network_id' not specified")},
		{"no ip_version", true, subnet(`"cidr": "10.0.0.0/24"`), bad("Failed to parse request. Required attribute 'ip_version' not specified")},
		{"ip_version 5", true, subnet(`"ip_version": 5, "cidr": "10.0.0.0/24"`), invalidAttr("ip_version", "5 is not in valid_values")},
		{"ip_version word", true, subnet(`"ip_version": "four", "cidr": "10.0.0.0/24"`), invalidInput("'four' is not an integer.")},
		{"no cidr", true, subnet(`"ip_version": 4`), bad("a subnetpool must be specified in the absence of a cidr")},
		{"null cidr", true, subnet(`"ip_version": 4, "cidr": null`), bad("a subnetpool must be specified in the absence of a cidr")},
		{"cidr number", true, subnet(`"ip_version": 4, "cidr": 10`), invalidAttr("cidr", "'10' is not a valid string")},
		{"cidr garbage", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/33"`), invalidAttr("cidr", "'10.0.0.0/33' is not a valid IP subnet")},
		{"cidr bare address", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0"`), invalidAttr("cidr", "'10.0.0.0' isn't a recognized IP subnet cidr, '10.0.0.0/32' is recommended")},
		{"cidr bare v6 address", true, subnet(`"ip_version": 6, "cidr": "2001:db8::"`), invalidAttr("cidr", "'2001:db8::' isn't a recognized IP subnet cidr, '2001:db8::/128' is recommended")},
		{"v6 cidr as v4", true, subnet(`"ip_version": 4, "cidr": "2001:db8::/64"`), invalidInput("cidr '2001:db8::/64' does not match the ip_version '4'.")},
		{"v4 cidr as v6", true, subnet(`"ip_version": 6, "cidr": "10.0.0.0/24"`), invalidInput("cidr '10.0.0.0/24' does not match the ip_version '6'.")},
		{"/31 with dhcp", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/31"`), invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled.")},
		{"/32 with dhcp on", true, subnet(`"ip_version": 4, "cidr": "10.0.0.1/32", "enable_dhcp": true`), invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled.")},
		{"/127 with dhcp", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/127"`), invalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled.")},
		{"subnetpool", true, subnet(`"ip_version": 4, "subnetpool_id": "` + sgID + `"`), bad("Subnet pools are not supported; give a cidr instead of subnetpool_id")},
		{"service types", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "service_types": ["network:foo"]`), bad("Subnet service types are not supported")},
		// IPv6 modes.
		{"bad ra mode", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "magic"`), invalidAttr("ipv6_ra_mode", "magic is not in valid_values")},
		{"bad address mode", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_address_mode": 1`), invalidAttr("ipv6_address_mode", "1 is not in valid_values")},
		{"ra mode on v4", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "ipv6_ra_mode": "slaac"`), invalidInput("ipv6_ra_mode is not valid when ip_version is 4.")},
		{"address mode on v4", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "ipv6_address_mode": "slaac"`), invalidInput("ipv6_address_mode is not valid when ip_version is 4.")},
		{"modes differ", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"`),
			invalidInput("ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to 'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value.")},
		{"slaac needs /64", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/80", "ipv6_address_mode": "slaac"`),
			invalidInput("Invalid CIDR 2001:db8::/80 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.")},
		{"stateless ra needs /64", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/48", "ipv6_ra_mode": "dhcpv6-stateless"`),
			invalidInput("Invalid CIDR 2001:db8::/48 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.")},
		{"modes without dhcp", true, subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_address_mode": "slaac", "enable_dhcp": false`),
			invalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.")},
		// Gateway, pools, DNS, routes.
		{"bad gateway", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.300"`), invalidAttr("gateway_ip", "'10.0.0.300' is not a valid IP address")},
		{"gateway number", false, `{"gateway_ip": 1}`, invalidAttr("gateway_ip", "'1' is not a valid IP address")},
		{"pools not a list", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "allocation_pools": {"start": "10.0.0.2", "end": "10.0.0.9"}`),
			invalidAttr("allocation_pools", `Invalid data format for IP pool: '{"start": "10.0.0.2", "end": "10.0.0.9"}'`)},
		{"pool without end", false, `{"allocation_pools": [{"start": "10.0.0.2"}]}`, invalidAttr("allocation_pools", "Invalid data format for IP pool: each pool needs exactly 'start' and 'end'")},
		{"pool extra key", false, `{"allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.3", "x": 1}]}`, invalidAttr("allocation_pools", "Invalid data format for IP pool: each pool needs exactly 'start' and 'end'")},
		{"pool bad address", false, `{"allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.256"}]}`, invalidAttr("allocation_pools", "'10.0.0.256' is not a valid IP address")},
		{"dns bad", false, `{"dns_nameservers": ["8.8.8.888"]}`, invalidAttr("dns_nameservers", "'8.8.8.888' is not a valid nameserver. '8.8.8.888' is not a valid IP address")},
		{"dns duplicate", false, `{"dns_nameservers": ["8.8.8.8", "8.8.8.8"]}`, invalidAttr("dns_nameservers", "Duplicate nameserver '8.8.8.8'")},
		{"routes not a list", false, `{"host_routes": "x"}`, invalidAttr("host_routes", "Invalid data format for hostroute: 'x'")},
		{"route bad nexthop", false, `{"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "nope"}]}`,
			invalidAttr("host_routes", `Invalid data format for hostroute: '{"destination":"10.1.0.0/16","nexthop":"nope"}'`)},
		{"route extra key", false, `{"host_routes": [{"destination": "10.1.0.0/16", "nexthop": "10.0.0.1", "x": 1}]}`,
			invalidAttr("host_routes", "Invalid data format for hostroute: each route needs 'destination' and 'nexthop'")},
		{"dhcp maybe", false, `{"enable_dhcp": "maybe"}`, invalidInput("'maybe' cannot be converted to boolean.")},
		// Attribute sets.
		{"unknown", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "foo": 1`), bad("Unrecognized attribute(s) 'foo'")},
		{"id on create", true, subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "id": "` + subID + `"`), bad("Attribute 'id' not allowed in POST")},
		{"update cidr", false, `{"cidr": "10.0.0.0/24"}`, bad("Cannot update read-only attribute cidr")},
		{"update ip_version", false, `{"ip_version": 4}`, bad("Cannot update read-only attribute ip_version")},
		{"update network", false, `{"network_id": "` + netID + `"}`, bad("Cannot update read-only attribute network_id")},
		{"update ra mode", false, `{"ipv6_ra_mode": "slaac"}`, bad("Cannot update read-only attribute ipv6_ra_mode")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.ParseSubnet(attrs(t, tc.body), tc.create)
			check(t, err, tc.want)
		})
	}
}

func TestParseSubnetValues(t *testing.T) {
	for _, tc := range []struct {
		name           string
		body           string
		version        int
		cidr           string
		gwSet          bool
		gw             string
		raMode, adMode string
	}{
		{"recorded create (step 4)", subnet(`"ip_version": 4, "cidr": "172.16.200.0/24", "name": "subnet1"`), 4, "172.16.200.0/24", false, "", "<nil>", "<nil>"},
		{"ip_version as string", subnet(`"ip_version": "4", "cidr": "10.0.0.0/30"`), 4, "10.0.0.0/30", false, "", "<nil>", "<nil>"},
		{"host bits are masked", subnet(`"ip_version": 4, "cidr": "10.0.0.5/24"`), 4, "10.0.0.0/24", false, "", "<nil>", "<nil>"},
		{"v6 host bits are masked", subnet(`"ip_version": 6, "cidr": "2001:db8::5/64"`), 6, "2001:db8::/64", false, "", "<nil>", "<nil>"},
		{"/32 without dhcp", subnet(`"ip_version": 4, "cidr": "10.0.0.1/32", "enable_dhcp": false`), 4, "10.0.0.1/32", false, "", "<nil>", "<nil>"},
		{"/128 without dhcp", subnet(`"ip_version": 6, "cidr": "2001:db8::1/128", "enable_dhcp": "False"`), 6, "2001:db8::1/128", false, "", "<nil>", "<nil>"},
		{"no gateway", subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": null`), 4, "10.0.0.0/24", true, "<nil>", "<nil>", "<nil>"},
		{"explicit gateway", subnet(`"ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.254"`), 4, "10.0.0.0/24", true, "10.0.0.254", "<nil>", "<nil>"},
		{"slaac", subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"`), 6, "2001:db8::/64", false, "", "slaac", "slaac"},
		{"stateful on a /80", subnet(`"ip_version": 6, "cidr": "2001:db8::/80", "ipv6_address_mode": "dhcpv6-stateful"`), 6, "2001:db8::/80", false, "", "<nil>", "dhcpv6-stateful"},
		{"stateless ra only", subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "dhcpv6-stateless"`), 6, "2001:db8::/64", false, "", "dhcpv6-stateless", "<nil>"},
		{"null modes", subnet(`"ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": null, "ipv6_address_mode": null`), 6, "2001:db8::/64", false, "", "<nil>", "<nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := model.ParseSubnet(attrs(t, tc.body), true)
			if err != nil {
				t.Fatal(err)
			}
			gw := ""
			if tc.gwSet {
				gw = "<nil>"
				if in.Gateway != nil {
					gw = in.Gateway.String()
				}
			}
			if in.NetworkID != netID || in.IPVersion != tc.version || in.CIDR.String() != tc.cidr || in.GatewaySet != tc.gwSet ||
				gw != tc.gw || deref(in.RAMode) != tc.raMode || deref(in.AddrMode) != tc.adMode {
				t.Errorf("got version %d cidr %s gwset %v gw %s modes %s/%s", in.IPVersion, in.CIDR, in.GatewaySet, gw, deref(in.RAMode), deref(in.AddrMode))
			}
		})
	}

	in, err := model.ParseSubnet(attrs(t, `{"name": "s", "allocation_pools": [{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "2001:DB8::0:a", "end": "2001:db8::b"}],
		"dns_nameservers": ["8.8.8.8", "2001:4860:4860::8888"], "host_routes": [{"destination": "10.1.2.3/16", "nexthop": "10.0.0.1"}],
		"enable_dhcp": "0", "gateway_ip": "10.0.0.1"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	wantPools := []model.AllocationPool{{Start: "10.0.0.10", End: "10.0.0.20"}, {Start: "2001:db8::a", End: "2001:db8::b"}}
	if !reflect.DeepEqual(*in.Pools, wantPools) || !reflect.DeepEqual(*in.DNS, []string{"8.8.8.8", "2001:4860:4860::8888"}) ||
		!reflect.DeepEqual(*in.HostRoutes, []model.HostRoute{{Destination: "10.1.0.0/16", NextHop: "10.0.0.1"}}) ||
		*in.EnableDHCP || *in.Gateway != netip.MustParseAddr("10.0.0.1") || deref(in.Name) != "s" {
		t.Errorf("update parsed as %+v", in)
	}
	// Clearing.
	in, err = model.ParseSubnet(attrs(t, `{"dns_nameservers": [], "host_routes": null, "allocation_pools": null}`), false)
	if err != nil || len(*in.DNS) != 0 || len(*in.HostRoutes) != 0 || in.Pools != nil {
		t.Errorf("clearing update: %+v %v", in, err)
	}
}
