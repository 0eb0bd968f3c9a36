// Package doctor examines a keepalived/VRRP virtual IP and the ports that
// share it, and says in plain words what will break (split brain, VIP
// unreachable after failover, unfiltered VMs, over-wide address pairs,
// address conflicts) together with the openstack commands that fix it.
//
// Analyze is pure: it takes the ports, groups, networks and subnets as
// plain structs and returns findings. Fetch (fetch.go) fills those structs
// from any Networking v2 API with GETs only.
package doctor

// Port is the part of a Neutron port the analysis reads.
type Port struct {
	ID          string
	Name        string
	NetworkID   string
	ProjectID   string
	MACAddress  string
	DeviceID    string
	DeviceOwner string
	FixedIPs    []FixedIP
	// PortSecurity is port_security_enabled (true when the cloud does not
	// report it: without the extension every port is filtered).
	PortSecurity   bool
	SecurityGroups []string
	AddressPairs   []AddressPair
}

// FixedIP is one entry of a port's fixed_ips.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// AddressPair is one entry of a port's allowed_address_pairs; IPAddress
// is an address or a CIDR.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address,omitempty"`
}

// Group is a security group with its rules.
type Group struct {
	ID        string
	Name      string
	ProjectID string
	Rules     []Rule
}

// Rule is a security group rule. Protocol is as stored: "", a name
// ("vrrp", "any") or a number ("112").
type Rule struct {
	ID                   string
	Direction            string
	EtherType            string
	Protocol             string
	RemoteIPPrefix       string
	RemoteGroupID        string
	RemoteAddressGroupID string
}

// AddressGroup is a named set of CIDRs that rules can name as their remote.
type AddressGroup struct {
	ID        string
	Name      string
	Addresses []string
}

// Network is a Neutron network.
type Network struct {
	ID   string
	Name string
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID              string
	Name            string
	NetworkID       string
	CIDR            string
	GatewayIP       string
	AllocationPools []Pool
}

// Pool is an allocation pool, both ends included.
type Pool struct {
	Start string
	End   string
}

// Input is everything Analyze looks at.
type Input struct {
	// VIP is the virtual address, as given.
	VIP string
	// NetworkID restricts the peers to one network ("": any).
	NetworkID string
	// PeerIDs are the ports given with --ports (nil: find the peers).
	PeerIDs []string
	// Ports holds every port visible (on NetworkID when it is set): peers
	// are picked from it and conflicts searched in it.
	Ports         []Port
	Groups        []Group
	AddressGroups []AddressGroup
	Networks      []Network
	Subnets       []Subnet
}

// Severities, from the worst.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
	SeverityOK      = "ok"
)

// Finding is one thing doctor has to say. Fix holds complete openstack
// commands, to be run in the order given (findings too are in the order
// their fixes should run); it is empty when no command can decide for the
// operator (e.g. choosing another VIP).
type Finding struct {
	Severity string   `json:"severity"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail"`
	Fix      []string `json:"fix"`
	// Code names the kind of finding for tests and scripts reading Go
	// values; the JSON form is fixed by the issue and leaves it out.
	Code string `json:"-"`
}

// Finding codes.
const (
	CodeFewPeers         = "few-peers"
	CodeNetworks         = "different-networks"
	CodeOutsideSubnet    = "vip-outside-subnet"
	CodeConflict         = "vip-conflict"
	CodeNoGroups         = "no-security-groups"
	CodeVRRPIngress      = "vrrp-ingress"
	CodeVRRPEgress       = "vrrp-egress"
	CodeMissingPair      = "vip-not-in-pairs"
	CodePairMAC          = "pair-mac"
	CodeWidePair         = "wide-pair"
	CodePortSecurityOff  = "port-security-disabled"
	CodeUnicastOnly      = "vrrp-egress-unicast-only"
	CodeReserved         = "vip-reserved"
	CodeUnreservedInPool = "vip-in-pool"
	CodeOK               = "ok"
)

// PortSummary is how a peer appears in the report.
type PortSummary struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	NetworkID           string        `json:"network_id"`
	MACAddress          string        `json:"mac_address"`
	FixedIPs            []string      `json:"fixed_ips"`
	PortSecurityEnabled bool          `json:"port_security_enabled"`
	SecurityGroups      []string      `json:"security_groups"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs"`
	// GroupNames are the groups as the table shows them (names where
	// unambiguous).
	GroupNames []string `json:"-"`
}

// Report is the outcome: the JSON form of `bulwark doctor vip -f json`.
type Report struct {
	VIP      string        `json:"vip"`
	Ports    []PortSummary `json:"ports"`
	Findings []Finding     `json:"findings"`
}

// HasErrors reports whether any finding is an error.
func (r Report) HasErrors() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}
