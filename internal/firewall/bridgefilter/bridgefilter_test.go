package bridgefilter

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/model"
	"sigs.k8s.io/knftables"
)

const (
	k1 = "6add5cea-f0ca-560d-a916-6c4a3da99f55"
	k2 = "68b89d5e-f79d-535a-a36a-d9d3dfaac850"
)

// keepalived is the a-keepalived case plus an IPv6 address, a CIDR pair
// with its own MAC, a port without port security, a trusted port and a
// port without fixed IPs.
func keepalived() *firewall.HostState {
	return &firewall.HostState{Ports: []firewall.Port{
		{ID: k1, NetworkID: "n", MAC: "fa:16:3e:00:00:01", PortSecurity: true, FixedIPs: []string{"172.16.200.193", "fd00::193"},
			AddressPairs: []model.AddressPair{{IPAddress: "172.16.200.251", MACAddress: "fa:16:3e:00:00:01"}}},
		{ID: k2, NetworkID: "n", MAC: "fa:16:3e:00:00:02", PortSecurity: true, FixedIPs: []string{"172.16.200.194"},
			AddressPairs: []model.AddressPair{{IPAddress: "10.1.0.0/24", MACAddress: "fa:16:3e:aa:bb:cc"}, {IPAddress: "fd00:1::/64", MACAddress: "fa:16:3e:aa:bb:cc"}}},
		{ID: "0ff0ff0f-0000-4000-8000-000000000001", NetworkID: "n", MAC: "fa:16:3e:00:00:03", FixedIPs: []string{"172.16.200.195"}},
		{ID: "0dc0dc0d-0000-4000-8000-000000000001", NetworkID: "n", MAC: "fa:16:3e:00:00:04", PortSecurity: true, Trusted: true, FixedIPs: []string{"172.16.200.2"}},
		{ID: "0a0a0a0a-0000-4000-8000-000000000001", NetworkID: "n", MAC: "fa:16:3e:00:00:05", PortSecurity: true},
	}}
}

const wantDump = `add table bridge bulwark { comment "bulwark: link-layer checks of VM ports" ; }
add chain bridge bulwark port-tap0a0a0a0a-00 { comment "port:0a0a0a0a-0000-4000-8000-000000000001" ; }
add chain bridge bulwark port-tap68b89d5e-f7 { comment "port:68b89d5e-f79d-535a-a36a-d9d3dfaac850" ; }
add chain bridge bulwark port-tap6add5cea-f0 { comment "port:6add5cea-f0ca-560d-a916-6c4a3da99f55" ; }
add chain bridge bulwark prerouting { type filter hook prerouting priority -200 ; }
add map bridge bulwark ports { type ifname : verdict ; }
add rule bridge bulwark port-tap0a0a0a0a-00 ether type { 8021q, 8021ad } drop
add rule bridge bulwark port-tap0a0a0a0a-00 ether saddr != { fa:16:3e:00:00:05 } drop
add rule bridge bulwark port-tap0a0a0a0a-00 arp saddr ether != { fa:16:3e:00:00:05 } drop
add rule bridge bulwark port-tap68b89d5e-f7 ether type { 8021q, 8021ad } drop
add rule bridge bulwark port-tap68b89d5e-f7 ether saddr != { fa:16:3e:aa:bb:cc, fa:16:3e:00:00:02 } drop
add rule bridge bulwark port-tap68b89d5e-f7 arp saddr ether != { fa:16:3e:aa:bb:cc, fa:16:3e:00:00:02 } drop
add rule bridge bulwark port-tap68b89d5e-f7 arp saddr ip != { 0.0.0.0, 10.1.0.0/24, 172.16.200.194 } drop
add rule bridge bulwark port-tap68b89d5e-f7 icmpv6 type nd-neighbor-advert	@th,64,128 != { 0xfd000001000000000000000000000000-0xfd00000100000000ffffffffffffffff, 0xfe80000000000000f8163efffeaabbcc, 0xfe80000000000000f8163efffe000002 } drop
add rule bridge bulwark port-tap6add5cea-f0 ether type { 8021q, 8021ad } drop
add rule bridge bulwark port-tap6add5cea-f0 ether saddr != { fa:16:3e:00:00:01 } drop
add rule bridge bulwark port-tap6add5cea-f0 arp saddr ether != { fa:16:3e:00:00:01 } drop
add rule bridge bulwark port-tap6add5cea-f0 arp saddr ip != { 0.0.0.0, 172.16.200.251, 172.16.200.193 } drop
add rule bridge bulwark port-tap6add5cea-f0 icmpv6 type nd-neighbor-advert	@th,64,128 != { 0xfd000000000000000000000000000193, 0xfe80000000000000f8163efffe000001 } drop
add rule bridge bulwark prerouting iifname vmap @ports
add element bridge bulwark ports { tap0a0a0a0a-00 : goto port-tap0a0a0a0a-00 }
add element bridge bulwark ports { tap68b89d5e-f7 : goto port-tap68b89d5e-f7 }
add element bridge bulwark ports { tap6add5cea-f0 : goto port-tap6add5cea-f0 }
`

// TestSyncWholeTable compares the whole table the first sync writes.
func TestSyncWholeTable(t *testing.T) {
	fake := knftables.NewFake(knftables.BridgeFamily, Table)
	s := &Syncer{NFT: fake}
	if err := s.Sync(context.Background(), Build(keepalived())); err != nil {
		t.Fatal(err)
	}
	if got := fake.Dump(); got != wantDump {
		t.Errorf("table:\n%s\nwant:\n%s", got, wantDump)
	}
}

// countingNFT counts the transactions that reach the kernel.
type countingNFT struct {
	*knftables.Fake
	runs []string
}

func (c *countingNFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	c.runs = append(c.runs, tx.String())
	return c.Fake.Run(ctx, tx)
}

// TestSyncIncremental: nothing changed runs nothing; a port change
// touches only that port's chain; a removed port goes with its element;
// every result equals a fresh full write of the same state.
func TestSyncIncremental(t *testing.T) {
	ctx := context.Background()
	nft := &countingNFT{Fake: knftables.NewFake(knftables.BridgeFamily, Table)}
	s := &Syncer{NFT: nft}
	h := keepalived()
	if err := s.Sync(ctx, Build(h)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx, Build(keepalived())); err != nil {
		t.Fatal(err)
	}
	if len(nft.runs) != 1 {
		t.Fatalf("a sync with nothing changed ran %d transactions", len(nft.runs)-1)
	}
	fresh := func(h *firewall.HostState) string {
		f := knftables.NewFake(knftables.BridgeFamily, Table)
		if err := (&Syncer{NFT: f}).Sync(ctx, Build(h)); err != nil {
			t.Fatal(err)
		}
		return f.Dump()
	}
	// Failover: the VIP becomes a pair of keepalived02 too.
	h.Ports[1].AddressPairs = append(h.Ports[1].AddressPairs, model.AddressPair{IPAddress: "172.16.200.251", MACAddress: "fa:16:3e:00:00:02"})
	if err := s.Sync(ctx, Build(h)); err != nil {
		t.Fatal(err)
	}
	last := nft.runs[len(nft.runs)-1]
	if strings.Contains(last, "tap6add5cea") || strings.Contains(last, "prerouting") || !strings.Contains(last, "flush chain bridge bulwark port-tap68b89d5e-f7") {
		t.Errorf("a pair change wrote more than its port's chain:\n%s", last)
	}
	if got, want := nft.Dump(), fresh(h); got != want {
		t.Errorf("after the change:\n%s\nwant:\n%s", got, want)
	}
	// Port removed.
	h.Ports = h.Ports[1:]
	if err := s.Sync(ctx, Build(h)); err != nil {
		t.Fatal(err)
	}
	if got, want := nft.Dump(), fresh(h); got != want {
		t.Errorf("after removing a port:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuildSkipsUnfiltered: port security off and network-owned ports
// get nothing; fail-closed ports and ports sharing a device drop all.
func TestBuildSkipsUnfiltered(t *testing.T) {
	h := keepalived()
	h.Ports[0].FailClosed = true
	f := Build(h)
	if len(f.Ports) != 3 {
		t.Fatalf("ports %v", f.Ports)
	}
	if r := f.Ports["tap6add5cea-f0"].Rules; len(r) != 1 || r[0] != "drop" {
		t.Errorf("fail-closed port: %q", r)
	}
	for _, dev := range []string{"tap0ff0ff0f-00", "tap0dc0dc0d-00"} {
		if _, ok := f.Ports[dev]; ok {
			t.Errorf("%s is filtered", dev)
		}
	}
}
