package firewall

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/bulwark-net/bulwark/internal/model"
)

// HostState is everything the compiler needs to know about one compute
// host: the ports bound to it, the security groups those ports use, the
// members of every remote group and address group their rules reference,
// and the networks they sit on. It is plain data, built by the agent from
// the server's view (BuildHostState) or by tests from a reference case
// (LoadReferenceModel); Compile never looks anywhere else.
type HostState struct {
	// Ports bound to this host (binding:host_id), in any order.
	Ports []Port
	// Groups holds every security group a local port uses, by id.
	Groups map[string]*SecurityGroup
	// Members maps a security group id to the addresses of every port in
	// that group on any host: fixed IPs and address-pair IPs or CIDRs,
	// both families mixed. A remote group missing here is an empty set.
	Members map[string][]string
	// AddressGroups maps an address group id to its CIDRs.
	AddressGroups map[string][]string
	// Networks holds per-network facts by id; a network missing here gets
	// the defaults (bridge "brq" + first 11 chars of its id).
	Networks map[string]*Network
	// Zones is the conntrack zone allocation the kernel already has
	// (network id -> zone), read back by the applier. Compile keeps every
	// zone listed here for a network that still has filtered ports, so
	// existing connections keep their conntrack entries; see Ruleset.Zones.
	Zones map[string]uint16
}

// Port is one port bound to this host.
type Port struct {
	ID        string
	NetworkID string
	MAC       string
	// FixedIPs are the port's addresses (no prefix length).
	FixedIPs []string
	// AddressPairs are its allowed address pairs: an IP or CIDR and the
	// MAC it may be sent from (the API fills in the port's MAC).
	AddressPairs []model.AddressPair
	// SecurityGroups are the ids of its groups, in the port's order.
	SecurityGroups []string
	// PortSecurity is port_security_enabled; false means the port is
	// passed through unfiltered.
	PortSecurity bool
	// Trusted marks a port owned by the network itself (DHCP server,
	// router interface: device_owner "network:*"). It is passed through
	// unfiltered like a port without port security.
	Trusted bool
	// FailClosed is set by the agent when it lacks data to render this
	// port faithfully: the port gets chains that drop everything.
	FailClosed bool
	// Device is the VM-facing device; empty means DeviceName(ID).
	Device string
}

// Dev returns the port's device name.
func (p *Port) Dev() string {
	if p.Device != "" {
		return p.Device
	}
	return DeviceName(p.ID)
}

// Filtered reports whether the port gets security-group chains.
func (p *Port) Filtered() bool { return p.PortSecurity && !p.Trusted }

// SecurityGroup is a group with its rules, as the API stores them.
type SecurityGroup struct {
	ID       string
	Stateful bool
	Rules    []model.SecurityGroupRule
}

// Network holds what the compiler needs to know about a network.
type Network struct {
	ID string
	// Bridge is the Linux bridge the network's ports are plugged into on
	// this host; the conntrack zone of the network is assigned to packets
	// entering or leaving through it. Empty means BridgeName(ID).
	Bridge string
	// DHCP are the network's DHCP server ports (device_owner
	// network:dhcp, on any host): the only sources a port accepts DHCP
	// offers and DHCPv6 replies from.
	DHCP []ServicePort
	// Routers are the network's router interfaces (device_owner
	// network:router_interface*, network:ha_router_replicated_interface,
	// on any host): the only sources a port accepts router advertisements
	// from (their MAC's link-local address).
	Routers []ServicePort
}

// ServicePort is a port owned by the network itself, as a source of DHCP
// replies or router advertisements.
type ServicePort struct {
	ID       string
	MAC      string
	FixedIPs []string
}

// DeviceName is the VM-facing device of a port: "tap" + the first 11
// characters of its id, as Neutron names it.
func DeviceName(portID string) string { return "tap" + prefix(portID, 11) }

// BridgeName is the default bridge of a network: "brq" + the first 11
// characters of its id, as Neutron's linuxbridge agent names it.
func BridgeName(networkID string) string { return "brq" + prefix(networkID, 11) }

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// bridge returns the bridge of a network.
func (h *HostState) bridge(networkID string) string {
	if n := h.Networks[networkID]; n != nil && n.Bridge != "" {
		return n.Bridge
	}
	return BridgeName(networkID)
}

