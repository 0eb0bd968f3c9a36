package cli

import (
	"reflect"
	"testing"
)

func TestParsePair(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    pair
		wantErr bool
	}{
		{"ip-address=10.0.0.5", pair{IP: "10.0.0.5"}, false},
		{"ip_address=10.0.0.5", pair{IP: "10.0.0.5"}, false},
		{"ip-address=10.0.0.0/24,mac-address=fa:16:3e:00:00:01", pair{IP: "10.0.0.0/24", MAC: "fa:16:3e:00:00:01"}, false},
		{"ip_address=2001:db8::5,mac_address=fa:16:3e:00:00:01", pair{IP: "2001:db8::5", MAC: "fa:16:3e:00:00:01"}, false},
		{"mac-address=fa:16:3e:00:00:01", pair{}, true}, // no address
		{"ip-address=10.0.0.300", pair{}, true},
		{"10.0.0.5", pair{}, true}, // not key=value
		{"ip-address=10.0.0.5,color=red", pair{}, true},
		{"ip-address=10.0.0.5,ip-address=10.0.0.6", pair{}, true},
	} {
		got, err := parsePair("allowed-address", tc.spec)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parsePair(%q) = %+v, %v; want %+v, error %v", tc.spec, got, err, tc.want, tc.wantErr)
		}
		if err != nil && ExitCode(err) != ExitUsage {
			t.Errorf("parsePair(%q): exit code %d, want usage", tc.spec, ExitCode(err))
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"True": true, "true": true, "TRUE": true, "yes": true, "1": true, "False": false, "false": false, "no": false, "0": false} {
		got, err := parseBool("port-security-enabled", in)
		if err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Flase", "2"} {
		if _, err := parseBool("port-security-enabled", in); ExitCode(err) != ExitUsage {
			t.Errorf("parseBool(%q): %v, want a usage error", in, err)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"22", 22, 22, true}, {"22:23", 22, 23, true}, {"0", 0, 0, true}, {"1:65535", 1, 65535, true},
		{"23:22", 0, 0, false}, {"65536", 0, 0, false}, {"ssh", 0, 0, false}, {"-1", 0, 0, false}, {"22:", 0, 0, false},
	} {
		lo, hi, err := parsePortRange("dst-port", tc.in)
		if (err == nil) != tc.ok || lo != tc.lo || hi != tc.hi {
			t.Errorf("parsePortRange(%q) = %d, %d, %v", tc.in, lo, hi, err)
		}
	}
}

func TestNormProtocol(t *testing.T) {
	for in, want := range map[string]string{"tcp": "tcp", "TCP": "tcp", "vrrp": "vrrp", "112": "112", "any": "", "": "", "icmp": "icmp", "ipv6-icmp": "ipv6-icmp", "0": "0", "255": "255"} {
		if got, err := normProtocol("protocol", in); err != nil || got != want {
			t.Errorf("normProtocol(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"256", "-1", "vrrrp", "tcp/udp"} {
		if _, err := normProtocol("protocol", in); ExitCode(err) != ExitUsage {
			t.Errorf("normProtocol(%q): %v, want a usage error", in, err)
		}
	}
}

// The neutron CLI's --allowed-address-pairs takes words after the flag;
// pflag leaves all but the first among the positional arguments.
func TestNeutronPairTokens(t *testing.T) {
	for _, tc := range []struct {
		args, positional, tokens []string
	}{
		{[]string{"net1", "list=true", "ip_address=10.0.0.5"}, []string{"net1"}, []string{"list=true", "ip_address=10.0.0.5"}},
		{[]string{"list=true", "ip_address=10.0.0.5,mac_address=fa:16:3e:00:00:01", "ip_address=10.0.0.6", "port1"}, []string{"port1"},
			[]string{"list=true", "ip_address=10.0.0.5,mac_address=fa:16:3e:00:00:01", "ip_address=10.0.0.6"}},
		{[]string{"port1"}, []string{"port1"}, nil},
		{[]string{"type=dict", "port1", "action=clear"}, []string{"port1"}, []string{"type=dict", "action=clear"}},
		{[]string{"name=x"}, []string{"name=x"}, nil},
	} {
		pos, tok := neutronPairTokens(tc.args)
		if !reflect.DeepEqual(pos, tc.positional) || !reflect.DeepEqual(tok, tc.tokens) {
			t.Errorf("neutronPairTokens(%q) = %q, %q; want %q, %q", tc.args, pos, tok, tc.positional, tc.tokens)
		}
	}
}

func TestNeutronPairs(t *testing.T) {
	for _, tc := range []struct {
		tokens []string
		want   []any
		clear  bool
		ok     bool
	}{
		{[]string{"type=dict", "list=true", "ip_address=10.0.0.5"}, []any{map[string]any{"ip_address": "10.0.0.5"}}, false, true},
		{[]string{"list=true", "type=dict", "ip_address=10.0.0.5,mac_address=fa:16:3e:00:00:01", "ip_address=10.0.0.0/24"},
			[]any{map[string]any{"ip_address": "10.0.0.5", "mac_address": "fa:16:3e:00:00:01"}, map[string]any{"ip_address": "10.0.0.0/24"}}, false, true},
		{[]string{"ip_address=10.0.0.5"}, []any{map[string]any{"ip_address": "10.0.0.5"}}, false, true},
		{[]string{"action=clear"}, []any{}, true, true},
		{[]string{"action=clear", "ip_address=10.0.0.5"}, nil, false, false},
		{[]string{"type=dict", "list=true", "mac_address=fa:16:3e:00:00:01"}, nil, false, false},
		{[]string{"type=dict", "list=true", "ip_address=bogus"}, nil, false, false},
	} {
		got, clear, err := neutronPairs(tc.tokens)
		if (err == nil) != tc.ok || clear != tc.clear || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("neutronPairs(%q) = %v, %v, %v; want %v, %v, ok=%v", tc.tokens, got, clear, err, tc.want, tc.clear, tc.ok)
		}
	}
}

func TestParseKV(t *testing.T) {
	got, err := parseKV("fixed-ip", "subnet_id=s1, ip_address=10.0.0.5", "subnet", "subnet-id", "ip-address")
	if err != nil || !reflect.DeepEqual(got, map[string]string{"subnet-id": "s1", "ip-address": "10.0.0.5"}) {
		t.Errorf("parseKV = %v, %v", got, err)
	}
	if _, err := parseKV("fixed-ip", "subnet", "subnet"); ExitCode(err) != ExitUsage {
		t.Errorf("parseKV without =: %v", err)
	}
}

func TestNormalizeFlag(t *testing.T) {
	if got := normalizeFlag(nil, "port_security_enabled"); got != "port-security-enabled" {
		t.Errorf("normalizeFlag = %q", got)
	}
	if got := normalizeFlag(nil, "binding:host_id"); got != "binding:host-id" {
		t.Errorf("normalizeFlag = %q", got)
	}
}
