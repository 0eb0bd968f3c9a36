package model

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// ProtocolNumbers maps every protocol name Neutron accepts in a rule to
// its IP protocol number.
var ProtocolNumbers = map[string]int{
	"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0,
	"icmp": 1, "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41,
	"ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
	"sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}

// protocolNamesForMessage is the list Neutron prints when it rejects one.
const protocolNamesForMessage = "[None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp']"

// Protocols that carry ports, and the two ICMPs whose "ports" are type/code.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoDCCP   = 33
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
	ProtoUDPLt  = 136
)

// ProtocolNumber returns the IP protocol number of a rule's protocol as
// stored (name or decimal), or -1 for "any" (nil or empty).
func ProtocolNumber(p *string) int {
	if p == nil || *p == "" {
		return -1
	}
	if n, ok := ProtocolNumbers[strings.ToLower(*p)]; ok {
		return n
	}
	n, err := strconv.Atoi(*p)
	if err != nil {
		return -1
	}
	return n
}

// HasPorts reports whether protocol number n carries port numbers.
func HasPorts(n int) bool {
	switch n {
	case ProtoTCP, ProtoUDP, ProtoDCCP, ProtoSCTP, ProtoUDPLt:
		return true
	}
	return false
}

func invalidProtocol(v string) error {
	return apierr.New(400, "SecurityGroupRuleInvalidProtocol",
		"Security group rule protocol %s not supported. Only protocol values %s and integer representations [0 to 255] are supported.",
		v, protocolNamesForMessage)
}