// Inventory is the server's view a host state is cut from: every port
// (on any host), every group with its rules, every address group and
// network. BuildHostState selects what concerns one host.
type Inventory struct {
	Ports []model.Port
	// NetworkPorts are DHCP and router-interface ports on the networks of
	// the host's ports, bound anywhere (they may repeat entries of Ports).
	NetworkPorts   []model.Port
	SecurityGroups []model.SecurityGroup // with SecurityGroupRules filled in
	AddressGroups  []model.AddressGroup
	Networks       []model.Network
	// Members, when not nil, are the addresses of every remote group
	// (from a server that sees every host); nil: computed from Ports.
	Members map[string][]string
}

// BuildHostState selects from inv what host must enforce: the ports bound
// to it, the groups they use, the members of every group referenced as a
// remote group by one of those groups' rules (from all ports, any host),
// and the address groups referenced. Bridges is an optional network id ->
// bridge name map; zones is the allocation the kernel already holds.
func BuildHostState(host string, inv *Inventory, bridges map[string]string, zones map[string]uint16) *HostState {
	h := &HostState{
		Groups:        map[string]*SecurityGroup{},
		Members:       map[string][]string{},
		AddressGroups: map[string][]string{},
		Networks:      map[string]*Network{},
		Zones:         zones,
	}
	groups := map[string]*model.SecurityGroup{}
	for i := range inv.SecurityGroups {
		groups[inv.SecurityGroups[i].ID] = &inv.SecurityGroups[i]
	}
	for i := range inv.Ports {
		mp := &inv.Ports[i]
		if mp.BindingHostID != host || host == "" {
			continue
		}
		h.Ports = append(h.Ports, portFromModel(mp))
		if _, ok := h.Networks[mp.NetworkID]; !ok {
			h.Networks[mp.NetworkID] = &Network{ID: mp.NetworkID, Bridge: bridges[mp.NetworkID]}
		}
	}
	addServicePorts(h, inv)
	remote, addr := map[string]bool{}, map[string]bool{}
	for _, p := range h.Ports {
		if !p.Filtered() {
			continue
		}
		for _, id := range p.SecurityGroups {
			g := groups[id]
			if g == nil || h.Groups[id] != nil {
				continue
			}
			h.Groups[id] = &SecurityGroup{ID: g.ID, Stateful: g.Stateful, Rules: g.SecurityGroupRules}
			for _, r := range g.SecurityGroupRules {
				if r.RemoteGroupID != nil {
					remote[*r.RemoteGroupID] = true
				}
				if r.RemoteAddressGroupID != nil {
					addr[*r.RemoteAddressGroupID] = true
				}
			}
		}
	}
	for id := range remote {
		h.Members[id] = []string{}
	}
	if inv.Members != nil {
		for id := range remote {
			if m := inv.Members[id]; m != nil {
				h.Members[id] = m
			}
		}
	} else {
		for i := range inv.Ports {
			mp := &inv.Ports[i]
			for _, g := range mp.SecurityGroups {
				if !remote[g] {
					continue
				}
				for _, ip := range mp.FixedIPs {
					h.Members[g] = append(h.Members[g], ip.IPAddress)
				}
				for _, ap := range mp.AllowedAddressPairs {
					h.Members[g] = append(h.Members[g], ap.IPAddress)
				}
			}
		}
	}
	for _, ag := range inv.AddressGroups {
		if addr[ag.ID] {
			h.AddressGroups[ag.ID] = append([]string{}, ag.Addresses...)
		}
	}
	return h
}

