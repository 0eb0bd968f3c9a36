package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

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
var netReadOnly = setOf("id", "status", "subnets", "availability_zones", "created_at", "updated_at", "revision_number", "availability_zone_hints",
	"ipv4_address_scope", "ipv6_address_scope")

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
		switch {
		case *v < 0:
			return nil, apierr.InvalidAttr("mtu", fmt.Sprintf("'%d' should be non-negative", *v))
		case *v == 0: // Neutron's default: the largest the network allows
			*v = DefaultMTU
		case *v > DefaultMTU:
			return nil, apierr.InvalidInput("Requested MTU is too big, maximum is %d.", DefaultMTU)
		case *v < 68:
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

// ParseAddresses validates a list of CIDRs as Neutron's subnet_list
// validator does (a list, no repeated items, each "addr/len") and returns
// them normalised to their networks and deduplicated, as Neutron stores
// address groups. null is the empty list.
func ParseAddresses(raw json.RawMessage, name string) ([]string, error) {
	if isNull(raw) {
		return []string{}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a list", pyRepr(raw)))
	}
	var dups []string
	count := map[string]int{}
	for _, it := range items {
		k := string(bytes.TrimSpace(it))
		if count[k]++; count[k] == 2 {
			dups = append(dups, pyRepr(it))
		}
	}
	if len(dups) > 0 {
		return nil, apierr.InvalidAttr(name, fmt.Sprintf("Duplicate items in the list: '%s'", strings.Join(dups, ", ")))
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil || isNull(it) {
			return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid IP subnet", pyRepr(it)))
		}
		p, ok := ParseCIDR(s)
		if !ok {
			return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid IP subnet", s))
		}
		if !strings.Contains(s, "/") {
			return nil, apierr.InvalidAttr(name, fmt.Sprintf("'%s' isn't a recognized IP subnet cidr, '%s' is recommended", s, p))
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
