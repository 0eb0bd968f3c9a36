// Package lab builds the keepalived HA scenario on this machine with real
// parts: a "compute host" network namespace holding a Linux bridge with
// br_netfilter and a `bulwark agent`, two "VM" namespaces running
// keepalived, a client namespace, and the Bulwark API objects behind them.
// The story (story.go) walks the operator's six steps on it and checks
// each one with real observations; `bulwark lab` and the e2e test both
// drive the same functions.
package lab

import (
	"fmt"
	"regexp"
)

// Fixed addresses of the scenario (the operator's note).
const (
	CIDR       = "172.16.200.0/24"
	VIP        = "172.16.200.251"
	ClientIP   = "172.16.200.10"
	VRID       = 51
	AdvertSecs = 1
	// WebPort is allowed by the group's rules; AdminPort never is, so it
	// is reachable only while a port has no port security.
	WebPort   = 80
	AdminPort = 8080
	// VMDevice is the VM side of every veth.
	VMDevice = "eth0"
	// Bridge is the bridge inside the host namespace (the namespace keeps
	// the name private to the lab).
	Bridge = "brlab"
	// ClientLink is the client's veth end on the bridge: not a port, it
	// stands for whatever sits behind the network (a router, the uplink).
	ClientLink = "client0"
)

// VMSpec is one keepalived node.
type VMSpec struct {
	Name     string
	IP       string
	Priority int
}

// VMs are the two keepalived nodes: 01 is the preferred MASTER.
var VMs = []VMSpec{
	{Name: "keepalived01", IP: "172.16.200.193", Priority: 150},
	{Name: "keepalived02", IP: "172.16.200.194", Priority: 100},
}

// labName keeps the lab's namespace prefix unambiguous: without "-" in the
// name, "bwlab-a-" can never be a prefix of another lab's namespaces.
var labName = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// Names derives every name a lab uses from its name.
type Names struct{ Lab string }

// NewNames validates a lab name.
func NewNames(lab string) (Names, error) {
	if !labName.MatchString(lab) {
		return Names{}, fmt.Errorf("lab name %q: use 1-16 lower-case letters and digits", lab)
	}
	return Names{Lab: lab}, nil
}

// Prefix starts every network namespace of the lab.
func (n Names) Prefix() string { return "bwlab-" + n.Lab + "-" }

// HostNS is the compute host's namespace.
func (n Names) HostNS() string { return n.Prefix() + "host" }

// ClientNS is the client's namespace.
func (n Names) ClientNS() string { return n.Prefix() + "client" }

// VMNS is a VM's namespace.
func (n Names) VMNS(vm string) string { return n.Prefix() + vm }

// Host is the binding:host_id of the lab's ports and the agent's --host.
func (n Names) Host() string { return "bwlab-" + n.Lab }

// Network, SecurityGroup name the API objects (found by name by `down`
// when the state file is gone).
func (n Names) Network() string       { return "bwlab-" + n.Lab }
func (n Names) SecurityGroup() string { return "bwlab-" + n.Lab + "-ha" }

// Namespaces lists every namespace the lab makes.
func (n Names) Namespaces() []string {
	out := []string{n.HostNS(), n.ClientNS()}
	for _, v := range VMs {
		out = append(out, n.VMNS(v.Name))
	}
	return out
}

// TapName is the host end of a VM's veth, as the agent expects it.
func TapName(portID string) string {
	if len(portID) > 11 {
		portID = portID[:11]
	}
	return "tap" + portID
}
