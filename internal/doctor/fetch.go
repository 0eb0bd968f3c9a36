package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/addressgroups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Query is what the user asked about: the VIP and, as typed, the network
// and the peer ports (names or ids).
type Query struct {
	VIP     string
	Network string
	Ports   []string
}

// Fetch reads what Analyze needs from a Networking v2 endpoint, with GET
// requests only (a reader role is enough), and resolves the names in q.
func Fetch(ctx context.Context, nc *gophercloud.ServiceClient, q Query) (Input, error) {
	in := Input{VIP: q.VIP}

	netPages, err := networks.List(nc, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return in, fmt.Errorf("list networks: %w", err)
	}
	nets, err := networks.ExtractNetworks(netPages)
	if err != nil {
		return in, fmt.Errorf("read networks: %w", err)
	}
	for _, n := range nets {
		in.Networks = append(in.Networks, Network{ID: n.ID, Name: n.Name})
	}
	if q.Network != "" {
		if in.NetworkID, err = ResolveNetwork(in.Networks, q.Network); err != nil {
			return in, err
		}
	}

	subPages, err := subnets.List(nc, subnets.ListOpts{NetworkID: in.NetworkID}).AllPages(ctx)
	if err != nil {
		return in, fmt.Errorf("list subnets: %w", err)
	}
	subs, err := subnets.ExtractSubnets(subPages)
	if err != nil {
		return in, fmt.Errorf("read subnets: %w", err)
	}
	for _, s := range subs {
		sub := Subnet{ID: s.ID, Name: s.Name, NetworkID: s.NetworkID, CIDR: s.CIDR, GatewayIP: s.GatewayIP}
		for _, p := range s.AllocationPools {
			sub.AllocationPools = append(sub.AllocationPools, Pool{Start: p.Start, End: p.End})
		}
		in.Subnets = append(in.Subnets, sub)
	}

	// Ports given by name may live on any network, so --ports lists them
	// all; so does the search for pairs holding the VIP when no network is
	// named.
	portOpts := ports.ListOpts{}
	if len(q.Ports) == 0 {
		portOpts.NetworkID = in.NetworkID
	}
	portPages, err := ports.List(nc, portOpts).AllPages(ctx)
	if err != nil {
		return in, fmt.Errorf("list ports: %w", err)
	}
	var withSec []struct {
		ports.Port
		portsecurity.PortSecurityExt
	}
	if err := ports.ExtractPortsInto(portPages, &withSec); err != nil {
		return in, fmt.Errorf("read ports: %w", err)
	}
	// port_security_enabled is absent where the extension is off: then
	// every port is filtered. The embedded bool cannot tell absence, so
	// read the raw documents for it.
	var raw struct {
		Ports []map[string]any `json:"ports"`
	}
	present := map[string]bool{}
	if err := ports.ExtractPortsInto(portPages, &raw.Ports); err == nil {
		for _, m := range raw.Ports {
			if _, ok := m["port_security_enabled"]; ok {
				if id, _ := m["id"].(string); id != "" {
					present[id] = true
				}
			}
		}
	}
	for _, p := range withSec {
		port := Port{ID: p.ID, Name: p.Name, NetworkID: p.NetworkID, ProjectID: p.ProjectID, MACAddress: p.MACAddress,
			DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner, PortSecurity: p.PortSecurityEnabled || !present[p.ID],
			SecurityGroups: p.SecurityGroups}
		if port.ProjectID == "" {
			port.ProjectID = p.TenantID
		}
		for _, f := range p.FixedIPs {
			port.FixedIPs = append(port.FixedIPs, FixedIP{SubnetID: f.SubnetID, IPAddress: f.IPAddress})
		}
		for _, ap := range p.AllowedAddressPairs {
			port.AddressPairs = append(port.AddressPairs, AddressPair{IPAddress: ap.IPAddress, MACAddress: ap.MACAddress})
		}
		in.Ports = append(in.Ports, port)
	}
	if len(q.Ports) > 0 {
		in.PeerIDs = []string{}
		for _, ref := range q.Ports {
			id, err := ResolvePort(in.Ports, ref)
			if err != nil {
				return in, err
			}
			in.PeerIDs = append(in.PeerIDs, id)
		}
	}

	grpPages, err := groups.List(nc, groups.ListOpts{}).AllPages(ctx)
	if err != nil {
		return in, fmt.Errorf("list security groups: %w", err)
	}
	grps, err := groups.ExtractGroups(grpPages)
	if err != nil {
		return in, fmt.Errorf("read security groups: %w", err)
	}
	for _, g := range grps {
		grp := Group{ID: g.ID, Name: g.Name, ProjectID: g.ProjectID}
		if grp.ProjectID == "" {
			grp.ProjectID = g.TenantID
		}
		for _, r := range g.Rules {
			grp.Rules = append(grp.Rules, Rule{ID: r.ID, Direction: r.Direction, EtherType: r.EtherType, Protocol: r.Protocol,
				RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID, RemoteAddressGroupID: r.RemoteAddressGroupID})
		}
		in.Groups = append(in.Groups, grp)
	}

	// Address groups are an extension: a cloud without it has none.
	agPages, err := addressgroups.List(nc, addressgroups.ListOpts{}).AllPages(ctx)
	switch {
	case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
	case err != nil:
		return in, fmt.Errorf("list address groups: %w", err)
	default:
		ags, err := addressgroups.ExtractGroups(agPages)
		if err != nil {
			return in, fmt.Errorf("read address groups: %w", err)
		}
		for _, ag := range ags {
			in.AddressGroups = append(in.AddressGroups, AddressGroup{ID: ag.ID, Name: ag.Name, Addresses: ag.Addresses})
		}
	}
	return in, nil
}

// ErrNotFound and ErrAmbiguous tell a name that matched nothing from one
// that matched several.
var (
	ErrNotFound  = errors.New("not found")
	ErrAmbiguous = errors.New("more than one match: use the id")
)

// ResolvePort finds a port by id, else by unique name.
func ResolvePort(all []Port, ref string) (string, error) {
	var ids []string
	for _, p := range all {
		if p.ID == ref {
			return p.ID, nil
		}
		if p.Name == ref {
			ids = append(ids, p.ID)
		}
	}
	return one("port", ref, ids)
}

// ResolveNetwork finds a network by id, else by unique name.
func ResolveNetwork(all []Network, ref string) (string, error) {
	var ids []string
	for _, n := range all {
		if n.ID == ref {
			return n.ID, nil
		}
		if n.Name == ref {
			ids = append(ids, n.ID)
		}
	}
	return one("network", ref, ids)
}

func one(kind, ref string, ids []string) (string, error) {
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", fmt.Errorf("%s %q: %w", kind, ref, ErrNotFound)
	default:
		return "", fmt.Errorf("%s %q (%s): %w", kind, ref, strings.Join(ids, ", "), ErrAmbiguous)
	}
}
