package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// referenceDir is Neutron 21's recorded iptables rules (../shared).
func referenceDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "reference", "neutron-iptables", "iptables")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference rules missing at %s: %v", dir, err)
		}
		t.Skipf("reference rules not found at %s", dir)
	}
	return dir
}

// TestTraceNeutronReference runs packets through Neutron's own dumps and
// checks the verdict and the deciding rule's chain.
func TestTraceNeutronReference(t *testing.T) {
	ref := referenceDir(t)
	const (
		tap01, mac01, ip01 = "tap6add5cea-f0", "fa:16:3e:00:00:01", "172.16.200.193"
		tap02, mac02, ip02 = "tap68b89d5e-f7", "fa:16:3e:00:00:02", "172.16.200.194"
		vip                = "172.16.200.251"
	)
	cases := []struct {
		name, refCase   string
		in, out         string
		src, dst, mac   string
		proto, icmp     string
		dport           int
		verdict, decide string // decide: chain of the deciding rule
	}{
		{"VRRP 02 to 01", "a-keepalived", tap02, tap01, ip02, ip01, mac02, "vrrp", "", 0, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"VRRP by number", "a-keepalived", tap02, tap01, ip02, ip01, mac02, "112", "", 0, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"ssh allowed", "a-keepalived", tap02, tap01, ip02, ip01, mac02, "tcp", "", 22, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"tcp 2222 dropped at 01's ingress", "a-keepalived", tap02, tap01, ip02, ip01, mac02, "tcp", "", 2222, "DROP", "neutron-linuxbri-sg-fallback"},
		{"ping allowed", "a-keepalived", tap02, tap01, ip02, ip01, mac02, "icmp", "8", 0, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"VIP from 01 (has the pair)", "a-keepalived", tap01, tap02, vip, ip02, mac01, "icmp", "8/0", 0, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"VIP from 02 (no pair): anti-spoofing", "a-keepalived", tap02, tap01, vip, ip01, mac02, "icmp", "8", 0, "DROP", "neutron-linuxbri-s68b89d5e-f"},
		{"foreign MAC", "a-keepalived", tap02, tap01, ip02, ip01, "fa:16:3e:99:99:99", "icmp", "8", 0, "DROP", "neutron-linuxbri-s68b89d5e-f"},
		{"port security off sends anything", "b-keepalived-portsec-off", tap02, tap01, "10.9.9.9", ip01, "fa:16:3e:99:99:99", "icmp", "8", 0, "ACCEPT", "neutron-linuxbri-sg-chain"},
		{"to the unfiltered port: anything", "b-keepalived-portsec-off", tap01, tap02, ip01, ip02, mac01, "tcp", "", 2222, "ACCEPT", "neutron-linuxbri-sg-chain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(ref, c.refCase)
			var out bytes.Buffer
			err := runTrace(&out, traceOptions{
				files: []string{filepath.Join(dir, "iptables-save.filter.txt"), filepath.Join(dir, "iptables-save.raw.txt")},
				in:    c.in, out: c.out, src: c.src, dst: c.dst, mac: c.mac, proto: c.proto, icmp: c.icmp,
				dport: c.dport, sport: 40000, state: "new", format: "json"})
			if err != nil {
				t.Fatal(err)
			}
			var res traceResult
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if res.Verdict != c.verdict || res.DecidedBy == nil || res.DecidedBy.Chain != c.decide {
				t.Fatalf("verdict %s decided by %+v, want %s in %s\n%s", res.Verdict, res.DecidedBy, c.verdict, c.decide, out.String())
			}
		})
	}
}

// TestTraceNamesSetMember: a packet a remote-group rule lets through
// shows which member of the set it was, in both outputs.
func TestTraceNamesSetMember(t *testing.T) {
	dir := filepath.Join(referenceDir(t), "c-remote-group")
	opts := traceOptions{
		files:  []string{filepath.Join(dir, "iptables-save.filter.txt"), filepath.Join(dir, "iptables-save.raw.txt")},
		ipsets: []string{filepath.Join(dir, "ipset-save.txt")},
		in:     "tap5cbc2508-31", out: "tap254f5523-69", src: "10.10.0.12", dst: "10.10.0.13", mac: "fa:16:3e:10:00:02",
		proto: "tcp", dport: 8080, sport: 40000, state: "new", format: "json"}
	var out bytes.Buffer
	if err := runTrace(&out, opts); err != nil {
		t.Fatal(err)
	}
	var res traceResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	want := traceSet{Set: "NIPv4cf73132d-413e-5e0a-b3c0-", Dir: "src", Address: "10.10.0.12", Member: "10.10.0.12"}
	var got []traceSet
	for _, s := range res.Path {
		got = append(got, s.Sets...)
	}
	if res.Verdict != "ACCEPT" || !slices.Contains(got, want) {
		t.Fatalf("verdict %s, set lookups %+v; want ACCEPT with %+v\n%s", res.Verdict, got, want, out.String())
	}
	out.Reset()
	opts.format = "table"
	if err := runTrace(&out, opts); err != nil {
		t.Fatal(err)
	}
	if line := "src 10.10.0.12 is in set NIPv4cf73132d-413e-5e0a-b3c0- as member 10.10.0.12"; !strings.Contains(out.String(), line) {
		t.Errorf("table output lacks %q:\n%s", line, out.String())
	}
}

// TestTraceBadInput: mistakes are errors, not guesses.
func TestTraceBadInput(t *testing.T) {
	for name, o := range map[string]traceOptions{
		"bad src":      {src: "x", dst: "10.0.0.1", proto: "tcp"},
		"mixed family": {src: "10.0.0.1", dst: "fd00::1", proto: "tcp"},
		"bad proto":    {src: "10.0.0.1", dst: "10.0.0.2", proto: "nope"},
		"missing file": {src: "10.0.0.1", dst: "10.0.0.2", proto: "tcp", files: []string{"/nonexistent"}},
	} {
		if err := runTrace(&bytes.Buffer{}, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
