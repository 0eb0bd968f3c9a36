package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// FixedIPRequest is one entry of a request's fixed_ips: a subnet, an
// address, or both.
type FixedIPRequest struct {
	SubnetID  string
	IPAddress string
}

// PortInput is a validated port create or update body; nil fields were
// not sent.
type PortInput struct {
	NetworkID      string
	ProjectID      string
	Name           *string
	Description    *string
	DeviceID       *string
	DeviceOwner    *string
	MACAddress     *string
	HostID         *string
	VNICType       *string
	Profile        map[string]any
	AdminStateUp   *bool
	PortSecurity   *bool
	FixedIPs       *[]FixedIPRequest
	SecurityGroups *[]string
	AddressPairs   *[]AddressPair
	ExtraDHCPOpts  *[]any
	Tags           *[]string
}

var portUpdatable = setOf("name", "admin_state_up", "mac_address", "fixed_ips", "device_id",
	"device_owner", "security_groups", "allowed_address_pairs", "port_security_enabled",
	"description", "binding:host_id", "binding:profile", "binding:vnic_type", "extra_dhcp_opts")

var portCreatable = union(portUpdatable, setOf("network_id", "tenant_id", "project_id", "tags"))

var portReadOnly = setOf("id", "network_id", "tenant_id", "project_id", "status", "binding:vif_type",
	"binding:vif_details", "created_at", "updated_at", "revision_number", "tags")

var vnicTypes = []string{"normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed"}

// ParsePort validates a port body. create selects POST rules (network_id
// required) or PUT rules (read-only attributes rejected). maxPairs bounds
// allowed_address_pairs.
func ParsePort(a Attrs, create bool, maxPairs int) (*PortInput, error) {
	if err := checkAttrs(a, create, portCreatable, portUpdatable, portReadOnly); err != nil {
		return nil, err
	}
	in := &PortInput{}
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
		if a.Has("tags") {
			tags, _, err := a.StringList("tags", 255)
			if err != nil {
				return nil, err
			}
			in.Tags = &tags
		}
	}
	for _, f := range []struct {
		name string
		dst  **string
		max  int
	}{{"name", &in.Name, 255}, {"description", &in.Description, 255}, {"device_id", &in.DeviceID, 255},
		{"device_owner", &in.DeviceOwner, 255}, {"binding:host_id", &in.HostID, 255}} {
		if f.name == "binding:host_id" && a.IsNull(f.name) {
			// Nova unbinds a port with {"binding:host_id": null}.
			empty := ""
			*f.dst = &empty
			continue
		}
		if s, ok, err := a.String(f.name, f.max); err != nil {
			return nil, err
		} else if ok {
			*f.dst = &s
		}
	}
	if a.Has("binding:vnic_type") {
		s, _, err := a.OneOf("binding:vnic_type", vnicTypes...)
		if err != nil {
			return nil, err
		}
		in.VNICType = &s
	}
	if m, ok, err := a.Dict("binding:profile"); err != nil {
		return nil, err
	} else if ok {
		in.Profile = m
	}
	if b, ok, err := a.Bool("admin_state_up"); err != nil {
		return nil, err
	} else if ok {
		in.AdminStateUp = &b
	}
	if b, ok, err := a.Bool("port_security_enabled"); err != nil {
		return nil, err
	} else if ok {
		in.PortSecurity = &b
	}
	if a.Has("mac_address") {
		s, _, err := a.String("mac_address", 0)
		if err != nil || !ValidMAC(s) {
			return nil, apierr.InvalidAttr("mac_address", fmt.Sprintf("'%s' is not a valid MAC address", pyRepr(a["mac_address"])))
		}
		s = NormalizeMAC(s)
		if isMulticastMAC(s) || isInvalidMAC(s) {
			return nil, apierr.InvalidAttr("mac_address", fmt.Sprintf("'%s' is not a valid MAC address", s))
		}
		in.MACAddress = &s
	}
	if sgs, ok, err := a.UUIDList("security_groups"); err != nil {
		return nil, err
	} else if ok {
		in.SecurityGroups = &sgs
	}
	if a.Has("fixed_ips") {
		ips, err := parseFixedIPs(a["fixed_ips"])
		if err != nil {
			return nil, err
		}
		in.FixedIPs = &ips
	}
	if a.Has("allowed_address_pairs") {
		pairs, err := ParseAddressPairs(a["allowed_address_pairs"], maxPairs)
		if err != nil {
			return nil, err
		}
		in.AddressPairs = &pairs
	}
	if a.Has("extra_dhcp_opts") {
		var opts []any
		if !a.IsNull("extra_dhcp_opts") {
			if err := json.Unmarshal(a["extra_dhcp_opts"], &opts); err != nil {
				return nil, apierr.InvalidAttr("extra_dhcp_opts", fmt.Sprintf("'%s' is not a list", pyRepr(a["extra_dhcp_opts"])))
			}
			for _, o := range opts {
				m, ok := o.(map[string]any)
				if !ok {
					return nil, apierr.InvalidAttr("extra_dhcp_opts", "each option must be a dictionary")
				}
				if _, ok := m["opt_name"].(string); !ok {
					return nil, apierr.InvalidAttr("extra_dhcp_opts", "each option needs an opt_name")
				}
			}
		}
		if opts == nil {
			opts = []any{}
		}
		in.ExtraDHCPOpts = &opts
	}
	return in, nil
}