// convertProtocol validates a protocol as sent and returns what is stored:
// a lower-cased name, or the number as sent.
func convertProtocol(a Attrs) (*string, error) {
	raw, ok := a["protocol"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var s string
	if err := jsonUnmarshal(raw, &s); err != nil {
		n, err := toInt(raw)
		if err != nil {
			return nil, invalidProtocol(pyRepr(raw))
		}
		s = strconv.Itoa(n)
	}
	// Neutron 21's convert_protocol takes only null for "any": an empty
	// string is an unsupported protocol like any other.
	if _, ok := ProtocolNumbers[strings.ToLower(s)]; ok {
		l := strings.ToLower(s)
		return &l, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return nil, invalidProtocol(s)
	}
	return &s, nil
}

// convertPort validates a port_range_min/max value (0..65535 or null) as
// Neutron's convert_validate_port_value does.
func convertPort(a Attrs, name string) (*int, error) {
	raw, ok := a[name]
	if !ok || isNull(raw) {
		return nil, nil
	}
	v, err := toInt(raw)
	if err != nil || v < 0 || v > 65535 {
		return nil, invalidPortValue(pyRepr(raw))
	}
	return &v, nil
}

func invalidPortValue(v string) error {
	return apierr.New(400, "SecurityGroupInvalidPortValue", "Invalid value for port %s", v)
}

// RuleCreateAttrs are the attributes a rule-create body may hold.
var RuleCreateAttrs = setOf("security_group_id", "direction", "ethertype", "protocol",
	"port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id",
	"remote_address_group_id", "description", "tenant_id", "project_id")

var ruleReadOnly = setOf("id", "normalized_cidr", "created_at", "updated_at", "revision_number")

// ParseRuleCreate validates a rule-create body as far as it can without
// the store (Neutron's attribute checks and _validate_security_group_rule
// up to the existence checks) and returns the rule to insert. The project
// is filled in by the caller.
func ParseRuleCreate(a Attrs) (*SecurityGroupRule, error) {
	if err := checkAttrs(a, true, RuleCreateAttrs, nil, ruleReadOnly); err != nil {
		return nil, err
	}
	r := &SecurityGroupRule{Ethertype: "IPv4"}
	var err error
	var ok bool
	// Neutron checks these ids only by looking them up: any string is
	// taken here and an unknown one is the caller's 404.
	if r.SecurityGroupID, ok, err = a.String("security_group_id", 36); err != nil {
		return nil, err
	} else if !ok {
		return nil, apierr.BadRequest("Failed to parse request. Required attribute 'security_group_id' not specified")
	}
	if r.Direction, ok, err = a.OneOf("direction", "ingress", "egress"); err != nil {
		return nil, err
	} else if !ok {
		return nil, apierr.BadRequest("Failed to parse request. Required attribute 'direction' not specified")
	}
	if raw, ok := a["ethertype"]; ok {
		// convert_ethertype_to_case_insensitive; null is not a string.
		var s string
		_ = jsonUnmarshal(raw, &s)
		switch {
		case strings.EqualFold(s, "IPv4"):
			r.Ethertype = "IPv4"
		case strings.EqualFold(s, "IPv6"):
			r.Ethertype = "IPv6"
		default:
			return nil, apierr.New(400, "SecurityGroupRuleInvalidEtherType",
				"Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", pyRepr(raw))
		}
	}
	if r.Protocol, err = convertProtocol(a); err != nil {
		return nil, err
	}
	if r.PortRangeMin, err = convertPort(a, "port_range_min"); err != nil {
		return nil, err
	}
	if r.PortRangeMax, err = convertPort(a, "port_range_max"); err != nil {
		return nil, err
	}
	var prefix *string
	if prefix, _, err = a.NullableString("remote_ip_prefix", 0); err != nil {
		return nil, err
	}
	if prefix != nil && *prefix != "" {
		p, ok := ParseCIDR(*prefix)
		if !ok {
			return nil, apierr.New(400, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", *prefix)
		}
		stored := *prefix
		if !strings.Contains(stored, "/") {
			stored = p.String()
		}
		norm := p.Masked().String()
		r.RemoteIPPrefix, r.NormalizedCIDR = &stored, &norm
	}
	if r.RemoteGroupID, _, err = a.NullableString("remote_group_id", 0); err != nil {
		return nil, err
	}
	if r.RemoteAddressGroupID, _, err = a.NullableString("remote_address_group_id", 0); err != nil {
		return nil, err
	}
	if r.RemoteGroupID != nil && *r.RemoteGroupID == "" {
		r.RemoteGroupID = nil
	}
	if r.RemoteAddressGroupID != nil && *r.RemoteAddressGroupID == "" {
		r.RemoteAddressGroupID = nil
	}
	desc, ok, err := a.NullableString("description", 255)
	if err != nil {
		return nil, err
	}
	if !ok {
		empty := ""
		desc = &empty
	}
	r.Description = desc

	// Neutron stores an IPv6 "icmp" rule as the canonical ipv6-icmp, and
	// protocol number 1 as 58 (_make_canonical_ipv6_icmp_protocol).
	if r.Ethertype == "IPv6" && r.Protocol != nil {
		switch *r.Protocol {
		case "icmp", "icmpv6":
			canon := "ipv6-icmp"
			r.Protocol = &canon
		case "1":
			canon := "58"
			r.Protocol = &canon
		}
	}
	// The entire port range 1-65535 is stored as no range at all
	// (_make_canonical_port_range).
	if r.PortRangeMin != nil && r.PortRangeMax != nil && *r.PortRangeMin == 1 && *r.PortRangeMax == 65535 {
		r.PortRangeMin, r.PortRangeMax = nil, nil
	}
	if err := validatePortRange(r); err != nil {
		return nil, err
	}
	if r.NormalizedCIDR != nil {
		p, _ := netip.ParsePrefix(*r.NormalizedCIDR)
		if (r.Ethertype == "IPv4") != p.Addr().Is4() {
			return nil, apierr.New(400, "SecurityGroupRuleParameterConflict",
				"Conflicting value ethertype %s for CIDR %s", r.Ethertype, *r.RemoteIPPrefix)
		}
	}
	if n := ProtocolNumber(r.Protocol); r.Ethertype == "IPv4" && (n == ProtoICMPv6 || n == 41 || n == 43 || n == 44 || n == 59 || n == 60) {
		return nil, apierr.New(400, "SecurityGroupEthertypeConflictWithProtocol",
			"Invalid ethertype %s for protocol %s.", r.Ethertype, *r.Protocol)
	}
	remotes := 0
	for _, set := range []bool{r.RemoteIPPrefix != nil, r.RemoteGroupID != nil, r.RemoteAddressGroupID != nil} {
		if set {
			remotes++
		}
	}
	if remotes > 1 {
		return nil, apierr.New(400, "SecurityGroupMultipleRemoteEntites",
			"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	return r, nil
}

func validatePortRange(r *SecurityGroupRule) error {
	lo, hi := r.PortRangeMin, r.PortRangeMax
	if lo == nil && hi == nil {
		return nil
	}
	if r.Protocol == nil {
		return apierr.New(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	}
	n := ProtocolNumber(r.Protocol)
	switch {
	case HasPorts(n):
		if (lo != nil && *lo == 0) || (hi != nil && *hi == 0) {
			return invalidPortValue("0")
		}
		if lo != nil && hi != nil && *lo <= *hi {
			return nil
		}
		return apierr.New(400, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
	case n == ProtoICMP || n == ProtoICMPv6:
		if lo != nil && (*lo < 0 || *lo > 255) {
			return apierr.New(400, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP type (port_range_min) %d. It must be 0 to 255.", *lo)
		}
		if hi != nil && (*hi < 0 || *hi > 255) {
			return apierr.New(400, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP code (port_range_max) %d. It must be 0 to 255.", *hi)
		}
		if lo == nil && hi != nil {
			return apierr.New(400, "SecurityGroupMissingIcmpType", "ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *hi)
		}
		return nil
	default:
		return apierr.New(400, "SecurityGroupInvalidProtocolForPort",
			"Ports cannot be specified for protocol %d. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.", n)
	}
}

// RuleFingerprint identifies a rule for duplicate detection: protocols by
// number (so "vrrp" equals "112"), prefixes by network, "anywhere"
// prefixes equal to none.
func RuleFingerprint(r *SecurityGroupRule) string {
	proto := ProtocolNumber(r.Protocol)
	prefix := ""
	if r.NormalizedCIDR != nil && *r.NormalizedCIDR != "0.0.0.0/0" && *r.NormalizedCIDR != "::/0" {
		prefix = *r.NormalizedCIDR
	}
	return fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s", r.Direction, r.Ethertype, proto,
		intOrEmpty(r.PortRangeMin), intOrEmpty(r.PortRangeMax), prefix,
		strOrEmpty(r.RemoteGroupID), strOrEmpty(r.RemoteAddressGroupID))
}

func intOrEmpty(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func strOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
