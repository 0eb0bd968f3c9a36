package model_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// recordedProtocolList is copied from Neutron 21's answer to protocol "foo"
// (reference transcript step 47).
const recordedProtocolList = "[None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp']"

func invalidProtocol(p string) wantErr {
	return typed(400, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol "+p+
		" not supported. Only protocol values "+recordedProtocolList+" and integer representations [0 to 255] are supported.")
}

// rule builds a rule-create body for group sgID with extra attributes.
func rule(extra string) string {
	body := `{"security_group_id": "` + sgID + `", "direction": "ingress"`
	if extra != "" {
		body += ", " + extra
	}
	return body + "}"
}

// protocolNames lists the names in Neutron's message, which must be
// exactly the names the model accepts.
func protocolNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range regexp.MustCompile(`'([a-z0-9-]+)'`).FindAllStringSubmatch(recordedProtocolList, -1) {
		names = append(names, m[1])
	}
	if len(names) != 25 {
		t.Fatalf("parsed %d names from the recorded list", len(names))
	}
	return names
}

func TestProtocolNamesMatchNeutron(t *testing.T) {
	names := protocolNames(t)
	if len(model.ProtocolNumbers) != len(names) {
		t.Errorf("model knows %d protocol names, Neutron %d", len(model.ProtocolNumbers), len(names))
	}
	for _, n := range names {
		if _, ok := model.ProtocolNumbers[n]; !ok {
			t.Errorf("protocol %q accepted by Neutron is unknown to the model", n)
		}
	}
	// IANA numbers of the names (neutron_lib.constants.IP_PROTOCOL_MAP).
	want := map[string]int{"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
		"igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
		"ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
		"sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112}
	for n, num := range want {
		if got := model.ProtocolNumbers[n]; got != num {
			t.Errorf("ProtocolNumbers[%q] = %d, want %d", n, got, num)
		}
	}
}

// ipv6Only are the protocols Neutron refuses with ethertype IPv4.
var ipv6Only = map[int]bool{41: true, 43: true, 44: true, 58: true, 59: true, 60: true}

func TestRuleEveryProtocolNameAccepted(t *testing.T) {
	for _, name := range protocolNames(t) {
		for _, spelled := range []string{name, strings.ToUpper(name)} {
			eth := "IPv4"
			if ipv6Only[model.ProtocolNumbers[name]] {
				eth = "IPv6"
			}
			r, err := model.ParseRuleCreate(attrs(t, rule(fmt.Sprintf(`"ethertype": %q, "protocol": %q`, eth, spelled))))
			if err != nil {
				t.Fatalf("protocol %q (%s): %v", spelled, eth, err)
			}
			want := name // stored lower-cased, as Neutron's convert_protocol does
			if eth == "IPv6" && (name == "icmpv6") {
				want = "ipv6-icmp"
			}
			if deref(r.Protocol) != want {
				t.Errorf("protocol %q stored as %q, want %q", spelled, deref(r.Protocol), want)
			}
			if got := model.ProtocolNumber(r.Protocol); got != model.ProtocolNumbers[name] {
				t.Errorf("ProtocolNumber(%q) = %d", deref(r.Protocol), got)
			}
		}
	}
}

func TestRuleProtocolNumbersKeptAsSent(t *testing.T) {
	for n := 0; n <= 255; n++ {
		eth := "IPv4"
		if ipv6Only[n] {
			eth = "IPv6"
		}
		for _, spelled := range []string{strconv.Quote(strconv.Itoa(n)), strconv.Itoa(n)} {
			r, err := model.ParseRuleCreate(attrs(t, rule(fmt.Sprintf(`"ethertype": %q, "protocol": %s`, eth, spelled))))
			if err != nil {
				t.Fatalf("protocol %s: %v", spelled, err)
			}
			if deref(r.Protocol) != strconv.Itoa(n) {
				t.Errorf("protocol %s stored as %q", spelled, deref(r.Protocol))
			}
			if model.ProtocolNumber(r.Protocol) != n {
				t.Errorf("ProtocolNumber(%q) = %d", deref(r.Protocol), model.ProtocolNumber(r.Protocol))
			}
		}
	}
}

func TestRuleProtocolInvalid(t *testing.T) {
	for _, tc := range []struct{ proto, shown string }{
		{`"foo"`, "foo"}, // step 47
		{`"256"`, "256"}, // step 49
		{`256`, "256"},
		{`"-1"`, "-1"},
		{`-1`, "-1"},
		{`"1000"`, "1000"},
		{`"tcp6"`, "tcp6"},
		{`"1.5"`, "1.5"},
		{`"any"`, "any"}, // Neutron 21 has no 'any' alias yet
		{`""`, ""},       // nor takes "" for none
		{`[]`, "[]"},
		{`{}`, "{}"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			_, err := model.ParseRuleCreate(attrs(t, rule(`"protocol": `+tc.proto)))
			check(t, err, invalidProtocol(tc.shown))
		})
	}
}