func isMulticastMAC(mac string) bool {
	var first byte
	fmt.Sscanf(mac[:2], "%02x", &first)
	return first&1 == 1
}

func parseFixedIPs(raw json.RawMessage) ([]FixedIPRequest, error) {
	if isNull(raw) {
		return []FixedIPRequest{}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, apierr.InvalidAttr("fixed_ips", fmt.Sprintf("Invalid data format for fixed IP: '%s'", pyRepr(raw)))
	}
	out := make([]FixedIPRequest, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		var entry Attrs
		if err := json.Unmarshal(it, &entry); err != nil || entry == nil {
			return nil, apierr.InvalidAttr("fixed_ips", fmt.Sprintf("Invalid data format for fixed IP: '%s'", pyRepr(it)))
		}
		if err := entry.CheckKnown(setOf("subnet_id", "ip_address")); err != nil {
			return nil, apierr.InvalidAttr("fixed_ips", strings.TrimSuffix(err.(*apierr.Error).Message, "."))
		}
		var f FixedIPRequest
		if entry.Has("subnet_id") {
			s, _, err := entry.UUID("subnet_id")
			if err != nil {
				return nil, apierr.InvalidAttr("fixed_ips", fmt.Sprintf("'%s' is not a valid UUID", pyRepr(entry["subnet_id"])))
			}
			f.SubnetID = s
		}
		if entry.Has("ip_address") {
			s, _, err := entry.String("ip_address", 0)
			addr, ok := ParseIP(s)
			if err != nil || !ok {
				return nil, apierr.InvalidAttr("fixed_ips", fmt.Sprintf("'%s' is not a valid IP address", pyRepr(entry["ip_address"])))
			}
			f.IPAddress = addr.String()
			if seen[f.IPAddress] {
				return nil, apierr.InvalidAttr("fixed_ips", fmt.Sprintf("Duplicate IP address '%s'", f.IPAddress))
			}
			seen[f.IPAddress] = true
		}
		if f.SubnetID == "" && f.IPAddress == "" {
			return nil, apierr.InvalidAttr("fixed_ips", "a fixed IP needs a subnet_id or an ip_address")
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseAddressPairs validates allowed_address_pairs in the order Neutron's
// _validate_allowed_address_pairs does (list, count, then per pair: dict,
// MAC, missing ip_address, duplicate, unknown keys, address), and
// additionally rejects multicast addresses, which can never be a source.
// A pair's MAC is kept exactly as sent; an absent MAC is left empty for
// the caller to fill with the port's own.
func ParseAddressPairs(raw json.RawMessage, maxPairs int) ([]AddressPair, error) {
	if isNull(raw) {
		return []AddressPair{}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, apierr.BadRequest("Allowed address pairs must be a list.")
	}
	if maxPairs >= 0 && len(items) > maxPairs {
		return nil, apierr.New(400, "AllowedAddressPairExhausted",
			"The number of allowed address pair exceeds the maximum %d.", maxPairs)
	}
	out := make([]AddressPair, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		var entry Attrs
		if err := json.Unmarshal(it, &entry); err != nil || entry == nil {
			return nil, apierr.InvalidAttr("allowed_address_pairs", fmt.Sprintf("'%s' is not a dictionary", pyRepr(it)))
		}
		var p AddressPair
		macKey := "None"
		if entry.Has("mac_address") {
			var mac string
			if jsonUnmarshal(entry["mac_address"], &mac) != nil || !ValidMAC(mac) || isInvalidMAC(mac) {
				return nil, apierr.BadRequest("'%s' is not a valid MAC address", pyRepr(entry["mac_address"]))
			}
			p.MACAddress = mac
			macKey = mac
		}
		if !entry.Has("ip_address") {
			return nil, apierr.New(400, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")
		}
		ipText := pyRepr(entry["ip_address"])
		key := macKey + " " + ipText
		if seen[key] {
			return nil, apierr.New(400, "DuplicateAddressPairInRequest",
				"Request contains duplicate address pair: mac_address %s ip_address %s.", macKey, ipText)
		}
		seen[key] = true
		var unknown []string
		for k := range entry {
			if k != "ip_address" && k != "mac_address" {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, apierr.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
		}
		var ip string
		if jsonUnmarshal(entry["ip_address"], &ip) != nil || isNull(entry["ip_address"]) {
			return nil, apierr.BadRequest("'%s' is not a valid IP address", ipText)
		}
		var prefix netip.Prefix
		var ok bool
		if strings.Contains(ip, "/") {
			if prefix, ok = ParseCIDR(ip); !ok {
				return nil, apierr.BadRequest("'%s' is not a valid IP subnet", ip)
			}
		} else if prefix, ok = ParseCIDR(ip); !ok {
			return nil, apierr.BadRequest("'%s' is not a valid IP address", ip)
		}
		if isMulticastPrefix(prefix) {
			return nil, apierr.BadRequest("'%s' is a multicast address and cannot be an allowed address pair", ip)
		}
		p.IPAddress = ip
		out = append(out, p)
	}
	return out, nil
}

// isInvalidMAC reports Neutron's INVALID_MAC_ADDRESSES (all zeros, all ones).
func isInvalidMAC(mac string) bool {
	m := NormalizeMAC(mac)
	return m == "00:00:00:00:00:00" || m == "ff:ff:ff:ff:ff:ff"
}

var (
	v4Multicast = netip.MustParsePrefix("224.0.0.0/4")
	v6Multicast = netip.MustParsePrefix("ff00::/8")
)

func isMulticastPrefix(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return p.Bits() >= 4 && v4Multicast.Contains(p.Addr())
	}
	return p.Bits() >= 8 && v6Multicast.Contains(p.Addr())
}

// checkAttrs follows Neutron's prepare_request_body: attributes the
// resource does not have at all are "Unrecognized attribute(s)"; then on
// create the read-only ones are "Attribute 'x' not allowed in POST", and
// on update the ones that cannot change are "Cannot update read-only
// attribute x".
func checkAttrs(a Attrs, create bool, creatable, updatable, readOnly map[string]bool) error {
	if err := a.CheckKnown(union(creatable, updatable, readOnly)); err != nil {
		return err
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if create && !creatable[k] {
			return apierr.BadRequest("Attribute '%s' not allowed in POST", k)
		}
		if !create && !updatable[k] {
			return apierr.BadRequest("Cannot update read-only attribute %s", k)
		}
	}
	return nil
}

func projectFromBody(a Attrs) (string, error) {
	p, okP, err := a.String("project_id", 255)
	if err != nil {
		return "", err
	}
	t, okT, err := a.String("tenant_id", 255)
	if err != nil {
		return "", err
	}
	if okP && okT && p != t {
		return "", apierr.BadRequest("'project_id' and 'tenant_id' do not match")
	}
	if okP {
		return p, nil
	}
	return t, nil
}

func union(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	return out
}
