package doctor

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

const (
	vip     = "172.16.200.251"
	netID   = "net-1"
	subID   = "sub-1"
	sgHA    = "sg-ha"
	sgOther = "sg-other"
	ka01    = "port-ka01"
	ka02    = "port-ka02"
)

// healthy is the keepalived pair of the operator's note done right: both
// nodes in ha-sg, which admits VRRP from its own members, the VIP in both
// ports' pairs, and a port reserving the VIP.
func healthy() Input {
	node := func(id, name, ip, mac string) Port {
		return Port{ID: id, Name: name, NetworkID: netID, ProjectID: "proj", MACAddress: mac,
			DeviceID: "vm-" + name, DeviceOwner: "compute:nova", PortSecurity: true,
			FixedIPs:       []FixedIP{{SubnetID: subID, IPAddress: ip}},
			SecurityGroups: []string{sgHA},
			AddressPairs:   []AddressPair{{IPAddress: vip, MACAddress: mac}}}
	}
	return Input{
		VIP: vip,
		Ports: []Port{
			node(ka01, "keepalived01", "172.16.200.193", "fa:16:3e:00:00:01"),
			node(ka02, "keepalived02", "172.16.200.194", "fa:16:3e:00:00:02"),
			{ID: "port-vip", Name: "vip", NetworkID: netID, ProjectID: "proj", MACAddress: "fa:16:3e:00:00:03", PortSecurity: true,
				FixedIPs: []FixedIP{{SubnetID: subID, IPAddress: vip}}, SecurityGroups: []string{"sg-default"}},
			{ID: "port-web", Name: "web", NetworkID: netID, ProjectID: "proj", MACAddress: "fa:16:3e:00:00:04", PortSecurity: true,
				DeviceOwner: "compute:nova", DeviceID: "vm-web",
				FixedIPs: []FixedIP{{SubnetID: subID, IPAddress: "172.16.200.10"}}, SecurityGroups: []string{"sg-default"}},
		},
		Groups: []Group{
			{ID: sgHA, Name: "ha-sg", ProjectID: "proj", Rules: []Rule{
				{ID: "r1", Direction: "egress", EtherType: "IPv4"},
				{ID: "r2", Direction: "egress", EtherType: "IPv6"},
				{ID: "r3", Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteGroupID: sgHA},
			}},
			{ID: "sg-default", Name: "default", ProjectID: "proj", Rules: []Rule{
				{ID: "d1", Direction: "egress", EtherType: "IPv4"},
				{ID: "d2", Direction: "ingress", EtherType: "IPv4", RemoteGroupID: "sg-default"},
			}},
			{ID: sgOther, Name: "other", ProjectID: "proj", Rules: []Rule{
				{ID: "o1", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp"},
			}},
		},
		AddressGroups: []AddressGroup{{ID: "ag-ka", Name: "ka-nodes", Addresses: []string{"172.16.200.192/30"}}},
		Networks:      []Network{{ID: netID, Name: "net1"}, {ID: "net-2", Name: "net2"}},
		Subnets: []Subnet{
			{ID: subID, Name: "subnet1", NetworkID: netID, CIDR: "172.16.200.0/24", GatewayIP: "172.16.200.1",
				AllocationPools: []Pool{{Start: "172.16.200.2", End: "172.16.200.254"}}},
			{ID: "sub-2", Name: "subnet2", NetworkID: "net-2", CIDR: "10.9.0.0/24", GatewayIP: "10.9.0.1"},
		},
	}
}

func port(in *Input, id string) *Port {
	for i := range in.Ports {
		if in.Ports[i].ID == id {
			return &in.Ports[i]
		}
	}
	panic("no port " + id)
}

func group(in *Input, id string) *Group {
	for i := range in.Groups {
		if in.Groups[i].ID == id {
			return &in.Groups[i]
		}
	}
	panic("no group " + id)
}

func dropPort(in *Input, id string) {
	in.Ports = slices.DeleteFunc(in.Ports, func(p Port) bool { return p.ID == id })
}

// setRules replaces ha-sg's ingress VRRP rule.
func setIngress(in *Input, rules ...Rule) {
	g := group(in, sgHA)
	g.Rules = slices.DeleteFunc(g.Rules, func(r Rule) bool { return r.Direction == "ingress" })
	g.Rules = append(g.Rules, rules...)
}

type finding struct{ code, severity string }

func TestAnalyze(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(in *Input)
		want   []finding
		// fixes, when set, are the fix commands of all findings in order.
		fixes []string
	}{
		{name: "healthy pair", change: func(in *Input) {},
			want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, VRRP by name", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "vrrp", RemoteGroupID: sgHA})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, any protocol from anywhere", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4"})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, protocol any spelled any", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", Protocol: "any", RemoteIPPrefix: "0.0.0.0/0"})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, VRRP from the subnet's prefix", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteIPPrefix: "172.16.200.0/24"})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, VRRP from an address group", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteAddressGroupID: "ag-ka"})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "healthy, VIP outside the pool and unreserved", change: func(in *Input) {
			dropPort(in, "port-vip")
			in.Subnets[0].AllocationPools = []Pool{{Start: "172.16.200.2", End: "172.16.200.200"}}
		}, want: []finding{{CodeOK, SeverityOK}}},
		{name: "healthy, explicit peers by id", change: func(in *Input) { in.PeerIDs = []string{ka02, ka01} },
			want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},

		{name: "no VRRP ingress rule", change: func(in *Input) { setIngress(in) },
			want:  []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group ha-sg ha-sg"}},
		{name: "VRRP ingress for tcp only", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp"}, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "udp"})
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "VRRP ingress only for IPv6", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "112"})
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "VRRP ingress from a prefix that misses one node", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteIPPrefix: "172.16.200.193/32"})
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "VRRP ingress from an address group that misses them", change: func(in *Input) {
			in.AddressGroups[0].Addresses = []string{"10.0.0.0/8"}
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteAddressGroupID: "ag-ka"})
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "VRRP ingress from a remote group the source is not in", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112", RemoteGroupID: sgOther})
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "peers in different groups, one without VRRP", change: func(in *Input) {
			port(in, ka02).SecurityGroups = []string{sgOther}
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodeVRRPEgress, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.194/32 ha-sg",
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.193/32 other",
				"openstack security group rule create --egress --ethertype IPv4 --protocol 112 other",
			}},
		{name: "no VRRP egress", change: func(in *Input) {
			g := group(in, sgHA)
			g.Rules = slices.DeleteFunc(g.Rules, func(r Rule) bool { return r.Direction == "egress" })
		}, want: []finding{{CodeVRRPEgress, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{"openstack security group rule create --egress --ethertype IPv4 --protocol 112 ha-sg"}},
		{name: "egress to the peers only (unicast)", change: func(in *Input) {
			g := group(in, sgHA)
			g.Rules = slices.DeleteFunc(g.Rules, func(r Rule) bool { return r.Direction == "egress" })
			g.Rules = append(g.Rules, Rule{Direction: "egress", EtherType: "IPv4", Protocol: "vrrp", RemoteGroupID: sgHA})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeUnicastOnly, SeverityInfo}, {CodeUnicastOnly, SeverityInfo}, {CodeReserved, SeverityInfo}}},
		{name: "egress to the VRRP group only", change: func(in *Input) {
			g := group(in, sgHA)
			g.Rules = slices.DeleteFunc(g.Rules, func(r Rule) bool { return r.Direction == "egress" })
			g.Rules = append(g.Rules, Rule{Direction: "egress", EtherType: "IPv4", Protocol: "112", RemoteIPPrefix: "224.0.0.18/32"})
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},

		{name: "VIP missing from the second node's pairs", change: func(in *Input) {
			port(in, ka02).AddressPairs = nil
			in.PeerIDs = []string{ka01, ka02}
		},
			want:  []finding{{CodeMissingPair, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{"openstack port set --allowed-address ip-address=172.16.200.251 port-ka02"}},
		{name: "VIP covered by a /28 pair", change: func(in *Input) {
			port(in, ka02).AddressPairs = []AddressPair{{IPAddress: "172.16.200.240/28", MACAddress: "fa:16:3e:00:00:02"}}
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},
		{name: "pair of 0.0.0.0/0", change: func(in *Input) {
			port(in, ka02).AddressPairs = []AddressPair{{IPAddress: "0.0.0.0/0", MACAddress: "fa:16:3e:00:00:02"}}
		}, want: []finding{{CodeWidePair, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{
				"openstack port unset --allowed-address ip-address=0.0.0.0/0,mac-address=fa:16:3e:00:00:02 port-ka02",
				"openstack port set --allowed-address ip-address=172.16.200.251 port-ka02",
			}},
		{name: "pair of ::/0 next to the VIP", change: func(in *Input) {
			p := port(in, ka01)
			p.AddressPairs = append(p.AddressPairs, AddressPair{IPAddress: "::/0", MACAddress: p.MACAddress})
		}, want: []finding{{CodeWidePair, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{"openstack port unset --allowed-address ip-address=::/0,mac-address=fa:16:3e:00:00:01 port-ka01"}},
		{name: "pair of a /16", change: func(in *Input) {
			p := port(in, ka01)
			p.AddressPairs = []AddressPair{{IPAddress: "172.16.0.0/16", MACAddress: p.MACAddress}}
		}, want: []finding{{CodeWidePair, SeverityWarning}, {CodeReserved, SeverityInfo}}},
		{name: "pair wider than a /26 subnet", change: func(in *Input) {
			in.Subnets[0].CIDR = "172.16.200.192/26"
			in.Subnets[0].GatewayIP = "172.16.200.193"
			in.Subnets[0].AllocationPools = []Pool{{Start: "172.16.200.194", End: "172.16.200.254"}}
			p := port(in, ka01)
			p.AddressPairs = []AddressPair{{IPAddress: "172.16.200.0/24", MACAddress: p.MACAddress}}
		}, want: []finding{{CodeWidePair, SeverityWarning}, {CodeReserved, SeverityInfo}}},
		{name: "pair with another MAC", change: func(in *Input) {
			port(in, ka02).AddressPairs = []AddressPair{{IPAddress: vip, MACAddress: "fa:16:3e:00:00:01"}}
		}, want: []finding{{CodePairMAC, SeverityWarning}, {CodeReserved, SeverityInfo}},
			fixes: []string{
				"openstack port unset --allowed-address ip-address=172.16.200.251,mac-address=fa:16:3e:00:00:01 port-ka02",
				"openstack port set --allowed-address ip-address=172.16.200.251 port-ka02",
			}},
		{name: "pair with keepalived's virtual MAC", change: func(in *Input) {
			port(in, ka02).AddressPairs = []AddressPair{{IPAddress: vip, MACAddress: "00:00:5e:00:01:33"}}
		}, want: []finding{{CodeOK, SeverityOK}, {CodeReserved, SeverityInfo}}},

		{name: "port security off on the second node (the note's second way)", change: func(in *Input) {
			p := port(in, ka02)
			p.PortSecurity, p.SecurityGroups, p.AddressPairs = false, nil, nil
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodePortSecurityOff, SeverityWarning}, {CodeReserved, SeverityInfo}},
			fixes: []string{
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.194/32 ha-sg",
				"openstack port set --enable-port-security --security-group ha-sg --allowed-address ip-address=172.16.200.251 port-ka02",
			}},
		{name: "no VRRP, a third node without port security", change: func(in *Input) {
			setIngress(in)
			in.Ports = append(in.Ports, Port{ID: "port-ka03", Name: "keepalived03", NetworkID: netID, ProjectID: "proj",
				MACAddress: "fa:16:3e:00:00:05", DeviceOwner: "compute:nova", DeviceID: "vm-3",
				FixedIPs: []FixedIP{{SubnetID: subID, IPAddress: "172.16.200.195"}}})
			in.PeerIDs = []string{ka01, ka02, "port-ka03"}
		}, want: []finding{{CodeVRRPIngress, SeverityError}, {CodePortSecurityOff, SeverityWarning}, {CodeReserved, SeverityInfo}},
			fixes: []string{
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group ha-sg ha-sg",
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.195/32 ha-sg",
				"openstack port set --enable-port-security --security-group ha-sg --allowed-address ip-address=172.16.200.251 port-ka03",
			}},
		{name: "port security off, VRRP from anywhere", change: func(in *Input) {
			setIngress(in, Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "112"})
			p := port(in, ka02)
			p.PortSecurity, p.SecurityGroups, p.AddressPairs = false, nil, nil
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodePortSecurityOff, SeverityWarning}, {CodeReserved, SeverityInfo}}},
		{name: "port security off on both nodes", change: func(in *Input) {
			for _, id := range []string{ka01, ka02} {
				p := port(in, id)
				p.PortSecurity, p.SecurityGroups, p.AddressPairs = false, nil, nil
			}
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodePortSecurityOff, SeverityWarning}, {CodePortSecurityOff, SeverityWarning}, {CodeReserved, SeverityInfo}}},
		{name: "groups removed but port security still on", change: func(in *Input) {
			port(in, ka02).SecurityGroups = nil
		}, want: []finding{{CodeNoGroups, SeverityError}, {CodeReserved, SeverityInfo}},
			fixes: []string{"openstack port set --security-group ha-sg port-ka02"}},

		{name: "a single peer", change: func(in *Input) { port(in, ka02).AddressPairs = nil; in.PeerIDs = nil; dropPort(in, ka02) },
			want: []finding{{CodeFewPeers, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "no peer at all", change: func(in *Input) { port(in, ka01).AddressPairs = nil; dropPort(in, ka02) },
			want: []finding{{CodeFewPeers, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "peers on different networks", change: func(in *Input) {
			p := port(in, ka02)
			p.NetworkID = "net-2"
			p.FixedIPs = []FixedIP{{SubnetID: "sub-2", IPAddress: "10.9.0.5"}}
		}, want: []finding{{CodeNetworks, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "--network that is not the peers'", change: func(in *Input) {
			in.NetworkID = "net-2"
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodeNetworks, SeverityError}, {CodeOutsideSubnet, SeverityError}}},
		{name: "VIP outside the subnet", change: func(in *Input) {
			in.VIP = "172.16.201.251"
			for _, id := range []string{ka01, ka02} {
				p := port(in, id)
				p.AddressPairs = []AddressPair{{IPAddress: "172.16.201.251", MACAddress: p.MACAddress}}
			}
		}, want: []finding{{CodeOutsideSubnet, SeverityError}}},
		{name: "VIP is another VM's fixed IP", change: func(in *Input) {
			port(in, "port-web").FixedIPs[0].IPAddress = vip
			dropPort(in, "port-vip")
		}, want: []finding{{CodeConflict, SeverityError}, {CodeUnreservedInPool, SeverityWarning}},
			fixes: []string{
				"openstack port set --no-fixed-ip --fixed-ip subnet=sub-1,ip-address=172.16.200.2 port-web",
				"openstack port create --network net1 --fixed-ip subnet=sub-1,ip-address=172.16.200.251 vip-172-16-200-251",
			}},
		{name: "VIP is a VM's fixed IP and no port has it as a pair: that VM is a peer", change: func(in *Input) {
			port(in, "port-web").FixedIPs[0].IPAddress = vip
			dropPort(in, "port-vip")
			port(in, ka01).AddressPairs = nil
			port(in, ka02).AddressPairs = nil
		}, want: []finding{{CodeConflict, SeverityError}, {CodeFewPeers, SeverityError}, {CodeUnreservedInPool, SeverityWarning}}},
		{name: "VIP is a peer's own fixed IP", change: func(in *Input) {
			dropPort(in, "port-vip")
			p := port(in, ka02)
			p.FixedIPs[0].IPAddress = vip
			p.AddressPairs = nil
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodeConflict, SeverityError}, {CodeUnreservedInPool, SeverityWarning}},
			fixes: []string{
				"openstack port set --no-fixed-ip --fixed-ip subnet=sub-1,ip-address=172.16.200.2 --allowed-address ip-address=172.16.200.251 port-ka02",
				"openstack port create --network net1 --fixed-ip subnet=sub-1,ip-address=172.16.200.251 vip-172-16-200-251",
			}},
		{name: "VIP is the DHCP port's address", change: func(in *Input) {
			p := port(in, "port-vip")
			p.DeviceOwner, p.DeviceID = "network:dhcp", "dhcp-1"
		}, want: []finding{{CodeConflict, SeverityError}}},
		{name: "VIP is the gateway", change: func(in *Input) {
			in.Subnets[0].GatewayIP = vip
		}, want: []finding{{CodeConflict, SeverityError}, {CodeReserved, SeverityInfo}}},
		{name: "VIP in the pool, not reserved", change: func(in *Input) { dropPort(in, "port-vip") },
			want:  []finding{{CodeUnreservedInPool, SeverityWarning}},
			fixes: []string{"openstack port create --network net1 --fixed-ip subnet=sub-1,ip-address=172.16.200.251 vip-172-16-200-251"}},

		{name: "everything at once", change: func(in *Input) {
			dropPort(in, "port-vip")
			setIngress(in)
			port(in, ka01).AddressPairs = append(port(in, ka01).AddressPairs, AddressPair{IPAddress: "0.0.0.0/0", MACAddress: "fa:16:3e:00:00:01"})
			p := port(in, ka02)
			p.PortSecurity, p.SecurityGroups, p.AddressPairs = false, nil, nil
			in.PeerIDs = []string{ka01, ka02}
		}, want: []finding{{CodeWidePair, SeverityError}, {CodeVRRPIngress, SeverityError},
			{CodePortSecurityOff, SeverityWarning}, {CodeUnreservedInPool, SeverityWarning}},
			fixes: []string{
				"openstack port unset --allowed-address ip-address=0.0.0.0/0,mac-address=fa:16:3e:00:00:01 port-ka01",
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.194/32 ha-sg",
				"openstack port set --enable-port-security --security-group ha-sg --allowed-address ip-address=172.16.200.251 port-ka02",
				"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group ha-sg ha-sg",
				"openstack port create --network net1 --fixed-ip subnet=sub-1,ip-address=172.16.200.251 vip-172-16-200-251",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := healthy()
			tc.change(&in)
			rep, err := Analyze(in)
			if err != nil {
				t.Fatal(err)
			}
			var got []finding
			var fixes []string
			for _, f := range rep.Findings {
				got = append(got, finding{f.Code, f.Severity})
				fixes = append(fixes, f.Fix...)
				if f.Title == "" || f.Detail == "" || f.Fix == nil {
					t.Errorf("finding %s: empty title, detail or nil fix: %+v", f.Code, f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v\n%s", got, tc.want, text(t, rep))
			}
			if tc.fixes != nil && !slices.Equal(fixes, tc.fixes) {
				t.Errorf("fixes\n%s\nwant\n%s", strings.Join(fixes, "\n"), strings.Join(tc.fixes, "\n"))
			}
			errs := slices.ContainsFunc(tc.want, func(f finding) bool { return f.severity == SeverityError })
			if rep.HasErrors() != errs {
				t.Errorf("HasErrors %v, want %v", rep.HasErrors(), errs)
			}
		})
	}
}

func text(t *testing.T, r Report) string {
	var b bytes.Buffer
	if err := PrintText(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestIPv6VIP: the same checks for an IPv6 VIP (ethertype IPv6 in the fix).
func TestIPv6VIP(t *testing.T) {
	in := healthy()
	in.VIP = "2001:db8::251"
	in.Subnets = append(in.Subnets, Subnet{ID: "sub-6", NetworkID: netID, CIDR: "2001:db8::/64"})
	for i, id := range []string{ka01, ka02} {
		p := port(&in, id)
		p.FixedIPs = append(p.FixedIPs, FixedIP{SubnetID: "sub-6", IPAddress: []string{"2001:db8::193", "2001:db8::194"}[i]})
		p.AddressPairs = []AddressPair{{IPAddress: "2001:db8::251", MACAddress: p.MACAddress}}
	}
	rep, err := Analyze(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Code != CodeVRRPIngress ||
		!slices.Equal(rep.Findings[0].Fix, []string{"openstack security group rule create --ingress --ethertype IPv6 --protocol 112 --remote-group ha-sg ha-sg"}) {
		t.Errorf("IPv6 VIP, IPv4-only VRRP rule: %+v", rep.Findings)
	}
	group(&in, sgHA).Rules = append(group(&in, sgHA).Rules, Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "vrrp", RemoteIPPrefix: "::/0"})
	if rep, _ = Analyze(in); len(rep.Findings) != 1 || rep.Findings[0].Code != CodeOK {
		t.Errorf("IPv6 VIP with VRRP from ::/0: %+v", rep.Findings)
	}
}

func TestGroupNamedByIDWhenAmbiguous(t *testing.T) {
	in := healthy()
	setIngress(&in)
	in.Groups = append(in.Groups, Group{ID: "sg-ha-2", Name: "ha-sg", ProjectID: "other"})
	rep, _ := Analyze(in)
	if len(rep.Findings) == 0 || !slices.Equal(rep.Findings[0].Fix,
		[]string{"openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group sg-ha sg-ha"}) {
		t.Errorf("two groups named ha-sg: want ids in the fix, got %+v", rep.Findings)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	in := healthy()
	in.VIP = "not-an-ip"
	if _, err := Analyze(in); err == nil {
		t.Error("VIP not-an-ip: want an error")
	}
	in = healthy()
	in.PeerIDs = []string{"nope"}
	if _, err := Analyze(in); err == nil {
		t.Error("unknown peer id: want an error")
	}
}

func TestResolve(t *testing.T) {
	ports := []Port{{ID: "a", Name: "x"}, {ID: "b", Name: "y"}, {ID: "c", Name: "y"}}
	if id, err := ResolvePort(ports, "x"); id != "a" || err != nil {
		t.Errorf("x: %q %v", id, err)
	}
	if id, err := ResolvePort(ports, "c"); id != "c" || err != nil {
		t.Errorf("c: %q %v", id, err)
	}
	if _, err := ResolvePort(ports, "y"); err == nil || !strings.Contains(err.Error(), "use the id") {
		t.Errorf("y: want ambiguous, got %v", err)
	}
	if _, err := ResolveNetwork([]Network{{ID: "n", Name: "net1"}}, "net2"); err == nil {
		t.Error("net2: want not found")
	}
}

func TestJSONShape(t *testing.T) {
	rep, err := Analyze(healthy())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if !slices.Equal(keys(m), []string{"findings", "ports", "vip"}) || m["vip"] != vip {
		t.Errorf("top level: %v", keys(m))
	}
	f := m["findings"].([]any)[0].(map[string]any)
	if !slices.Equal(keys(f), []string{"detail", "fix", "severity", "title"}) {
		t.Errorf("finding keys: %v", keys(f))
	}
	if _, ok := f["fix"].([]any); !ok {
		t.Errorf("fix is not a list: %v", f["fix"])
	}
	if ps := m["ports"].([]any); len(ps) != 2 || ps[0].(map[string]any)["id"] != ka01 {
		t.Errorf("ports: %v", ps)
	}
}

func TestFreeAddress(t *testing.T) {
	in := healthy()
	in.Subnets[0].GatewayIP = "172.16.200.2"
	port(&in, "port-web").FixedIPs[0].IPAddress = "172.16.200.3"
	port(&in, ka01).AddressPairs = append(port(&in, ka01).AddressPairs, AddressPair{IPAddress: "172.16.200.4"})
	a := &analysis{in: in}
	a.vip = netip.MustParseAddr(vip)
	if got, ok := a.freeAddress(&in.Subnets[0]); !ok || got.String() != "172.16.200.5" {
		t.Errorf("free address: %v %v, want 172.16.200.5", got, ok)
	}
	in.Subnets[0].AllocationPools = []Pool{{Start: "172.16.200.251", End: "172.16.200.251"}}
	if got, ok := a.freeAddress(&in.Subnets[0]); ok {
		t.Errorf("pool of the VIP alone: got %v", got)
	}
}

func TestWidePairDetail(t *testing.T) {
	in := healthy()
	p := port(&in, ka01)
	p.AddressPairs = append(p.AddressPairs, AddressPair{IPAddress: "10.0.0.0/8", MACAddress: p.MACAddress},
		AddressPair{IPAddress: "::/0", MACAddress: p.MACAddress})
	rep, _ := Analyze(in)
	var details []string
	for _, f := range rep.Findings {
		if f.Code == CodeWidePair {
			details = append(details, f.Detail)
		}
	}
	if len(details) != 2 || !strings.Contains(details[0], "(wider than the network's subnet (/24), 16777216 addresses)") ||
		!strings.Contains(details[0], "is in (ha-sg)") || !strings.Contains(details[1], "(every address, 2^128 addresses)") {
		t.Errorf("wide pair details: %q", details)
	}
}
