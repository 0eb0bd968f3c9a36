package agent

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/model"
)

type discardApplier struct{}

func (discardApplier) Apply(context.Context, *firewall.Ruleset) error { return nil }
func (discardApplier) Zones(context.Context) (map[string]uint16, error) {
	return map[string]uint16{}, nil
}

// benchSnapshot is one host of bench-scale: 100 ports, each in a base
// group (3 rules) and a tenant group whose rule names itself as remote
// group, with 1,000 members across 10 hosts.
func benchSnapshot() *Snapshot {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	base := model.SecurityGroup{ID: "00000000-base-0000-0000-000000000000", Stateful: true}
	for i, p := range []int{22, 80, 443} {
		base.SecurityGroupRules = append(base.SecurityGroupRules, model.SecurityGroupRule{
			ID: fmt.Sprintf("rule-base-%d", i), Direction: "ingress", Ethertype: "IPv4", Protocol: str("tcp"),
			PortRangeMin: num(p), PortRangeMax: num(p), RemoteIPPrefix: str("0.0.0.0/0"), NormalizedCIDR: str("0.0.0.0/0")})
	}
	tenant := model.SecurityGroup{ID: "00000000-tnt0-0000-0000-000000000000", Stateful: true}
	tenant.SecurityGroupRules = []model.SecurityGroupRule{{ID: "rule-tenant", Direction: "ingress", Ethertype: "IPv4",
		Protocol: str("tcp"), RemoteGroupID: str(tenant.ID)}}
	s := &Snapshot{SecurityGroups: []model.SecurityGroup{base, tenant}, RemoteGroups: map[string]SnapshotAddrs{}}
	for i := range 100 {
		s.Ports = append(s.Ports, model.Port{ID: fmt.Sprintf("%08x-port-0000-0000-000000000000", i), NetworkID: "net-1",
			MACAddress: fmt.Sprintf("fa:16:3e:00:%02x:%02x", i/256, i%256), BindingHostID: "h1", PortSecurityEnabled: true, Status: "ACTIVE",
			FixedIPs:       []model.FixedIP{{SubnetID: "sub-1", IPAddress: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}},
			SecurityGroups: []string{base.ID, tenant.ID}})
	}
	var members SnapshotAddrs
	for i := range 1000 {
		members.IPv4 = append(members.IPv4, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	s.RemoteGroups[tenant.ID] = members
	return s
}

// BenchmarkRuleChange is what every agent does when a rule is added to a
// group all its ports use: patch the snapshot with the group's document
// from the watch answer, compile (memoized), apply.
func BenchmarkRuleChange(b *testing.B) {
	a := New(Config{Host: "h1", Applier: discardApplier{}, Log: slog.New(slog.DiscardHandler)})
	snap := benchSnapshot()
	ctx := context.Background()
	if err := a.applySnapshot(ctx, snap); err != nil {
		b.Fatal(err)
	}
	base := snap.SecurityGroups[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		g := base
		p := 20000 + i%2
		tcp := "tcp"
		g.SecurityGroupRules = append(slicesClone(base.SecurityGroupRules), model.SecurityGroupRule{ID: fmt.Sprintf("r%d", i%2),
			Direction: "ingress", Ethertype: "IPv4", Protocol: &tcp, PortRangeMin: &p, PortRangeMax: &p})
		ans := &watchAnswer{Changes: []watchedChange{{Resource: "security_group_rule", ID: "r", Op: "create"},
			{Resource: "security_group", ID: base.ID, Op: "update"}},
			Documents: &watchDocuments{SecurityGroups: []model.SecurityGroup{g}}}
		ok, err := a.applyChanges(ctx, ans)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }
