package ipam_test

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/ipam"
)

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addrp(s string) *netip.Addr   { a := addr(s); return &a }

// ranges parses "a-b,c-d".
func ranges(s string) []ipam.Range {
	if s == "" {
		return nil
	}
	var out []ipam.Range
	for _, part := range strings.Split(s, ",") {
		se := strings.SplitN(part, "-", 2)
		out = append(out, ipam.Range{Start: addr(se[0]), End: addr(se[1])})
	}
	return out
}

func show(rs []ipam.Range) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.Start.String()+"-"+r.End.String())
	}
	return strings.Join(parts, ",")
}

func TestDefaultGatewayAndPools(t *testing.T) {
	for _, tc := range []struct {
		cidr    string
		gateway string // "" = DefaultGateway, "none" = no gateway
		wantGW  string
		pools   string
	}{
		// Recorded: 172.16.200.0/24 -> gateway .1, pool .2-.254 (step 4).
		{"172.16.200.0/24", "", "172.16.200.1", "172.16.200.2-172.16.200.254"},
		{"10.0.0.0/30", "", "10.0.0.1", "10.0.0.2-10.0.0.2"},
		{"10.0.0.0/29", "", "10.0.0.1", "10.0.0.2-10.0.0.6"},
		{"10.0.0.0/8", "", "10.0.0.1", "10.0.0.2-10.255.255.254"},
		{"10.0.0.0/24", "none", "", "10.0.0.1-10.0.0.254"},
		// A gateway in the middle splits the pool in two.
		{"10.0.0.0/24", "10.0.0.100", "10.0.0.100", "10.0.0.1-10.0.0.99,10.0.0.101-10.0.0.254"},
		{"10.0.0.0/24", "10.0.0.254", "10.0.0.254", "10.0.0.1-10.0.0.253"},
		{"10.0.0.0/30", "10.0.0.2", "10.0.0.2", "10.0.0.1-10.0.0.1"},
		// A gateway outside the subnet (or on an unusable address) takes nothing.
		{"10.0.0.0/24", "192.168.0.1", "192.168.0.1", "10.0.0.1-10.0.0.254"},
		{"10.0.0.0/24", "10.0.0.255", "10.0.0.255", "10.0.0.1-10.0.0.254"},
		// /31 and /32 have no network or broadcast address (RFC 3021).
		{"10.0.0.0/31", "none", "", "10.0.0.0-10.0.0.1"},
		{"10.0.0.0/31", "10.0.0.0", "10.0.0.0", "10.0.0.1-10.0.0.1"},
		{"10.0.0.7/32", "none", "", "10.0.0.7-10.0.0.7"},
		{"10.0.0.7/32", "10.0.0.7", "10.0.0.7", ""},
		// IPv6 skips only the subnet-router anycast address.
		{"2001:db8::/64", "", "2001:db8::1", "2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/64", "2001:db8::8000", "2001:db8::8000", "2001:db8::1-2001:db8::7fff,2001:db8::8001-2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::/126", "", "2001:db8::1", "2001:db8::2-2001:db8::3"},
		{"2001:db8::/127", "none", "", "2001:db8::1-2001:db8::1"},
		{"2001:db8::1/128", "none", "", "2001:db8::1-2001:db8::1"},
	} {
		t.Run(tc.cidr+" gw "+tc.gateway, func(t *testing.T) {
			p := prefix(tc.cidr)
			var gw *netip.Addr
			switch tc.gateway {
			case "":
				g := ipam.DefaultGateway(p)
				gw = &g
			case "none":
			default:
				gw = addrp(tc.gateway)
			}
			if tc.gateway == "" && gw.String() != tc.wantGW {
				t.Errorf("DefaultGateway = %s, want %s", gw, tc.wantGW)
			}
			got := ipam.DefaultPools(p, gw)
			if show(got) != tc.pools {
				t.Errorf("DefaultPools = %q, want %q", show(got), tc.pools)
			}
			// Default pools always pass validation with their gateway.
			if err := ipam.ValidatePools(p, got, gw); err != nil && p.Contains(derefAddr(gw)) {
				t.Errorf("default pools rejected: %v", err)
			}
		})
	}
}

func derefAddr(a *netip.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	return *a
}

func TestValidatePools(t *testing.T) {
	type want struct {
		status int
		typ    string
		msg    string
	}
	ok := want{}
	for _, tc := range []struct {
		name  string
		cidr  string
		pools string
		gw    string
		want  want
	}{
		{"one pool", "10.0.0.0/24", "10.0.0.10-10.0.0.20", "10.0.0.1", ok},
		{"whole usable range", "10.0.0.0/24", "10.0.0.2-10.0.0.254", "10.0.0.1", ok},
		{"two pools around the gateway", "10.0.0.0/24", "10.0.0.1-10.0.0.99,10.0.0.101-10.0.0.254", "10.0.0.100", ok},
		{"single address", "10.0.0.0/24", "10.0.0.5-10.0.0.5", "", ok},
		{"adjacent pools", "10.0.0.0/24", "10.0.0.2-10.0.0.9,10.0.0.10-10.0.0.20", "10.0.0.1", ok},
		{"gateway outside", "10.0.0.0/24", "10.0.0.2-10.0.0.254", "192.168.0.1", ok},
		{"v6", "2001:db8::/64", "2001:db8::10-2001:db8::ffff", "2001:db8::1", ok},
		{"v6 last address usable", "2001:db8::/64", "2001:db8::2-2001:db8::ffff:ffff:ffff:ffff", "2001:db8::1", ok},
		{"/31 whole", "10.0.0.0/31", "10.0.0.0-10.0.0.1", "", ok},
		{"no pools", "10.0.0.0/24", "", "10.0.0.1", ok},

		{"start after end", "10.0.0.0/24", "10.0.0.20-10.0.0.10", "", want{400, "InvalidAllocationPool", "The allocation pool {'start': '10.0.0.20', 'end': '10.0.0.10'} is not valid."}},
		{"v6 pool in v4 subnet", "10.0.0.0/24", "2001:db8::2-2001:db8::3", "", want{400, "InvalidAllocationPool", "The allocation pool {'start': '2001:db8::2', 'end': '2001:db8::3'} is not valid."}},
		{"mixed families", "10.0.0.0/24", "10.0.0.2-2001:db8::3", "", want{400, "InvalidAllocationPool", "The allocation pool {'start': '10.0.0.2', 'end': '2001:db8::3'} is not valid."}},
		{"network address", "10.0.0.0/24", "10.0.0.0-10.0.0.10", "", want{400, "OutOfBoundsAllocationPool", "The allocation pool 10.0.0.0-10.0.0.10 spans beyond the subnet cidr 10.0.0.0/24."}},
		{"broadcast address", "10.0.0.0/24", "10.0.0.10-10.0.0.255", "", want{400, "OutOfBoundsAllocationPool", "The allocation pool 10.0.0.10-10.0.0.255 spans beyond the subnet cidr 10.0.0.0/24."}},
		{"beyond the subnet", "10.0.0.0/24", "10.0.0.10-10.0.1.5", "", want{400, "OutOfBoundsAllocationPool", "The allocation pool 10.0.0.10-10.0.1.5 spans beyond the subnet cidr 10.0.0.0/24."}},
		{"before the subnet", "10.0.1.0/24", "10.0.0.10-10.0.1.5", "", want{400, "OutOfBoundsAllocationPool", "The allocation pool 10.0.0.10-10.0.1.5 spans beyond the subnet cidr 10.0.1.0/24."}},
		{"v6 anycast address", "2001:db8::/64", "2001:db8::-2001:db8::5", "", want{400, "OutOfBoundsAllocationPool", "The allocation pool 2001:db8::-2001:db8::5 spans beyond the subnet cidr 2001:db8::/64."}},
		{"overlap", "10.0.0.0/24", "10.0.0.10-10.0.0.20,10.0.0.20-10.0.0.30", "", want{409, "OverlappingAllocationPools", "Found overlapping allocation pools: 10.0.0.10-10.0.0.20 10.0.0.20-10.0.0.30 for subnet 10.0.0.0/24."}},
		{"contained", "10.0.0.0/24", "10.0.0.10-10.0.0.50,10.0.0.2-10.0.0.5,10.0.0.20-10.0.0.30", "", want{409, "OverlappingAllocationPools", "Found overlapping allocation pools: 10.0.0.10-10.0.0.50 10.0.0.20-10.0.0.30 for subnet 10.0.0.0/24."}},
		{"gateway in a pool", "10.0.0.0/24", "10.0.0.2-10.0.0.254", "10.0.0.100", want{409, "GatewayConflictWithAllocationPools", "Gateway ip 10.0.0.100 conflicts with allocation pool 10.0.0.2-10.0.0.254."}},
		{"gateway at pool start", "10.0.0.0/24", "10.0.0.9-10.0.0.9,10.0.0.10-10.0.0.20", "10.0.0.10", want{409, "GatewayConflictWithAllocationPools", "Gateway ip 10.0.0.10 conflicts with allocation pool 10.0.0.10-10.0.0.20."}},
		{"overlap reported before gateway", "10.0.0.0/24", "10.0.0.2-10.0.0.20,10.0.0.5-10.0.0.6", "10.0.0.5", want{409, "OverlappingAllocationPools", "Found overlapping allocation pools: 10.0.0.2-10.0.0.20 10.0.0.5-10.0.0.6 for subnet 10.0.0.0/24."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gw *netip.Addr
			if tc.gw != "" {
				gw = addrp(tc.gw)
			}
			err := ipam.ValidatePools(prefix(tc.cidr), ranges(tc.pools), gw)
			if tc.want == ok {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e, isAPI := apierr.As(err)
			if !isAPI {
				t.Fatalf("got %v, want %+v", err, tc.want)
			}
			if (want{e.Status, e.Type, e.Message}) != tc.want {
				t.Fatalf("got  %d %s %q\nwant %d %s %q", e.Status, e.Type, e.Message, tc.want.status, tc.want.typ, tc.want.msg)
			}
		})
	}
}

func TestInPoolsAndSize(t *testing.T) {
	pools := ranges("10.0.0.2-10.0.0.9,10.0.0.20-10.0.0.20")
	for a, want := range map[string]bool{"10.0.0.1": false, "10.0.0.2": true, "10.0.0.9": true, "10.0.0.10": false, "10.0.0.20": true, "10.0.0.21": false, "2001:db8::2": false} {
		if ipam.InPools(addr(a), pools) != want {
			t.Errorf("InPools(%s) = %v", a, !want)
		}
	}
	for r, want := range map[string]int64{
		"10.0.0.2-10.0.0.9": 8, "10.0.0.5-10.0.0.5": 1, "10.0.0.0-10.255.255.255": 1 << 24,
		"2001:db8::-2001:db8::ffff": 65536, "2001:db8::-2001:db8::ffff:ffff:ffff:ffff": 1 << 62, // capped
	} {
		if got := ranges(r)[0].Size(); got != want {
			t.Errorf("Size(%s) = %d, want %d", r, got, want)
		}
	}
	if got := ipam.Offset(addr("10.0.0.250"), 10); got != addr("10.0.1.4") {
		t.Errorf("Offset = %s", got)
	}
	if got := ipam.Offset(addr("2001:db8::ffff"), 1); got != addr("2001:db8::1:0") {
		t.Errorf("Offset v6 = %s", got)
	}
	if got := ipam.LastAddr(prefix("10.1.2.3/16")); got != addr("10.1.255.255") {
		t.Errorf("LastAddr = %s", got)
	}
	if got := ipam.LastAddr(prefix("2001:db8::/64")); got != addr("2001:db8::ffff:ffff:ffff:ffff") {
		t.Errorf("LastAddr v6 = %s", got)
	}
}

// usedSet is a fake allocation table that also counts lookups.
type usedSet struct {
	m     map[netip.Addr]bool
	calls int
}

func (u *usedSet) used(a netip.Addr) (bool, error) { u.calls++; return u.m[a], nil }

func TestPickFreeSmallPools(t *testing.T) {
	pools := ranges("10.0.0.2-10.0.0.4,10.0.0.10-10.0.0.11")
	u := &usedSet{m: map[netip.Addr]bool{}}
	// Small pools hand out the lowest free address, in pool order, and
	// never one that is taken, until they are exhausted.
	want := []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.10", "10.0.0.11"}
	for _, w := range want {
		a, err := ipam.PickFree(pools, u.used)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != w {
			t.Fatalf("picked %s, want %s", a, w)
		}
		u.m[a] = true
	}
	_, err := ipam.PickFree(pools, u.used)
	if !ipam.IsExhausted(err) {
		t.Fatalf("full pools: %v, want exhausted", err)
	}
	// A freed address is handed out again.
	delete(u.m, addr("10.0.0.3"))
	if a, err := ipam.PickFree(pools, u.used); err != nil || a != addr("10.0.0.3") {
		t.Fatalf("after release: %s %v", a, err)
	}
	// No pools at all.
	if _, err := ipam.PickFree(nil, u.used); !ipam.IsExhausted(err) {
		t.Fatalf("no pools: %v", err)
	}
	// Errors from the lookup are returned as they are.
	boom := errors.New("boom")
	if _, err := ipam.PickFree(pools, func(netip.Addr) (bool, error) { return false, boom }); err != boom {
		t.Fatalf("lookup error: %v", err)
	}
	if ipam.IsExhausted(boom) {
		t.Fatal("IsExhausted(boom)")
	}
}

func TestPickFreeLargePools(t *testing.T) {
	// A /16 (65534 addresses): random picks stay inside the pool, never
	// return a taken address and cost only a few lookups.
	p := prefix("10.1.0.0/16")
	pools := ipam.DefaultPools(p, addrp("10.1.0.1"))
	u := &usedSet{m: map[netip.Addr]bool{}}
	for i := 0; i < 2000; i++ {
		u.m[ipam.Offset(addr("10.1.0.2"), int64(i*7))] = true
	}
	distinct := map[netip.Addr]bool{}
	for i := 0; i < 500; i++ {
		before := u.calls
		a, err := ipam.PickFree(pools, u.used)
		if err != nil {
			t.Fatal(err)
		}
		if u.m[a] || !ipam.InPools(a, pools) {
			t.Fatalf("picked %s (taken %v, in pools %v)", a, u.m[a], ipam.InPools(a, pools))
		}
		if u.calls-before > 64 {
			t.Fatalf("%d lookups for one pick", u.calls-before)
		}
		u.m[a] = true
		distinct[a] = true
	}
	if len(distinct) != 500 {
		t.Fatalf("%d distinct picks", len(distinct))
	}

	// A crowded large pool falls back to walking and finds the last hole.
	crowded := ranges("10.2.0.0-10.2.19.255") // 5120 addresses
	all := &usedSet{m: map[netip.Addr]bool{}}
	for a := crowded[0].Start; ; a = a.Next() {
		all.m[a] = true
		if a == crowded[0].End {
			break
		}
	}
	hole := addr("10.2.19.200")
	delete(all.m, hole)
	if a, err := ipam.PickFree(crowded, all.used); err != nil || a != hole {
		t.Fatalf("crowded pool: %s %v, want %s", a, err, hole)
	}
	all.m[hole] = true
	if _, err := ipam.PickFree(crowded, all.used); !ipam.IsExhausted(err) {
		t.Fatalf("full large pool: %v", err)
	}

	// Huge IPv6 pools: several of them (each larger than 2^62) must not
	// overflow the total, and the pick lands in one of them.
	v6 := ranges("2001:db8::1-2001:db8::3fff:ffff:ffff:ffff,2001:db8:0:0:4000::-2001:db8::7fff:ffff:ffff:ffff," +
		"2001:db8:0:0:8000::-2001:db8::bfff:ffff:ffff:ffff,2001:db8:0:0:c000::-2001:db8::ffff:ffff:ffff:ffff")
	u6 := &usedSet{m: map[netip.Addr]bool{}}
	for i := 0; i < 50; i++ {
		a, err := ipam.PickFree(v6, u6.used)
		if err != nil {
			t.Fatalf("huge v6 pools: %v", err)
		}
		if !ipam.InPools(a, v6) || u6.m[a] {
			t.Fatalf("picked %s", a)
		}
		u6.m[a] = true
	}
	if u6.calls > 100 {
		t.Errorf("%d lookups for 50 picks in huge pools", u6.calls)
	}
}

func TestRandomMAC(t *testing.T) {
	re := regexp.MustCompile(`^fa:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		m := ipam.RandomMAC()
		if !re.MatchString(m) {
			t.Fatalf("RandomMAC() = %q", m)
		}
		seen[m] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct MACs in 200", len(seen))
	}
}

func TestEUI64(t *testing.T) {
	for _, tc := range []struct {
		cidr, mac, want string
	}{
		// RFC 4291 appendix A: flip the U/L bit, insert ff:fe.
		{"2001:db8::/64", "fa:16:3e:1d:4d:f5", "2001:db8::f816:3eff:fe1d:4df5"},
		{"2001:db8:1:2::/64", "00:11:22:33:44:55", "2001:db8:1:2:211:22ff:fe33:4455"},
		{"2001:db8:1:2::5/64", "02:00:00:00:00:01", "2001:db8:1:2::ff:fe00:1"},
		{"fd00::/64", "FA-16-3E-AA-BB-CC", "fd00::f816:3eff:feaa:bbcc"},
	} {
		got, ok := ipam.EUI64(prefix(tc.cidr), tc.mac)
		if !ok || got != addr(tc.want) {
			t.Errorf("EUI64(%s, %s) = %s %v, want %s", tc.cidr, tc.mac, got, ok, tc.want)
		}
	}
	for _, tc := range []struct{ cidr, mac string }{
		{"2001:db8::/80", "fa:16:3e:1d:4d:f5"}, {"10.0.0.0/24", "fa:16:3e:1d:4d:f5"}, {"2001:db8::/64", "nope"},
	} {
		if a, ok := ipam.EUI64(prefix(tc.cidr), tc.mac); ok {
			t.Errorf("EUI64(%s, %s) = %s, want refusal", tc.cidr, tc.mac, a)
		}
	}
}

func ExampleDefaultPools() {
	p := netip.MustParsePrefix("172.16.200.0/24")
	gw := ipam.DefaultGateway(p)
	fmt.Println(gw, show(ipam.DefaultPools(p, &gw)))
	// Output: 172.16.200.1 172.16.200.2-172.16.200.254
}