// addServicePorts records, for every network of the host's ports, its
// DHCP and router-interface ports (from inv.Ports and inv.NetworkPorts,
// any host, each once, in id order).
func addServicePorts(h *HostState, inv *Inventory) {
	seen := map[string]bool{}
	var all []*model.Port
	for _, list := range [][]model.Port{inv.Ports, inv.NetworkPorts} {
		for i := range list {
			mp := &list[i]
			if !model.IsNetworkServicePort(mp.DeviceOwner) || seen[mp.ID] || h.Networks[mp.NetworkID] == nil {
				continue
			}
			seen[mp.ID] = true
			all = append(all, mp)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, mp := range all {
		sp := ServicePort{ID: mp.ID, MAC: mp.MACAddress}
		for _, ip := range mp.FixedIPs {
			sp.FixedIPs = append(sp.FixedIPs, ip.IPAddress)
		}
		n := h.Networks[mp.NetworkID]
		switch {
		case mp.DeviceOwner == "network:dhcp":
			n.DHCP = append(n.DHCP, sp)
		case model.IsNetworkServicePort(mp.DeviceOwner):
			n.Routers = append(n.Routers, sp)
		}
	}
}

func portFromModel(mp *model.Port) Port {
	p := Port{
		ID:             mp.ID,
		Device:         DeviceName(mp.ID),
		NetworkID:      mp.NetworkID,
		MAC:            mp.MACAddress,
		SecurityGroups: append([]string{}, mp.SecurityGroups...),
		PortSecurity:   mp.PortSecurityEnabled,
		Trusted:        model.IsNetworkOwned(mp.DeviceOwner),
	}
	for _, ip := range mp.FixedIPs {
		p.FixedIPs = append(p.FixedIPs, ip.IPAddress)
	}
	for _, ap := range mp.AllowedAddressPairs {
		if ap.MACAddress == "" {
			ap.MACAddress = mp.MACAddress
		}
		p.AddressPairs = append(p.AddressPairs, ap)
	}
	return p
}

// referenceModel is the model.json of a case under
// shared/reference/neutron-iptables/.
type referenceModel struct {
	Case     string `json:"case"`
	Networks []struct {
		ID string `json:"id"`
	} `json:"networks"`
	Ports []struct {
		ID                  string              `json:"id"`
		NetworkID           string              `json:"network_id"`
		MAC                 string              `json:"mac_address"`
		DeviceOwner         string              `json:"device_owner"`
		Local               bool                `json:"local"`
		PortSecurityEnabled bool                `json:"port_security_enabled"`
		SecurityGroups      []string            `json:"security_groups"`
		AllowedAddressPairs []model.AddressPair `json:"allowed_address_pairs"`
		FixedIPs            []model.FixedIP     `json:"fixed_ips"`
	} `json:"ports"`
	SecurityGroups []struct {
		ID       string `json:"id"`
		Stateful bool   `json:"stateful"`
		Rules    []struct {
			ID             string  `json:"id"`
			Direction      string  `json:"direction"`
			Ethertype      string  `json:"ethertype"`
			Protocol       *string `json:"protocol"`
			PortRangeMin   *int    `json:"port_range_min"`
			PortRangeMax   *int    `json:"port_range_max"`
			RemoteIPPrefix *string `json:"remote_ip_prefix"`
			RemoteGroupID  *string `json:"remote_group_id"`
		} `json:"rules"`
	} `json:"security_groups"`
}

// ReferenceHost is the host name LoadReferenceModel binds local ports to.
const ReferenceHost = "reference-host"

// LoadReferenceModel builds the host state of a reference case from its
// model.json: ports marked "local" are bound to this host, every port
// counts for remote-group membership, bridges get Neutron's names.
func LoadReferenceModel(data []byte) (*HostState, error) {
	var m referenceModel
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reference model: %w", err)
	}
	inv := &Inventory{}
	for _, n := range m.Networks {
		inv.Networks = append(inv.Networks, model.Network{ID: n.ID})
	}
	for _, p := range m.Ports {
		mp := model.Port{
			ID: p.ID, NetworkID: p.NetworkID, MACAddress: p.MAC, DeviceOwner: p.DeviceOwner,
			PortSecurityEnabled: p.PortSecurityEnabled, SecurityGroups: p.SecurityGroups,
			AllowedAddressPairs: p.AllowedAddressPairs, FixedIPs: p.FixedIPs,
		}
		if p.Local {
			mp.BindingHostID = ReferenceHost
		}
		inv.Ports = append(inv.Ports, mp)
	}
	for _, g := range m.SecurityGroups {
		sg := model.SecurityGroup{ID: g.ID, Stateful: g.Stateful}
		for _, r := range g.Rules {
			mr := model.SecurityGroupRule{
				ID: r.ID, SecurityGroupID: g.ID, Direction: r.Direction, Ethertype: r.Ethertype,
				Protocol: r.Protocol, PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax,
				RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID,
			}
			if r.RemoteIPPrefix != nil {
				if p, ok := model.ParseCIDR(*r.RemoteIPPrefix); ok {
					norm := p.Masked().String()
					mr.NormalizedCIDR = &norm
				}
			}
			sg.SecurityGroupRules = append(sg.SecurityGroupRules, mr)
		}
		inv.SecurityGroups = append(inv.SecurityGroups, sg)
	}
	return BuildHostState(ReferenceHost, inv, nil, nil), nil
}

// parseAddr parses an address or CIDR as the API stores it (fixed IP,
// address pair, member) into a masked prefix: a host address becomes /32
// or /128.
func parseAddr(s string) (netip.Prefix, bool) {
	p, ok := model.ParseCIDR(strings.TrimSpace(s))
	if !ok {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
