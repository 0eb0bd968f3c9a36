package model_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// pairs runs ParseAddressPairs with Neutron's default maximum of 10.
func pairs(t *testing.T, raw string) ([]model.AddressPair, error) {
	t.Helper()
	return model.ParseAddressPairs(json.RawMessage(raw), 10)
}

func TestAddressPairErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want wantErr
	}{
		// Recorded in the reference transcript (steps 68-73).
		{"invalid ip", `[{"ip_address": "172.16.200.999"}]`, bad("'172.16.200.999' is not a valid IP address")},
		{"missing ip", `[{"mac_address": "fa:16:3e:00:00:01"}]`, typed(400, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")},
		{"same pair twice", `[{"ip_address": "172.16.200.251"}, {"ip_address": "172.16.200.251"}]`, typed(400, "DuplicateAddressPairInRequest", "Request contains duplicate address pair: mac_address None ip_address 172.16.200.251.")},
		{"bad mac", `[{"ip_address": "172.16.200.251", "mac_address": "zz:16:3e:00:00:01"}]`, bad("'zz:16:3e:00:00:01' is not a valid MAC address")},
		{"unknown key", `[{"ip_address": "172.16.200.251", "foo": 1}]`, bad("Unrecognized attribute(s) 'foo'")},
		{"a dict, not a list", `{"ip_address": "172.16.200.251"}`, bad("Allowed address pairs must be a list.")},
		// Neutron's other rules (neutron_lib validators.allowedaddresspairs).
		{"a string, not a list", `"172.16.200.251"`, bad("Allowed address pairs must be a list.")},
		{"same pair with mac twice", `[{"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:00:00:01"}, {"mac_address": "fa:16:3e:00:00:01", "ip_address": "10.0.0.1"}]`,
			typed(400, "DuplicateAddressPairInRequest", "Request contains duplicate address pair: mac_address fa:16:3e:00:00:01 ip_address 10.0.0.1.")},
		{"pair not a dict", `["172.16.200.251"]`, invalidAttr("allowed_address_pairs", "'172.16.200.251' is not a dictionary")},
		{"pair null", `[null]`, invalidAttr("allowed_address_pairs", "'None' is not a dictionary")},
		{"mac checked before missing ip", `[{"mac_address": "nope"}]`, bad("'nope' is not a valid MAC address")},
		{"missing ip before unknown key", `[{"foo": 1}]`, typed(400, "AllowedAddressPairsMissingIP", "AllowedAddressPair must contain ip_address")},
		{"null mac", `[{"ip_address": "10.0.0.1", "mac_address": null}]`, bad("'None' is not a valid MAC address")},
		{"zero mac", `[{"ip_address": "10.0.0.1", "mac_address": "00:00:00:00:00:00"}]`, bad("'00:00:00:00:00:00' is not a valid MAC address")},
		{"broadcast mac", `[{"ip_address": "10.0.0.1", "mac_address": "FF:FF:FF:FF:FF:FF"}]`, bad("'FF:FF:FF:FF:FF:FF' is not a valid MAC address")},
		{"short mac", `[{"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:00:00"}]`, bad("'fa:16:3e:00:00' is not a valid MAC address")},
		{"numeric mac", `[{"ip_address": "10.0.0.1", "mac_address": 5}]`, bad("'5' is not a valid MAC address")},
		{"null ip", `[{"ip_address": null}]`, bad("'None' is not a valid IP address")},
		{"numeric ip", `[{"ip_address": 10}]`, bad("'10' is not a valid IP address")},
		{"empty ip", `[{"ip_address": ""}]`, bad("'' is not a valid IP address")},
		{"bad cidr", `[{"ip_address": "172.16.200.0/33"}]`, bad("'172.16.200.0/33' is not a valid IP subnet")},
		{"bad v6 cidr", `[{"ip_address": "2001:db8::/129"}]`, bad("'2001:db8::/129' is not a valid IP subnet")},
		{"zoned v6", `[{"ip_address": "fe80::1%eth0"}]`, bad("'fe80::1%eth0' is not a valid IP address")},
		// Multicast can never be a source address.
		{"v4 multicast", `[{"ip_address": "224.0.0.18"}]`, bad("'224.0.0.18' is a multicast address and cannot be an allowed address pair")},
		{"v4 multicast cidr", `[{"ip_address": "239.1.0.0/16"}]`, bad("'239.1.0.0/16' is a multicast address and cannot be an allowed address pair")},
		{"v6 multicast", `[{"ip_address": "ff02::12"}]`, bad("'ff02::12' is a multicast address and cannot be an allowed address pair")},
		{"v6 multicast cidr", `[{"ip_address": "ff00::/8"}]`, bad("'ff00::/8' is a multicast address and cannot be an allowed address pair")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pairs(t, tc.raw)
			check(t, err, tc.want)
		})
	}
}

func TestAddressPairsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want []model.AddressPair
	}{
		{"ip only (step 19): mac left for the port's own", `[{"ip_address": "172.16.200.251"}]`, []model.AddressPair{{IPAddress: "172.16.200.251"}}},
		{"mac as sent, case kept (step 74)", `[{"ip_address": "172.16.200.0/24"}, {"ip_address": "10.1.1.1", "mac_address": "FA:16:3E:AA:BB:CC"}]`,
			[]model.AddressPair{{IPAddress: "172.16.200.0/24"}, {MACAddress: "FA:16:3E:AA:BB:CC", IPAddress: "10.1.1.1"}}},
		{"same ip, different macs", `[{"ip_address": "10.0.0.1"}, {"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:00:00:01"}]`,
			[]model.AddressPair{{IPAddress: "10.0.0.1"}, {MACAddress: "fa:16:3e:00:00:01", IPAddress: "10.0.0.1"}}},
		{"dash mac", `[{"ip_address": "10.0.0.1", "mac_address": "fa-16-3e-00-00-01"}]`, []model.AddressPair{{MACAddress: "fa-16-3e-00-00-01", IPAddress: "10.0.0.1"}}},
		{"ipv6", `[{"ip_address": "2001:db8::5"}, {"ip_address": "2001:db8:1::/64"}]`, []model.AddressPair{{IPAddress: "2001:db8::5"}, {IPAddress: "2001:db8:1::/64"}}},
		{"cidr with host bits kept", `[{"ip_address": "172.16.200.5/24"}]`, []model.AddressPair{{IPAddress: "172.16.200.5/24"}}},
		{"0.0.0.0/0 is not multicast", `[{"ip_address": "0.0.0.0/0"}]`, []model.AddressPair{{IPAddress: "0.0.0.0/0"}}},
		{"223.255.255.255", `[{"ip_address": "223.255.255.255"}]`, []model.AddressPair{{IPAddress: "223.255.255.255"}}},
		{"empty list clears", `[]`, []model.AddressPair{}},
		{"null clears", `null`, []model.AddressPair{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pairs(t, tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestAddressPairsMaximum(t *testing.T) {
	list := func(n int) string {
		var items []string
		for i := 0; i < n; i++ {
			items = append(items, fmt.Sprintf(`{"ip_address": "10.0.0.%d"}`, i+1))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	for _, tc := range []struct {
		max, n int
		want   wantErr
	}{
		{10, 10, wantErr{}},
		{10, 11, typed(400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 10.")},
		{2, 2, wantErr{}},
		{2, 3, typed(400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 2.")},
		{0, 0, wantErr{}},
		{0, 1, typed(400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 0.")},
		{-1, 50, wantErr{}}, // negative: unlimited
	} {
		got, err := model.ParseAddressPairs(json.RawMessage(list(tc.n)), tc.max)
		check(t, err, tc.want)
		if tc.want.ok() && len(got) != tc.n {
			t.Errorf("max %d: got %d pairs, want %d", tc.max, len(got), tc.n)
		}
	}
	// The limit is also what ParsePort applies.
	_, err := model.ParsePort(attrs(t, `{"allowed_address_pairs": `+list(4)+`}`), false, 3)
	check(t, err, typed(400, "AllowedAddressPairExhausted", "The number of allowed address pair exceeds the maximum 3."))
}

func TestPortBooleans(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
		err  wantErr
	}{
		{`true`, true, wantErr{}}, {`false`, false, wantErr{}},
		{`"False"`, false, wantErr{}}, {`"True"`, true, wantErr{}}, // steps 34, 38
		{`"false"`, false, wantErr{}}, {`"TRUE"`, true, wantErr{}},
		{`"1"`, true, wantErr{}}, {`"0"`, false, wantErr{}}, {`1`, true, wantErr{}}, {`0`, false, wantErr{}},
		{`"yes"`, true, wantErr{}}, {`"No"`, false, wantErr{}}, {`"on"`, true, wantErr{}}, {`"OFF"`, false, wantErr{}},
		{`"t"`, true, wantErr{}}, {`"f"`, false, wantErr{}}, {`"y"`, true, wantErr{}}, {`"n"`, false, wantErr{}},
		{`" true "`, true, wantErr{}},
		{`"maybe"`, false, invalidInput("'maybe' cannot be converted to boolean.")}, // step 78
		{`"2"`, false, invalidInput("'2' cannot be converted to boolean.")},
		{`2`, false, invalidInput("'2' cannot be converted to boolean.")},
		{`1.0`, false, invalidInput("'1.0' cannot be converted to boolean.")},
		{`""`, false, invalidInput("'' cannot be converted to boolean.")},
		{`null`, false, invalidInput("'None' cannot be converted to boolean.")},
		{`[]`, false, invalidInput("'[]' cannot be converted to boolean.")},
		{`{"a": 1}`, false, invalidInput(`'{"a": 1}' cannot be converted to boolean.`)},
	} {
		for _, name := range []string{"port_security_enabled", "admin_state_up"} {
			in, err := model.ParsePort(attrs(t, `{"`+name+`": `+tc.raw+`}`), false, 10)
			check(t, err, tc.err)
			if !tc.err.ok() {
				continue
			}
			got := in.PortSecurity
			if name == "admin_state_up" {
				got = in.AdminStateUp
			}
			if got == nil || *got != tc.want {
				t.Errorf("%s %s: got %v, want %v", name, tc.raw, got, tc.want)
			}
		}
	}
}

func TestParsePortErrors(t *testing.T) {
	create := func(extra string) string {
		return `{"network_id": "` + netID + `", ` + extra + `}`
	}
	for _, tc := range []struct {
		name   string
		create bool
		body   string
		want   wantErr
	}{
		// Recorded (steps 63, 76).
		{"non-uuid group", false, `{"security_groups": ["not-a-uuid"]}`, invalidAttr("security_groups", "'not-a-uuid' is not a valid UUID")},
		{"unknown attribute", false, `{"foo": "bar"}`, bad("Unrecognized attribute(s) 'foo'")},
		{"unknown attribute on create", true, create(`"foo": "bar"`), bad("Unrecognized attribute(s) 'foo'")},
		// Required and read-only attributes.
		{"no network", true, `{"name": "x"}`, bad("Failed to parse request. Required attribute 'network_id' not specified")},
		{"bad network id", true, `{"network_id": "net1"}`, invalidAttr("network_id", "'net1' is not a valid UUID")},
		{"status on create", true, create(`"status": "ACTIVE"`), bad("Attribute 'status' not allowed in POST")},
		{"id on create", true, create(`"id": "` + sgID + `"`), bad("Attribute 'id' not allowed in POST")},
		{"vif type on create", true, create(`"binding:vif_type": "ovs"`), bad("Attribute 'binding:vif_type' not allowed in POST")},
		{"unknown beats read-only", true, create(`"status": "ACTIVE", "zzz": 1`), bad("Unrecognized attribute(s) 'zzz'")},
		{"update id", false, `{"id": "` + sgID + `"}`, bad("Cannot update read-only attribute id")},
		{"update network", false, `{"network_id": "` + netID + `"}`, bad("Cannot update read-only attribute network_id")},
		{"update tenant", false, `{"tenant_id": "p2"}`, bad("Cannot update read-only attribute tenant_id")},
		{"update project", false, `{"project_id": "p2"}`, bad("Cannot update read-only attribute project_id")},
		{"update status", false, `{"status": "ACTIVE"}`, bad("Cannot update read-only attribute status")},
		{"update revision", false, `{"revision_number": 4}`, bad("Cannot update read-only attribute revision_number")},
		{"update created_at", false, `{"created_at": "x"}`, bad("Cannot update read-only attribute created_at")},
		{"update tags", false, `{"tags": ["a"]}`, bad("Cannot update read-only attribute tags")},
		{"project/tenant mismatch", true, create(`"project_id": "a", "tenant_id": "b"`), bad("'project_id' and 'tenant_id' do not match")},
		// Strings.
		{"name not a string", false, `{"name": 5}`, invalidAttr("name", "'5' is not a valid string")},
		{"name null", false, `{"name": null}`, invalidAttr("name", "'None' is not a valid string")},
		{"name too long", false, `{"name": "` + strings.Repeat("n", 256) + `"}`, invalidAttr("name", "'"+strings.Repeat("n", 256)+"' exceeds maximum length of 255")},
		{"device_id list", false, `{"device_id": ["x"]}`, invalidAttr("device_id", `'["x"]' is not a valid string`)},
		{"vnic type", false, `{"binding:vnic_type": "fancy"}`, invalidAttr("binding:vnic_type", "fancy is not in valid_values")},
		{"profile not a dict", false, `{"binding:profile": "x"}`, invalidAttr("binding:profile", "'x' is not a dictionary")},
		// MAC addresses.
		{"bad mac", false, `{"mac_address": "zz:16:3e:00:00:01"}`, invalidAttr("mac_address", "'zz:16:3e:00:00:01' is not a valid MAC address")},
		{"short mac", true, create(`"mac_address": "fa:16:3e:00:00"`), invalidAttr("mac_address", "'fa:16:3e:00:00' is not a valid MAC address")},
		{"mac number", false, `{"mac_address": 12}`, invalidAttr("mac_address", "'12' is not a valid MAC address")},
		{"mac null", false, `{"mac_address": null}`, invalidAttr("mac_address", "'None' is not a valid MAC address")},
		{"multicast mac", false, `{"mac_address": "01:00:5E:00:00:12"}`, invalidAttr("mac_address", "'01:00:5e:00:00:12' is not a valid MAC address")},
		{"zero mac", false, `{"mac_address": "00:00:00:00:00:00"}`, invalidAttr("mac_address", "'00:00:00:00:00:00' is not a valid MAC address")},
		{"broadcast mac", false, `{"mac_address": "ff:ff:ff:ff:ff:ff"}`, invalidAttr("mac_address", "'ff:ff:ff:ff:ff:ff' is not a valid MAC address")},
		// Security groups.
		{"groups not a list", false, `{"security_groups": "` + sgID + `"}`, invalidAttr("security_groups", "'"+sgID+"' is not a list")},
		{"group repeated", false, `{"security_groups": ["` + sgID + `", "` + sgID + `"]}`, invalidAttr("security_groups", "Duplicate items in the list: '"+sgID+"'")},
		{"group number", false, `{"security_groups": [1]}`, invalidAttr("security_groups", "'1' is not a valid UUID")},
		// Fixed IPs.
		{"fixed_ips not a list", false, `{"fixed_ips": "10.0.0.1"}`, invalidAttr("fixed_ips", "Invalid data format for fixed IP: '10.0.0.1'")},
		{"fixed ip not a dict", false, `{"fixed_ips": ["10.0.0.1"]}`, invalidAttr("fixed_ips", "Invalid data format for fixed IP: '10.0.0.1'")},
		{"fixed ip bad address", false, `{"fixed_ips": [{"ip_address": "172.16.200.999"}]}`, invalidAttr("fixed_ips", "'172.16.200.999' is not a valid IP address")},
		{"fixed ip cidr", false, `{"fixed_ips": [{"ip_address": "10.0.0.1/24"}]}`, invalidAttr("fixed_ips", "'10.0.0.1/24' is not a valid IP address")},
		{"fixed ip bad subnet", false, `{"fixed_ips": [{"subnet_id": "subnet1"}]}`, invalidAttr("fixed_ips", "'subnet1' is not a valid UUID")},
		{"fixed ip duplicate", false, `{"fixed_ips": [{"ip_address": "10.0.0.5"}, {"subnet_id": "` + subID + `", "ip_address": "10.0.0.5"}]}`, invalidAttr("fixed_ips", "Duplicate IP address '10.0.0.5'")},
		{"fixed ip unknown key", false, `{"fixed_ips": [{"ip_address": "10.0.0.5", "foo": 1}]}`, invalidAttr("fixed_ips", "Unrecognized attribute(s) 'foo'")},
		{"fixed ip empty", false, `{"fixed_ips": [{}]}`, invalidAttr("fixed_ips", "a fixed IP needs a subnet_id or an ip_address")},
		// Allowed address pairs inside a port body.
		{"pairs not a list", false, `{"allowed_address_pairs": {"ip_address": "172.16.200.251"}}`, bad("Allowed address pairs must be a list.")},
		// Extra DHCP options.
		{"dhcp opts not a list", false, `{"extra_dhcp_opts": 5}`, invalidAttr("extra_dhcp_opts", "'5' is not a list")},
		{"dhcp opt not a dict", false, `{"extra_dhcp_opts": [5]}`, invalidAttr("extra_dhcp_opts", "each option must be a dictionary")},
		{"dhcp opt without name", false, `{"extra_dhcp_opts": [{"opt_value": "x"}]}`, invalidAttr("extra_dhcp_opts", "each option needs an opt_name")},
		{"tags not strings", true, create(`"tags": [1]`), invalidAttr("tags", "'1' is not a valid string")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := model.ParsePort(attrs(t, tc.body), tc.create, 10)
			check(t, err, tc.want)
		})
	}
}

func TestParsePortValues(t *testing.T) {
	in, err := model.ParsePort(attrs(t, `{"network_id": "`+netID+`", "tenant_id": "p1", "name": "keepalived01",
		"admin_state_up": true, "mac_address": "FA-16-3E-AA-BB-CC", "device_id": "vm1", "device_owner": "compute:nova",
		"binding:host_id": "host1", "binding:vnic_type": "direct", "binding:profile": {"a": "b"},
		"fixed_ips": [{"ip_address": "172.16.200.193"}, {"subnet_id": "`+subID+`"}, {"subnet_id": "`+subID+`", "ip_address": "2001:DB8::0:1"}],
		"security_groups": ["`+sgID+`", "`+sg2ID+`"], "allowed_address_pairs": [{"ip_address": "172.16.200.251"}],
		"port_security_enabled": "False", "extra_dhcp_opts": [{"opt_name": "mtu", "opt_value": "1400"}], "tags": ["t1"]}`), true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if in.NetworkID != netID || in.ProjectID != "p1" || deref(in.Name) != "keepalived01" || !*in.AdminStateUp ||
		deref(in.MACAddress) != "fa:16:3e:aa:bb:cc" || deref(in.DeviceID) != "vm1" || deref(in.DeviceOwner) != "compute:nova" ||
		deref(in.HostID) != "host1" || deref(in.VNICType) != "direct" || in.Profile["a"] != "b" || *in.PortSecurity {
		t.Errorf("scalar attributes: %+v", in)
	}
	wantIPs := []model.FixedIPRequest{{IPAddress: "172.16.200.193"}, {SubnetID: subID}, {SubnetID: subID, IPAddress: "2001:db8::1"}}
	if in.FixedIPs == nil || !reflect.DeepEqual(*in.FixedIPs, wantIPs) {
		t.Errorf("fixed_ips %+v", in.FixedIPs)
	}
	if in.SecurityGroups == nil || !reflect.DeepEqual(*in.SecurityGroups, []string{sgID, sg2ID}) {
		t.Errorf("security_groups %v", in.SecurityGroups)
	}
	if in.AddressPairs == nil || !reflect.DeepEqual(*in.AddressPairs, []model.AddressPair{{IPAddress: "172.16.200.251"}}) {
		t.Errorf("allowed_address_pairs %v", in.AddressPairs)
	}
	if in.ExtraDHCPOpts == nil || len(*in.ExtraDHCPOpts) != 1 || in.Tags == nil || (*in.Tags)[0] != "t1" {
		t.Errorf("extra_dhcp_opts %v tags %v", in.ExtraDHCPOpts, in.Tags)
	}

	// Nothing sent: nothing set.
	in, err = model.ParsePort(attrs(t, `{}`), false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*in, model.PortInput{}) {
		t.Errorf("empty update parsed as %+v", in)
	}

	// null and [] clear lists; Nova's unbind sends binding:host_id null.
	in, err = model.ParsePort(attrs(t, `{"security_groups": null, "allowed_address_pairs": [], "fixed_ips": null,
		"extra_dhcp_opts": null, "binding:host_id": null, "binding:profile": null}`), false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if in.SecurityGroups == nil || len(*in.SecurityGroups) != 0 || in.AddressPairs == nil || len(*in.AddressPairs) != 0 ||
		in.FixedIPs == nil || len(*in.FixedIPs) != 0 || in.ExtraDHCPOpts == nil || len(*in.ExtraDHCPOpts) != 0 ||
		deref(in.HostID) != "" || in.Profile == nil {
		t.Errorf("clearing update parsed as %+v", in)
	}

	// project_id alone, tenant_id alone, both equal.
	for body, want := range map[string]string{
		`{"network_id": "` + netID + `", "project_id": "a"}`:                   "a",
		`{"network_id": "` + netID + `", "tenant_id": "b"}`:                    "b",
		`{"network_id": "` + netID + `", "project_id": "c", "tenant_id": "c"}`: "c",
		`{"network_id": "` + netID + `"}`:                                      "",
	} {
		in, err := model.ParsePort(attrs(t, body), true, 10)
		if err != nil || in.ProjectID != want {
			t.Errorf("%s: project %q err %v, want %q", body, in.ProjectID, err, want)
		}
	}
}

func TestValidMAC(t *testing.T) {
	for mac, want := range map[string]bool{
		"fa:16:3e:00:00:01": true, "FA:16:3E:AA:BB:CC": true, "fa-16-3e-00-00-01": true,
		"fa:16:3e:00:00": false, "fa:16:3e:00:00:001": false, "fa163e000001": false, "zz:16:3e:00:00:01": false,
		"fa.16.3e.00.00.01": false, "": false, "fa:16:3e:00:00:0g": false,
	} {
		if model.ValidMAC(mac) != want {
			t.Errorf("ValidMAC(%q) = %v", mac, !want)
		}
	}
	if got := model.NormalizeMAC("FA-16-3E-AA-BB-CC"); got != "fa:16:3e:aa:bb:cc" {
		t.Errorf("NormalizeMAC = %q", got)
	}
}