func TestRuleProtocolAbsentMeansAny(t *testing.T) {
	for _, body := range []string{rule(""), rule(`"protocol": null`)} {
		r, err := model.ParseRuleCreate(attrs(t, body))
		check(t, err, wantErr{})
		if r.Protocol != nil || model.ProtocolNumber(r.Protocol) != -1 {
			t.Errorf("%s: protocol %q, number %d", body, deref(r.Protocol), model.ProtocolNumber(r.Protocol))
		}
	}
}

func TestRuleValidation(t *testing.T) {
	conflictV4 := func(p string) wantErr {
		return typed(400, "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype IPv4 for protocol "+p+".")
	}
	invalidPortValue := func(p string) wantErr {
		return typed(400, "SecurityGroupInvalidPortValue", "Invalid value for port "+p)
	}
	portRange := typed(400, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
	noPortsFor := func(n int) wantErr {
		return typed(400, "SecurityGroupInvalidProtocolForPort",
			fmt.Sprintf("Ports cannot be specified for protocol %d. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.", n))
	}
	multiRemote := typed(400, "SecurityGroupMultipleRemoteEntites",
		"Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	for _, tc := range []struct {
		name string
		body string
		want wantErr
	}{
		// Recorded in the reference transcript (steps 50-59, 76).
		{"cidr /33", rule(`"ethertype": "IPv4", "remote_ip_prefix": "10.0.0.0/33"`), typed(400, "InvalidCIDR", "Invalid CIDR 10.0.0.0/33 given as IP prefix.")},
		{"cidr 300.1.1.0", rule(`"remote_ip_prefix": "300.1.1.0/24"`), typed(400, "InvalidCIDR", "Invalid CIDR 300.1.1.0/24 given as IP prefix.")},
		{"cidr garbage", rule(`"remote_ip_prefix": "nope"`), typed(400, "InvalidCIDR", "Invalid CIDR nope given as IP prefix.")},
		{"ipv4 with v6 cidr", rule(`"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"`), typed(400, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4 for CIDR 2001:db8::/64")},
		{"ipv6 with v4 cidr", rule(`"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"`), typed(400, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8")},
		{"default ethertype with v6 cidr", rule(`"remote_ip_prefix": "::/0"`), typed(400, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4 for CIDR ::/0")},
		{"tcp 200..100 (strings)", rule(`"ethertype": "IPv4", "protocol": "tcp", "port_range_min": "200", "port_range_max": "100"`), portRange},
		{"ports without protocol", rule(`"port_range_min": 80, "port_range_max": 80`), typed(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")},
		{"only max without protocol", rule(`"port_range_max": 80`), typed(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")},
		{"ports with vrrp", rule(`"protocol": "vrrp", "port_range_min": 1, "port_range_max": 2`), noPortsFor(112)},
		{"ports with 112", rule(`"protocol": "112", "port_range_min": 5`), noPortsFor(112)},
		{"ports with gre", rule(`"protocol": "gre", "port_range_max": 5`), noPortsFor(47)},
		{"icmp type 256", rule(`"protocol": "icmp", "port_range_min": 256`), typed(400, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255.")},
		{"icmp code 256", rule(`"protocol": "icmp", "port_range_min": 8, "port_range_max": 256`), typed(400, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255.")},
		{"icmp code without type", rule(`"protocol": "icmp", "port_range_max": 0`), typed(400, "SecurityGroupMissingIcmpType", "ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing.")},
		{"ipv6-icmp type 300", rule(`"ethertype": "IPv6", "protocol": "ipv6-icmp", "port_range_min": 300`), typed(400, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.")},
		{"group and prefix", rule(`"remote_group_id": "` + sgID + `", "remote_ip_prefix": "10.0.0.0/8"`), multiRemote},
		{"group and address group", rule(`"remote_group_id": "` + sgID + `", "remote_address_group_id": "` + agID + `"`), multiRemote},
		{"prefix and address group", rule(`"remote_ip_prefix": "10.0.0.0/8", "remote_address_group_id": "` + agID + `"`), multiRemote},
		{"all three remotes", rule(`"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "` + sgID + `", "remote_address_group_id": "` + agID + `"`), multiRemote},
		{"direction sideways", `{"security_group_id": "` + sgID + `", "direction": "sideways"}`, invalidAttr("direction", "sideways is not in valid_values")},
		{"direction missing", `{"security_group_id": "` + sgID + `"}`, bad("Failed to parse request. Required attribute 'direction' not specified")},
		{"group missing", `{"direction": "ingress"}`, bad("Failed to parse request. Required attribute 'security_group_id' not specified")},
		{"unknown attribute", rule(`"foo": "bar"`), bad("Unrecognized attribute(s) 'foo'")},
		{"two unknown attributes", rule(`"zz": 1, "foo": "bar"`), bad("Unrecognized attribute(s) 'foo, zz'")},
		{"read-only id", rule(`"id": "` + sgID + `"`), bad("Attribute 'id' not allowed in POST")},
		{"read-only normalized_cidr", rule(`"normalized_cidr": "10.0.0.0/8"`), bad("Attribute 'normalized_cidr' not allowed in POST")},
		// Ethertype (convert_ethertype_to_case_insensitive).
		{"ethertype IPv5", rule(`"ethertype": "IPv5"`), typed(400, "SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6'].")},
		{"ethertype null", rule(`"ethertype": null`), typed(400, "SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype 'None' not supported. Allowed values are ['IPv4', 'IPv6'].")},
		{"ethertype number", rule(`"ethertype": 4`), typed(400, "SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype '4' not supported. Allowed values are ['IPv4', 'IPv6'].")},
		// Port values (convert_validate_port_value) and port protocols.
		{"port 65536", rule(`"protocol": "tcp", "port_range_min": 65536, "port_range_max": 65536`), invalidPortValue("65536")},
		{"port -1", rule(`"protocol": "tcp", "port_range_min": -1`), invalidPortValue("-1")},
		{"port abc", rule(`"protocol": "tcp", "port_range_min": "abc"`), invalidPortValue("abc")},
		{"port list", rule(`"protocol": "tcp", "port_range_max": [1]`), invalidPortValue("[1]")},
		{"tcp port 0", rule(`"protocol": "tcp", "port_range_min": 0, "port_range_max": 10`), invalidPortValue("0")},
		{"udp max 0", rule(`"protocol": "udp", "port_range_min": 1, "port_range_max": 0`), invalidPortValue("0")},
		{"tcp only min", rule(`"protocol": "tcp", "port_range_min": 22`), portRange},
		{"tcp only max", rule(`"protocol": "tcp", "port_range_max": 22`), portRange},
		{"sctp 10..9", rule(`"protocol": "sctp", "port_range_min": 10, "port_range_max": 9`), portRange},
		// Protocols that exist only for IPv6.
		{"ipv6-icmp with IPv4", rule(`"protocol": "ipv6-icmp"`), conflictV4("ipv6-icmp")},
		{"icmpv6 with IPv4", rule(`"ethertype": "IPv4", "protocol": "icmpv6"`), conflictV4("icmpv6")},
		{"58 with IPv4", rule(`"protocol": "58"`), conflictV4("58")},
		{"ipv6-encap with IPv4", rule(`"protocol": "ipv6-encap"`), conflictV4("ipv6-encap")},
		{"41 with IPv4", rule(`"protocol": 41`), conflictV4("41")},
		{"ipv6-frag with IPv4", rule(`"protocol": "ipv6-frag"`), conflictV4("ipv6-frag")},
		{"ipv6-route with IPv4", rule(`"protocol": "43"`), conflictV4("43")},
		{"ipv6-nonxt with IPv4", rule(`"protocol": "ipv6-nonxt"`), conflictV4("ipv6-nonxt")},
		{"ipv6-opts with IPv4", rule(`"protocol": "60"`), conflictV4("60")},
		// Other attribute types.
		// Group ids are only strings to Neutron (an unknown one is a 404 later).
		{"group not a string", `{"security_group_id": 5, "direction": "ingress"}`, invalidAttr("security_group_id", "'5' is not a valid string")},
		{"group too long", `{"security_group_id": "` + sgID + `x", "direction": "ingress"}`, invalidAttr("security_group_id", "'"+sgID+"x' exceeds maximum length of 36")},
		{"group null", `{"security_group_id": null, "direction": "ingress"}`, invalidAttr("security_group_id", "'None' is not a valid string")},
		{"remote group not a string", rule(`"remote_group_id": 5`), invalidAttr("remote_group_id", "'5' is not a valid string")},
		{"remote address group not a string", rule(`"remote_address_group_id": []`), invalidAttr("remote_address_group_id", "'[]' is not a valid string")},
		{"group not a uuid", `{"security_group_id": "default", "direction": "ingress"}`, wantErr{}},
		{"remote group not a uuid", rule(`"remote_group_id": "abc"`), wantErr{}},
		{"empty remote group is none", rule(`"remote_group_id": "", "remote_address_group_id": "", "remote_ip_prefix": "10.0.0.0/8"`), wantErr{}},
		{"prefix not a string", rule(`"remote_ip_prefix": 10`), invalidAttr("remote_ip_prefix", "'10' is not a valid string")},
		{"description too long", rule(`"description": "` + strings.Repeat("d", 256) + `"`), invalidAttr("description", "'"+strings.Repeat("d", 256)+"' exceeds maximum length of 255")},
		// Accepted.
		{"tcp 22", rule(`"protocol": "tcp", "port_range_min": "22", "port_range_max": "22"`), wantErr{}},
		{"udp 1..65535", rule(`"protocol": "udp", "port_range_min": 1, "port_range_max": 65535`), wantErr{}},
		{"icmp type only", rule(`"protocol": "icmp", "port_range_min": 8`), wantErr{}},
		{"icmp type and code 0", rule(`"protocol": "icmp", "port_range_min": 0, "port_range_max": 0`), wantErr{}},
		{"icmp 255/255", rule(`"protocol": "1", "port_range_min": 255, "port_range_max": 255`), wantErr{}},
		{"remote group alone", rule(`"remote_group_id": "` + sgID + `"`), wantErr{}},
		{"remote address group alone", rule(`"remote_address_group_id": "` + agID + `"`), wantErr{}},
		{"null remotes", rule(`"remote_ip_prefix": null, "remote_group_id": null, "remote_address_group_id": null`), wantErr{}},
		{"empty prefix is none", rule(`"remote_ip_prefix": "", "remote_group_id": "` + sgID + `"`), wantErr{}},
		{"ethertype lower case", rule(`"ethertype": "ipv6", "remote_ip_prefix": "::/0"`), wantErr{}},
		{"egress", `{"security_group_id": "` + sgID + `", "direction": "egress"}`, wantErr{}},
		{"32-hex group id", `{"security_group_id": "68cc7ec89aab4295ae6d7d60c32757ea", "direction": "egress"}`, wantErr{}},
		{"project and tenant", rule(`"project_id": "p1", "tenant_id": "p1", "description": null`), wantErr{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := model.ParseRuleCreate(attrs(t, tc.body))
			check(t, err, tc.want)
			if tc.want.ok() && r == nil {
				t.Fatal("nil rule without error")
			}
		})
	}
}

func TestRuleStoredForm(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		body                       string
		ethertype, proto           string
		min, max                   string
		prefix, normalized, remote string
		description                string
	}{
		{"defaults", rule(""), "IPv4", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"vrrp as sent", rule(`"protocol": "vrrp"`), "IPv4", "vrrp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"112 as sent", rule(`"protocol": "112"`), "IPv4", "112", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"TCP lower-cased", rule(`"protocol": "TCP", "port_range_min": 22, "port_range_max": "22"`), "IPv4", "tcp", "22", "22", "<nil>", "<nil>", "<nil>", ""},
		// Step 52: host bits kept in remote_ip_prefix, network in normalized_cidr.
		{"host bits kept", rule(`"protocol": "udp", "remote_ip_prefix": "10.0.0.5/24"`), "IPv4", "udp", "<nil>", "<nil>", "10.0.0.5/24", "10.0.0.0/24", "<nil>", ""},
		{"bare address gets /32", rule(`"remote_ip_prefix": "10.1.2.3"`), "IPv4", "<nil>", "<nil>", "<nil>", "10.1.2.3/32", "10.1.2.3/32", "<nil>", ""},
		{"bare v6 address gets /128", rule(`"ethertype": "IPv6", "remote_ip_prefix": "2001:db8::1"`), "IPv6", "<nil>", "<nil>", "<nil>", "2001:db8::1/128", "2001:db8::1/128", "<nil>", ""},
		{"v6 host bits", rule(`"ethertype": "IPv6", "remote_ip_prefix": "2001:db8::5/64"`), "IPv6", "<nil>", "<nil>", "<nil>", "2001:db8::5/64", "2001:db8::/64", "<nil>", ""},
		{"anywhere v4", rule(`"remote_ip_prefix": "0.0.0.0/0"`), "IPv4", "<nil>", "<nil>", "<nil>", "0.0.0.0/0", "0.0.0.0/0", "<nil>", ""},
		{"anywhere v6 (step 12)", rule(`"ethertype": "IPv6", "protocol": "vrrp", "remote_ip_prefix": "::/0"`), "IPv6", "vrrp", "<nil>", "<nil>", "::/0", "::/0", "<nil>", ""},
		// IPv6 ICMP canonicalisation (_make_canonical_ipv6_icmp_protocol).
		{"v6 icmp", rule(`"ethertype": "IPv6", "protocol": "icmp"`), "IPv6", "ipv6-icmp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"v6 ICMPV6", rule(`"ethertype": "IPv6", "protocol": "ICMPV6"`), "IPv6", "ipv6-icmp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"v6 protocol 1", rule(`"ethertype": "IPv6", "protocol": "1", "port_range_min": 128`), "IPv6", "58", "128", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"v6 58 unchanged", rule(`"ethertype": "IPv6", "protocol": 58`), "IPv6", "58", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"v4 icmp unchanged", rule(`"protocol": "icmp"`), "IPv4", "icmp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		// The whole port range is no range (_make_canonical_port_range).
		{"1-65535 is any port", rule(`"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535`), "IPv4", "tcp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"1-65535 on vrrp", rule(`"protocol": "vrrp", "port_range_min": "1", "port_range_max": "65535"`), "IPv4", "vrrp", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", ""},
		{"2-65535 kept", rule(`"protocol": "tcp", "port_range_min": 2, "port_range_max": 65535`), "IPv4", "tcp", "2", "65535", "<nil>", "<nil>", "<nil>", ""},
		{"icmp type/code", rule(`"protocol": "icmp", "port_range_min": 8, "port_range_max": 0`), "IPv4", "icmp", "8", "0", "<nil>", "<nil>", "<nil>", ""},
		{"remote group", rule(`"remote_group_id": "` + sg2ID + `"`), "IPv4", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", sg2ID, ""},
		{"description", rule(`"description": "ha"`), "IPv4", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "ha"},
		{"null description", rule(`"description": null`), "IPv4", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := model.ParseRuleCreate(attrs(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{r.Ethertype, deref(r.Protocol), derefInt(r.PortRangeMin), derefInt(r.PortRangeMax),
				deref(r.RemoteIPPrefix), deref(r.NormalizedCIDR), deref(r.RemoteGroupID), deref(r.Description)}
			want := []string{tc.ethertype, tc.proto, tc.min, tc.max, tc.prefix, tc.normalized, tc.remote, tc.description}
			if strings.Join(got, " | ") != strings.Join(want, " | ") {
				t.Errorf("\ngot  %v\nwant %v", got, want)
			}
			if r.SecurityGroupID != sgID || r.Direction != "ingress" {
				t.Errorf("group %q direction %q", r.SecurityGroupID, r.Direction)
			}
		})
	}
}

func TestRuleFingerprint(t *testing.T) {
	fp := func(body string) string {
		t.Helper()
		r, err := model.ParseRuleCreate(attrs(t, rule(body)))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return model.RuleFingerprint(r)
	}
	for _, tc := range []struct {
		a, b  string
		equal bool
	}{
		// Duplicates in Neutron (steps 8, 9, 13, 66, 67).
		{`"protocol": "112"`, `"protocol": "vrrp"`, true},
		{`"protocol": "vrrp"`, `"protocol": "VRRP"`, true},
		{`"protocol": "tcp", "port_range_min": 22, "port_range_max": 22`, `"protocol": "6", "port_range_min": "22", "port_range_max": "22"`, true},
		{`"ethertype": "IPv6", "protocol": "vrrp", "remote_ip_prefix": "::/0"`, `"ethertype": "IPv6", "protocol": "112", "remote_ip_prefix": "::/0"`, true},
		{`"ethertype": "IPv6", "protocol": "vrrp"`, `"ethertype": "IPv6", "protocol": "112", "remote_ip_prefix": "::/0"`, true},
		{`"protocol": "icmp"`, `"protocol": "1"`, true},
		{`"protocol": "udp"`, `"protocol": 17`, true},
		{`"protocol": "ip"`, `"protocol": "hopopt"`, true},
		{`"protocol": "0"`, `"protocol": "ip"`, true},
		{``, `"remote_ip_prefix": "0.0.0.0/0"`, true},
		{`"ethertype": "IPv6"`, `"ethertype": "IPv6", "remote_ip_prefix": "::/0"`, true},
		{`"ethertype": "IPv6", "protocol": "icmpv6"`, `"ethertype": "IPv6", "protocol": "58"`, true},
		{`"ethertype": "IPv6", "protocol": "icmp"`, `"ethertype": "IPv6", "protocol": "ipv6-icmp"`, true},
		{`"ethertype": "IPv6", "protocol": "1"`, `"ethertype": "IPv6", "protocol": "ipv6-icmp"`, true},
		{`"protocol": "tcp"`, `"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535`, true},
		{`"remote_ip_prefix": "10.0.0.1"`, `"remote_ip_prefix": "10.0.0.1/32"`, true},
		{`"ethertype": "ipv4"`, `"ethertype": "IPv4"`, true},
		{`"description": "a"`, `"description": "b"`, true},
		// Different rules.
		{`"protocol": "tcp"`, `"protocol": "udp"`, false},
		{``, `"protocol": "0"`, false},
		{`"protocol": "vrrp"`, `"protocol": "113"`, false},
		{`"protocol": "tcp", "port_range_min": 22, "port_range_max": 22`, `"protocol": "tcp", "port_range_min": 22, "port_range_max": 23`, false},
		{`"protocol": "tcp", "port_range_min": 22, "port_range_max": 23`, `"protocol": "tcp", "port_range_min": 2, "port_range_max": 223`, false},
		{`"protocol": "icmp", "port_range_min": 8`, `"protocol": "icmp", "port_range_min": 8, "port_range_max": 0`, false},
		{``, `"ethertype": "IPv6"`, false},
		{``, `"remote_ip_prefix": "10.0.0.0/8"`, false},
		{`"remote_ip_prefix": "10.0.0.0/8"`, `"remote_ip_prefix": "10.0.0.0/16"`, false},
		{``, `"remote_group_id": "` + sgID + `"`, false},
		{`"remote_group_id": "` + sgID + `"`, `"remote_group_id": "` + sg2ID + `"`, false},
		{``, `"remote_address_group_id": "` + agID + `"`, false},
		{`"remote_group_id": "` + agID + `"`, `"remote_address_group_id": "` + agID + `"`, false},
	} {
		a, b := fp(tc.a), fp(tc.b)
		if (a == b) != tc.equal {
			t.Errorf("{%s} vs {%s}: fingerprints %q and %q, want equal=%v", tc.a, tc.b, a, b, tc.equal)
		}
	}
	// Direction is part of the rule.
	in, _ := model.ParseRuleCreate(attrs(t, rule(`"protocol": "vrrp"`)))
	out, _ := model.ParseRuleCreate(attrs(t, `{"security_group_id": "`+sgID+`", "direction": "egress", "protocol": "112"}`))
	if model.RuleFingerprint(in) == model.RuleFingerprint(out) {
		t.Error("ingress and egress vrrp share a fingerprint")
	}
}

func TestProtocolNumber(t *testing.T) {
	for _, tc := range []struct {
		p    *string
		want int
	}{
		{nil, -1}, {strp(""), -1}, {strp("vrrp"), 112}, {strp("VRRP"), 112}, {strp("112"), 112},
		{strp("tcp"), 6}, {strp("6"), 6}, {strp("icmpv6"), 58}, {strp("ipv6-icmp"), 58}, {strp("0"), 0},
		{strp("255"), 255}, {strp("bogus"), -1},
	} {
		if got := model.ProtocolNumber(tc.p); got != tc.want {
			t.Errorf("ProtocolNumber(%s) = %d, want %d", deref(tc.p), got, tc.want)
		}
	}
	for n, want := range map[int]bool{6: true, 17: true, 33: true, 132: true, 136: true, 1: false, 58: false, 112: false, -1: false, 0: false} {
		if model.HasPorts(n) != want {
			t.Errorf("HasPorts(%d) = %v", n, !want)
		}
	}
}
