package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// psPort is a port with the port-security extension, as gophercloud
// users extract it.
type psPort struct {
	ports.Port
	portsecurity.PortSecurityExt
}

func getPort(t *testing.T, nc *gophercloud.ServiceClient, id string) psPort {
	t.Helper()
	var p psPort
	if err := ports.Get(context.Background(), nc, id).ExtractInto(&p); err != nil {
		t.Fatalf("get port %s: %v", id, err)
	}
	return p
}

func updatePort(t *testing.T, nc *gophercloud.ServiceClient, id string, opts ports.UpdateOptsBuilder) (psPort, error) {
	t.Helper()
	var p psPort
	err := ports.Update(context.Background(), nc, id, opts).ExtractInto(&p)
	return p, err
}

func ptr[T any](v T) *T { return &v }

// TestKeepalivedScenario walks the seed scenario of the reference
// (steps 03-43) through gophercloud: a VRRP pair sharing a VIP.
func TestKeepalivedScenario(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nc := e.nc

	// Network and subnet.
	var net struct {
		networks.Network
		portsecurity.PortSecurityExt
	}
	if err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net1"}).ExtractInto(&net); err != nil {
		t.Fatalf("create network: %v", err)
	}
	if !net.PortSecurityEnabled || net.Status != "ACTIVE" || net.ProjectID != defaultProject || net.TenantID != defaultProject {
		t.Errorf("network: %+v", net)
	}
	sn, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, Name: "subnet1", CIDR: "172.16.200.0/24", IPVersion: gophercloud.IPv4}).Extract()
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	if sn.GatewayIP != "172.16.200.1" || len(sn.AllocationPools) != 1 ||
		sn.AllocationPools[0].Start != "172.16.200.2" || sn.AllocationPools[0].End != "172.16.200.254" || !sn.EnableDHCP {
		t.Errorf("subnet defaults: gateway %s pools %+v dhcp %v", sn.GatewayIP, sn.AllocationPools, sn.EnableDHCP)
	}

	// Security group with VRRP in and out, by number.
	sg, err := groups.Create(ctx, nc, groups.CreateOpts{Name: "ha-sg"}).Extract()
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	if len(sg.Rules) != 2 || sg.RevisionNumber != 1 {
		t.Errorf("new group: %d rules (want 2 egress), revision %d (want 1)", len(sg.Rules), sg.RevisionNumber)
	}
	ruleIDs := map[rules.RuleDirection]string{}
	for _, dir := range []rules.RuleDirection{rules.DirIngress, rules.DirEgress} {
		r, err := rules.Create(ctx, nc, rules.CreateOpts{SecGroupID: sg.ID, Direction: dir, EtherType: rules.EtherType4, Protocol: "112"}).Extract()
		if err != nil {
			t.Fatalf("create %s rule 112: %v", dir, err)
		}
		if r.Protocol != "112" || r.Direction != string(dir) || r.RevisionNumber != 0 || r.SecGroupID != sg.ID {
			t.Errorf("rule: %+v", r)
		}
		ruleIDs[dir] = r.ID
	}
	// The same rules by name are duplicates, and the 409 names the rule.
	for _, dir := range []rules.RuleDirection{rules.DirIngress, rules.DirEgress} {
		_, err := rules.Create(ctx, nc, rules.CreateOpts{SecGroupID: sg.ID, Direction: dir, EtherType: rules.EtherType4, Protocol: rules.ProtocolVRRP}).Extract()
		expectGCError(t, err, 409, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is "+ruleIDs[dir]+".")
	}
	got, err := groups.Get(ctx, nc, sg.ID).Extract()
	if err != nil {
		t.Fatalf("get group: %v", err)
	}
	var protos []string
	for _, r := range got.Rules {
		protos = append(protos, r.Direction+"/"+r.Protocol)
	}
	slices.Sort(protos)
	if want := []string{"egress/", "egress/", "egress/112", "ingress/112"}; !slices.Equal(protos, want) {
		t.Errorf("group rules after the duplicates: %v, want %v", protos, want)
	}

	// The two keepalived ports.
	mk := func(name, ip string) psPort {
		var p psPort
		err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, Name: name, AdminStateUp: ptr(true),
			FixedIPs: []ports.IP{{IPAddress: ip}}, SecurityGroups: &[]string{sg.ID}}).ExtractInto(&p)
		if err != nil {
			t.Fatalf("create port %s: %v", name, err)
		}
		if p.RevisionNumber != 1 || !neutronMAC.MatchString(p.MACAddress) || p.Status != "DOWN" || !p.PortSecurityEnabled ||
			!slices.Equal(p.SecurityGroups, []string{sg.ID}) || len(p.FixedIPs) != 1 ||
			p.FixedIPs[0] != (ports.IP{SubnetID: sn.ID, IPAddress: ip}) || len(p.AllowedAddressPairs) != 0 {
			t.Errorf("new port %s: %s", name, pretty(p))
		}
		return p
	}
	k1 := mk("keepalived01", "172.16.200.193")
	k2 := mk("keepalived02", "172.16.200.194")
	if k1.MACAddress == k2.MACAddress {
		t.Errorf("both ports got MAC %s", k1.MACAddress)
	}
	// The same address again is taken.
	_, err = ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, Name: "dup", FixedIPs: []ports.IP{{IPAddress: "172.16.200.193"}}}).Extract()
	expectGCError(t, err, 409, "IpAddressAlreadyAllocated", "IP address 172.16.200.193 already allocated in subnet "+sn.ID)

	// The VIP as an allowed address pair of both: the server fills in the
	// port's own MAC; the same update again is a no-op (no revision bump).
	vip := []ports.AddressPair{{IPAddress: "172.16.200.251"}}
	for _, k := range []*psPort{&k1, &k2} {
		for try, wantRev := range []int{2, 2} {
			p, err := updatePort(t, nc, k.ID, ports.UpdateOpts{AllowedAddressPairs: &vip})
			if err != nil {
				t.Fatalf("add VIP to %s: %v", k.Name, err)
			}
			want := []ports.AddressPair{{IPAddress: "172.16.200.251", MACAddress: k.MACAddress}}
			if !slices.Equal(p.AllowedAddressPairs, want) || p.RevisionNumber != wantRev {
				t.Errorf("%s after VIP update #%d: pairs %+v rev %d, want %+v rev %d", k.Name, try+1, p.AllowedAddressPairs, p.RevisionNumber, want, wantRev)
			}
			*k = p
		}
	}
	if p := getPort(t, nc, k2.ID); p.AllowedAddressPairs[0].MACAddress != k2.MACAddress || p.RevisionNumber != 2 {
		t.Errorf("GET keepalived02: %+v rev %d", p.AllowedAddressPairs, p.RevisionNumber)
	}

	// Remove the pairs with the raw API, .json suffix included (step 24).
	for _, k := range []psPort{k1, k2} {
		r := e.must(200, "PUT", "/v2.0/ports/"+k.ID+".json", `{"port": {"allowed_address_pairs": []}}`)
		p := r.obj(t, "port")
		if len(objs(p, "allowed_address_pairs")) != 0 || num(p, "revision_number") != 3 {
			t.Errorf("%s after clearing pairs: %s", k.Name, r.Body)
		}
	}

	// Port security cannot go while groups are attached (step 32).
	_, err = updatePort(t, nc, k2.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: ptr(false)})
	expectGCError(t, err, 409, "PortSecurityPortHasSecurityGroup",
		"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
	if p := getPort(t, nc, k2.ID); !p.PortSecurityEnabled || p.RevisionNumber != 3 {
		t.Errorf("rejected update changed the port: psec %v rev %d", p.PortSecurityEnabled, p.RevisionNumber)
	}
	// Clear the groups (step 33), then disable (step 34).
	p, err := updatePort(t, nc, k2.ID, ports.UpdateOpts{SecurityGroups: &[]string{}})
	if err != nil || len(p.SecurityGroups) != 0 || p.RevisionNumber != 4 {
		t.Fatalf("clear groups: %v %+v rev %d", err, p.SecurityGroups, p.RevisionNumber)
	}
	p, err = updatePort(t, nc, k2.ID, ports.UpdateOpts{SecurityGroups: &[]string{}})
	if err != nil || p.RevisionNumber != 4 {
		t.Errorf("clearing groups again must be a no-op: %v rev %d", err, p.RevisionNumber)
	}
	p, err = updatePort(t, nc, k2.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: ptr(false)})
	if err != nil || p.PortSecurityEnabled || p.RevisionNumber != 5 {
		t.Fatalf("disable port security: %v psec %v rev %d", err, p.PortSecurityEnabled, p.RevisionNumber)
	}

	// With port security off: no pairs (409), no groups (400) (steps 36-37).
	_, err = updatePort(t, nc, k2.ID, ports.UpdateOpts{AllowedAddressPairs: &vip})
	expectGCError(t, err, 409, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
	_, err = updatePort(t, nc, k2.ID, ports.UpdateOpts{SecurityGroups: &[]string{sg.ID}})
	expectGCError(t, err, 400, "PortSecurityAndIPRequiredForSecurityGroups",
		"Port security must be enabled and port must have an IP address in order to use security groups.")

	// What GET returns afterwards.
	p = getPort(t, nc, k2.ID)
	if p.PortSecurityEnabled || len(p.SecurityGroups) != 0 || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 5 ||
		p.MACAddress != k2.MACAddress || p.FixedIPs[0].IPAddress != "172.16.200.194" || p.Name != "keepalived02" {
		t.Errorf("GET keepalived02 at the end: %s", pretty(p))
	}
	if !p.UpdatedAt.After(p.CreatedAt) && !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("updated_at %v before created_at %v", p.UpdatedAt, p.CreatedAt)
	}
	p = getPort(t, nc, k1.ID)
	if !p.PortSecurityEnabled || !slices.Equal(p.SecurityGroups, []string{sg.ID}) || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 3 {
		t.Errorf("GET keepalived01 at the end: %s", pretty(p))
	}

	// Re-enabling port security puts no group back (steps 38-39).
	p, err = updatePort(t, nc, k2.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: ptr(true)})
	if err != nil || !p.PortSecurityEnabled || len(p.SecurityGroups) != 0 || p.RevisionNumber != 6 {
		t.Errorf("re-enable: %v %s", err, pretty(p))
	}

	// keepalived01: pairs back, then groups off + psec off in one call
	// fails while pairs remain (steps 41-42), and clearing all three in
	// one PUT works with a single revision bump (step 43).
	if _, err := updatePort(t, nc, k1.ID, ports.UpdateOpts{AllowedAddressPairs: &vip}); err != nil {
		t.Fatal(err)
	}
	_, err = updatePort(t, nc, k1.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{SecurityGroups: &[]string{}}, PortSecurityEnabled: ptr(false)})
	expectGCError(t, err, 409, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
	p, err = updatePort(t, nc, k1.ID, portsecurity.PortUpdateOptsExt{
		UpdateOptsBuilder:   ports.UpdateOpts{SecurityGroups: &[]string{}, AllowedAddressPairs: &[]ports.AddressPair{}},
		PortSecurityEnabled: ptr(false)})
	if err != nil || p.PortSecurityEnabled || len(p.SecurityGroups) != 0 || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 5 {
		t.Errorf("clear all in one PUT: %v %s", err, pretty(p))
	}

	// The group is no longer in use: deleting it works, and the list
	// shows only the default group.
	if err := groups.Delete(ctx, nc, sg.ID).ExtractErr(); err != nil {
		t.Fatalf("delete unused group: %v", err)
	}
	page, err := ports.List(nc, ports.ListOpts{Name: "keepalived01"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := ports.ExtractPorts(page)
	if len(all) != 1 || all[0].ID != k1.ID {
		t.Errorf("list by name: %+v", all)
	}
	gpage, err := groups.List(nc, groups.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := groups.ExtractGroups(gpage)
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != "default" {
		t.Errorf("groups left: %v", names)
	}
}
