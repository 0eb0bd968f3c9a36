// Package model holds Bulwark's domain types, shaped exactly like the
// Neutron v2.0 JSON they are served as, and the pure validation that turns
// a client's request body into them. Nothing here does I/O.
package model

import "time"

// TimeFormat is how Neutron renders timestamps: whole seconds, UTC, "Z".
const TimeFormat = "2006-01-02T15:04:05Z"

// Now returns the current time in TimeFormat.
func Now() string { return time.Now().UTC().Format(TimeFormat) }

// Network is a Neutron network.
type Network struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	TenantID              string   `json:"tenant_id"`
	AdminStateUp          bool     `json:"admin_state_up"`
	MTU                   int      `json:"mtu"`
	Status                string   `json:"status"`
	Subnets               []string `json:"subnets"`
	Shared                bool     `json:"shared"`
	ProjectID             string   `json:"project_id"`
	PortSecurityEnabled   bool     `json:"port_security_enabled"`
	RouterExternal        bool     `json:"router:external"`
	AvailabilityZoneHints []string `json:"availability_zone_hints"`
	AvailabilityZones     []string `json:"availability_zones"`
	IPv4AddressScope      *string  `json:"ipv4_address_scope"`
	IPv6AddressScope      *string  `json:"ipv6_address_scope"`
	Description           string   `json:"description"`
	Tags                  []string `json:"tags"`
	CreatedAt             string   `json:"created_at"`
	UpdatedAt             string   `json:"updated_at"`
	RevisionNumber        int64    `json:"revision_number"`
}

// AllocationPool is an inclusive range of addresses a subnet hands out.
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// HostRoute is a static route a subnet advertises over DHCP.
type HostRoute struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	TenantID        string           `json:"tenant_id"`
	NetworkID       string           `json:"network_id"`
	IPVersion       int              `json:"ip_version"`
	SubnetpoolID    *string          `json:"subnetpool_id"`
	EnableDHCP      bool             `json:"enable_dhcp"`
	IPv6RAMode      *string          `json:"ipv6_ra_mode"`
	IPv6AddressMode *string          `json:"ipv6_address_mode"`
	GatewayIP       *string          `json:"gateway_ip"`
	CIDR            string           `json:"cidr"`
	AllocationPools []AllocationPool `json:"allocation_pools"`
	HostRoutes      []HostRoute      `json:"host_routes"`
	DNSNameservers  []string         `json:"dns_nameservers"`
	Description     string           `json:"description"`
	ServiceTypes    []string         `json:"service_types"`
	Tags            []string         `json:"tags"`
	CreatedAt       string           `json:"created_at"`
	UpdatedAt       string           `json:"updated_at"`
	RevisionNumber  int64            `json:"revision_number"`
	ProjectID       string           `json:"project_id"`
}

// FixedIP is one address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is an extra (MAC, IP or CIDR) a port may send from.
type AddressPair struct {
	MACAddress string `json:"mac_address"`
	IPAddress  string `json:"ip_address"`
}

// Port is a Neutron port, with the binding, port-security and
// allowed-address-pairs extensions. The binding fields are admin-only on
// the wire; the API layer hides them from other callers.
type Port struct {
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	NetworkID           string         `json:"network_id"`
	TenantID            string         `json:"tenant_id"`
	MACAddress          string         `json:"mac_address"`
	AdminStateUp        bool           `json:"admin_state_up"`
	Status              string         `json:"status"`
	DeviceID            string         `json:"device_id"`
	DeviceOwner         string         `json:"device_owner"`
	FixedIPs            []FixedIP      `json:"fixed_ips"`
	AllowedAddressPairs []AddressPair  `json:"allowed_address_pairs"`
	ExtraDHCPOpts       []any          `json:"extra_dhcp_opts"`
	SecurityGroups      []string       `json:"security_groups"`
	Description         string         `json:"description"`
	BindingVNICType     string         `json:"binding:vnic_type"`
	BindingProfile      map[string]any `json:"binding:profile"`
	BindingHostID       string         `json:"binding:host_id"`
	BindingVIFType      string         `json:"binding:vif_type"`
	BindingVIFDetails   map[string]any `json:"binding:vif_details"`
	PortSecurityEnabled bool           `json:"port_security_enabled"`
	Tags                []string       `json:"tags"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	RevisionNumber      int64          `json:"revision_number"`
	ProjectID           string         `json:"project_id"`
}

// AdminOnlyPortFields are the port attributes only an admin sees.
var AdminOnlyPortFields = []string{"binding:host_id", "binding:profile", "binding:vif_details", "binding:vif_type"}

// SecurityGroup is a Neutron security group. Rules are stored separately
// and attached when the group is rendered.
type SecurityGroup struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	Stateful           bool                `json:"stateful"`
	TenantID           string              `json:"tenant_id"`
	Description        string              `json:"description"`
	Shared             bool                `json:"shared"`
	SecurityGroupRules []SecurityGroupRule `json:"security_group_rules"`
	Tags               []string            `json:"tags"`
	CreatedAt          string              `json:"created_at"`
	UpdatedAt          string              `json:"updated_at"`
	RevisionNumber     int64               `json:"revision_number"`
	ProjectID          string              `json:"project_id"`
}

// SecurityGroupRule is one rule. Protocol is kept exactly as the client
// sent it ("vrrp", "112", "tcp", "6"); ProtocolNumber normalises it.
type SecurityGroupRule struct {
	ID                   string  `json:"id"`
	TenantID             string  `json:"tenant_id"`
	SecurityGroupID      string  `json:"security_group_id"`
	Ethertype            string  `json:"ethertype"`
	Direction            string  `json:"direction"`
	Protocol             *string `json:"protocol"`
	PortRangeMin         *int    `json:"port_range_min"`
	PortRangeMax         *int    `json:"port_range_max"`
	RemoteIPPrefix       *string `json:"remote_ip_prefix"`
	RemoteAddressGroupID *string `json:"remote_address_group_id"`
	NormalizedCIDR       *string `json:"normalized_cidr"`
	RemoteGroupID        *string `json:"remote_group_id"`
	// StandardAttrID and Tags appear only inside a group's body.
	StandardAttrID *int64    `json:"standard_attr_id,omitempty"`
	Description    *string   `json:"description"`
	Tags           *[]string `json:"tags,omitempty"`
	CreatedAt      string    `json:"created_at"`
	UpdatedAt      string    `json:"updated_at"`
	RevisionNumber int64     `json:"revision_number"`
	ProjectID      string    `json:"project_id"`
}

// AddressGroup is a named set of CIDRs a rule can use as its remote.
type AddressGroup struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	TenantID       string   `json:"tenant_id"`
	ProjectID      string   `json:"project_id"`
	Addresses      []string `json:"addresses"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	RevisionNumber int64    `json:"revision_number"`
}

// Kind names a resource type; it is also the singular JSON key.
type Kind string

const (
	KindNetwork       Kind = "network"
	KindSubnet        Kind = "subnet"
	KindPort          Kind = "port"
	KindSecurityGroup Kind = "security_group"
	KindRule          Kind = "security_group_rule"
	KindAddressGroup  Kind = "address_group"
)

// Device owners whose ports belong to the network itself rather than a VM.
func IsNetworkOwned(deviceOwner string) bool {
	return len(deviceOwner) >= 8 && deviceOwner[:8] == "network:"
}
