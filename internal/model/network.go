package model

import (
	"encoding/json"
	"fmt"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// DefaultMTU is what Neutron gives a VXLAN tenant network.
const DefaultMTU = 1450

// NetworkInput is a validated network body.
type NetworkInput struct {
	ProjectID      string
	Name           *string
	Description    *string
	AdminStateUp   *bool
	Shared         *bool
	PortSecurity   *bool
	RouterExternal *bool
	MTU            *int
	AZHints        *[]string
	Tags           *[]string
}

var netUpdatable = setOf("name", "description", "admin_state_up", "shared", "port_security_enabled", "router:external", "mtu")
var netCreatable = union(netUpdatable, setOf("tenant_id", "project_id", "availability_zone_hints", "tags"))
var netReadOnly = setOf("id", "status", "subnets", "availability_zones", "created_at", "updated_at", "revision_number", "availability_zone_hints")

// ParseNetwork validates a network body.
func ParseNetwork(a Attrs, create bool) (*NetworkInput, error) {
	if err := checkAttrs(a, create, netCreatable, netUpdatable, netReadOnly); err != nil {
		return nil, err
	}
	in := &NetworkInput{}
	var err error
	if create {
		if in.ProjectID, err = projectFromBody(a); err != nil {
			return nil, err
		}
		if l, ok, err := a.StringList("availability_zone_hints", 255); err != nil {
			return nil, err
		} else if ok {
			in.AZHints = &l
		}
		if l, ok, err := a.StringList("tags", 255); err != nil {
			return nil, err
		} else if ok {
			in.Tags = &l
		}
	}
	if err := strAttrs(a, map[string]**string{"name": &in.Name, "description": &in.Description}); err != nil {
		return nil, err
	}
	if err := boolAttrs(a, map[string]**bool{"admin_state_up": &in.AdminStateUp, "shared": &in.Shared,
		"port_security_enabled": &in.PortSecurity, "router:external": &in.RouterExternal}); err != nil {
		return nil, err
	}
	if v, ok, err := a.Int("mtu"); err != nil {
		return nil, err
	} else if ok && v != nil {
		if *v < 68 || *v > DefaultMTU {
			return nil, apierr.InvalidInput("Requested MTU %d is out of range; it must be between 68 and %d.", *v, DefaultMTU)
		}
		in.MTU = v
	}
	return in, nil
}

// SecurityGroupInput is a validated security group body.
type SecurityGroupInput struct {
	ProjectID   string
	Name        *string
	Description *string
	Stateful    *bool
	Tags        *[]string
}

var sgUpdatable = setOf("name", "description", "stateful")
var sgCreatable = union(sgUpdatable, setOf("tenant_id", "project_id", "tags"))
var sgReadOnly = setOf("id", "security_group_rules", "shared", "created_at", "updated_at", "revision_number")

// ParseSecurityGroup validates a security group body.
func ParseSecurityGroup(a Attrs, create bool) (*SecurityGroupInput, error) {
	if err := checkAttrs(a, create, sgCreatable, sgUpdatable, sgReadOnly); err != nil {
		return nil, err
	}
	in := &SecurityGroupInput{}
	var err error
	if create {
		if in.ProjectID, err = projectFromBody(a); err != nil {
			return nil, err
		}
		if l, ok, err := a.StringList("tags", 255); err != nil {
			return nil, err
		} else if ok {
			in.Tags = &l
		}
	}
	if err := strAttrs(a, map[string]**string{"name": &in.Name, "description": &in.Description}); err != nil {
		return nil, err
	}
	if err := boolAttrs(a, map[string]**bool{"stateful": &in.Stateful}); err != nil {
		return nil, err
	}
	return in, nil
}

// AddressGroupInput is a validated address group body.
type AddressGroupInput struct {
	ProjectID   string
	Name        *string
	Description *string
	Addresses   *[]string
}

var agUpdatable = setOf("name", "description")
var agCreatable = union(agUpdatable, setOf("tenant_id", "project_id", "addresses"))
var agReadOnly = setOf("id", "addresses", "created_at", "updated_at", "revision_number")

// ParseAddressGroup validates an address group body.
func ParseAddressGroup(a Attrs, create bool) (*AddressGroupInput, error) {
	if err := checkAttrs(a, create, agCreatable, agUpdatable, agReadOnly); err != nil {
		return nil, err
	}
	in := &AddressGroupInput{}
	var err error
	if create {
		if in.ProjectID, err = projectFromBody(a); err != nil {
			return nil, err
		}
		if a.Has("addresses") {
			addrs, err := ParseAddresses(a["addresses"], "addresses")
			if err != nil {
				return nil, err
			}
			in.Addresses = &addrs
		}
	}
	if err := strAttrs(a, map[string]**string{"name": &in.Name, "description": &in.Description}); err != nil {
		return nil, err
	}
	return in, nil
}

// ParseAddresses validates a list of IPs or CIDRs and returns them as
// normalised CIDRs (what Neutron stores for address groups).
func ParseAddresses(raw json.RawMessage, name string) ([]string, error) {
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a list of strings", pyRepr(raw)))
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, s := range items {
		p, ok := ParseCIDR(s)
		if !ok {
			return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid IP subnet", s))
		}
		c := p.Masked().String()
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func strAttrs(a Attrs, dst map[string]**string) error {
	for name, d := range dst {
		s, ok, err := a.String(name, 255)
		if err != nil {
			return err
		}
		if ok {
			*d = &s
		}
	}
	return nil
}

func boolAttrs(a Attrs, dst map[string]**bool) error {
	for name, d := range dst {
		b, ok, err := a.Bool(name)
		if err != nil {
			return err
		}
		if ok {
			*d = &b
		}
	}
	return nil
}
