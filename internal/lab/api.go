package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// noauthClient talks to a noauth server at root (the lab's private server
// never gets credentials, whatever OS_* says).
func noauthClient(root string) *gophercloud.ServiceClient {
	base := strings.TrimRight(root, "/") + "/"
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 30 * time.Second}}
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: base, ResourceBase: base + "v2.0/"}
}

// serverAnswers reports whether a Bulwark (or Neutron) API answers at
// root: its version document is served without a token.
func serverAnswers(ctx context.Context, root string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(root, "/")+"/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(b), "versions")
}

// labPort is a port with the port-security attribute.
type labPort struct {
	ports.Port
	portsecurity.PortSecurityExt
}

func (l *Lab) getPort(ctx context.Context, id string) (*labPort, error) {
	var p labPort
	if err := ports.Get(ctx, l.nc, id).ExtractInto(&p); err != nil {
		return nil, fmt.Errorf("lab: get port %s: %w", id, err)
	}
	return &p, nil
}

// updatePort sends one port update and narrates it.
func (l *Lab) updatePort(ctx context.Context, vm string, opts ports.UpdateOptsBuilder) error {
	v := l.State.vm(vm)
	if v == nil {
		return fmt.Errorf("lab: no VM %s", vm)
	}
	if m, err := opts.ToPortUpdateMap(); err == nil {
		b, _ := json.Marshal(m)
		l.say("  API  PUT /v2.0/ports/%s (%s) %s", v.PortID, vm, b)
	}
	var p labPort
	if err := ports.Update(ctx, l.nc, v.PortID, opts).ExtractInto(&p); err != nil {
		return fmt.Errorf("lab: update port %s (%s): %w", vm, v.PortID, err)
	}
	return nil
}

// setPairs sets a VM port's allowed address pairs (the server fills in the
// port's MAC).
func (l *Lab) setPairs(ctx context.Context, vm string, ips ...string) error {
	pairs := []ports.AddressPair{}
	for _, ip := range ips {
		pairs = append(pairs, ports.AddressPair{IPAddress: ip})
	}
	return l.updatePort(ctx, vm, ports.UpdateOpts{AllowedAddressPairs: &pairs})
}

// secure puts a VM port under the lab's group with port security on and
// the given pairs, in one update.
func (l *Lab) secure(ctx context.Context, vm string, pairIPs ...string) error {
	pairs := []ports.AddressPair{}
	for _, ip := range pairIPs {
		pairs = append(pairs, ports.AddressPair{IPAddress: ip})
	}
	on := true
	return l.updatePort(ctx, vm, portsecurity.PortUpdateOptsExt{
		UpdateOptsBuilder:   ports.UpdateOpts{SecurityGroups: &[]string{l.State.GroupID}, AllowedAddressPairs: &pairs},
		PortSecurityEnabled: &on,
	})
}

// groupRules lists the lab group's rules.
func (l *Lab) groupRules(ctx context.Context) ([]rules.SecGroupRule, error) {
	pages, err := rules.List(l.nc, rules.ListOpts{SecGroupID: l.State.GroupID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab: list rules: %w", err)
	}
	rs, err := rules.ExtractRules(pages)
	if err != nil {
		return nil, fmt.Errorf("lab: list rules: %w", err)
	}
	return rs, nil
}

func isVRRP(r rules.SecGroupRule) bool { return r.Protocol == "112" || r.Protocol == "vrrp" }

// addRule creates one IPv4 rule in the lab group unless an equal one exists.
func (l *Lab) addRule(ctx context.Context, existing []rules.SecGroupRule, dir rules.RuleDirection, proto string, port int) error {
	for _, r := range existing {
		same := r.Direction == string(dir) && r.EtherType == "IPv4" && r.RemoteIPPrefix == "" && r.RemoteGroupID == "" &&
			(r.Protocol == proto || (proto == "112" && isVRRP(r))) && r.PortRangeMin == port && r.PortRangeMax == port
		if same {
			return nil
		}
	}
	opts := rules.CreateOpts{SecGroupID: l.State.GroupID, Direction: dir, EtherType: rules.EtherType4, Protocol: rules.RuleProtocol(proto)}
	desc := fmt.Sprintf("%s %s", dir, proto)
	if port != 0 {
		opts.PortRangeMin, opts.PortRangeMax = port, port
		desc += fmt.Sprintf(" port %d", port)
	}
	r, err := rules.Create(ctx, l.nc, opts).Extract()
	if err != nil {
		return fmt.Errorf("lab: create rule %s: %w", desc, err)
	}
	l.say("  API  POST /v2.0/security-group-rules %s -> rule %s", desc, r.ID)
	return nil
}

// baseRules makes sure the group lets the client ping and reach the web
// port (and nothing else inbound).
func (l *Lab) baseRules(ctx context.Context) error {
	rs, err := l.groupRules(ctx)
	if err != nil {
		return err
	}
	if err := l.addRule(ctx, rs, rules.DirIngress, "icmp", 0); err != nil {
		return err
	}
	return l.addRule(ctx, rs, rules.DirIngress, "tcp", WebPort)
}

// allowVRRP adds protocol 112 both ways (the operator's fix for step 2).
func (l *Lab) allowVRRP(ctx context.Context) error {
	rs, err := l.groupRules(ctx)
	if err != nil {
		return err
	}
	for _, dir := range []rules.RuleDirection{rules.DirIngress, rules.DirEgress} {
		if err := l.addRule(ctx, rs, dir, "112", 0); err != nil {
			return err
		}
	}
	return nil
}

// denyVRRP deletes every VRRP rule of the lab group.
func (l *Lab) denyVRRP(ctx context.Context) error {
	rs, err := l.groupRules(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if isVRRP(r) {
			if err := rules.Delete(ctx, l.nc, r.ID).ExtractErr(); err != nil {
				return fmt.Errorf("lab: delete rule %s: %w", r.ID, err)
			}
			l.say("  API  DELETE /v2.0/security-group-rules/%s (%s %s)", r.ID, r.Direction, r.Protocol)
		}
	}
	return nil
}

// createObjects makes the network, subnet, group and the two VM ports.
func (l *Lab) createObjects(ctx context.Context) error {
	st := l.State
	if st.NetworkID == "" {
		n, err := networks.Create(ctx, l.nc, networks.CreateOpts{Name: l.names.Network(), Description: "bulwark lab " + st.Name}).Extract()
		if err != nil {
			return fmt.Errorf("lab: create network: %w", err)
		}
		st.NetworkID = n.ID
		l.say("  API  POST /v2.0/networks %s -> %s", n.Name, n.ID)
		if err := st.save(); err != nil {
			return err
		}
	}
	if st.SubnetID == "" {
		noDHCP := false
		s, err := subnets.Create(ctx, l.nc, subnets.CreateOpts{NetworkID: st.NetworkID, Name: l.names.Network(), CIDR: CIDR,
			IPVersion: gophercloud.IPv4, EnableDHCP: &noDHCP}).Extract()
		if err != nil {
			return fmt.Errorf("lab: create subnet: %w", err)
		}
		st.SubnetID = s.ID
		l.say("  API  POST /v2.0/subnets %s -> %s", CIDR, s.ID)
		if err := st.save(); err != nil {
			return err
		}
	}
	if st.GroupID == "" {
		g, err := groups.Create(ctx, l.nc, groups.CreateOpts{Name: l.names.SecurityGroup(), Description: "bulwark lab: the keepalived pair"}).Extract()
		if err != nil {
			return fmt.Errorf("lab: create security group: %w", err)
		}
		st.GroupID = g.ID
		l.say("  API  POST /v2.0/security-groups %s -> %s", g.Name, g.ID)
		if err := st.save(); err != nil {
			return err
		}
	}
	if err := l.baseRules(ctx); err != nil {
		return err
	}
	for i := range st.VMs {
		v := &st.VMs[i]
		if v.PortID != "" {
			continue
		}
		opts := portsbinding.CreateOptsExt{
			CreateOptsBuilder: ports.CreateOpts{NetworkID: st.NetworkID, Name: v.Name,
				FixedIPs: []ports.IP{{SubnetID: st.SubnetID, IPAddress: v.IP}}, SecurityGroups: &[]string{st.GroupID}},
			HostID: st.Host,
		}
		var p labPort
		if err := ports.Create(ctx, l.nc, opts).ExtractInto(&p); err != nil {
			return fmt.Errorf("lab: create port %s: %w", v.Name, err)
		}
		v.PortID, v.MAC, v.Tap = p.ID, p.MACAddress, TapName(p.ID)
		l.say("  API  POST /v2.0/ports %s %s host %s -> %s (%s)", v.Name, v.IP, st.Host, p.ID, p.MACAddress)
		if err := st.save(); err != nil {
			return err
		}
	}
	return nil
}

// deleteObjects removes the lab's API objects: those in the state, and
// (when the state is gone) those found by the lab's names. Missing
// objects are fine.
func (l *Lab) deleteObjects(ctx context.Context) error {
	var errs []error
	gone := func(err error) bool { return err == nil || gophercloud.ResponseCodeIs(err, http.StatusNotFound) }
	netIDs := map[string]bool{}
	groupIDs := map[string]bool{}
	if l.State.NetworkID != "" {
		netIDs[l.State.NetworkID] = true
	}
	if l.State.GroupID != "" {
		groupIDs[l.State.GroupID] = true
	}
	if pages, err := networks.List(l.nc, networks.ListOpts{Name: l.names.Network()}).AllPages(ctx); err == nil {
		if ns, err := networks.ExtractNetworks(pages); err == nil {
			for _, n := range ns {
				netIDs[n.ID] = true
			}
		}
	}
	if pages, err := groups.List(l.nc, groups.ListOpts{Name: l.names.SecurityGroup()}).AllPages(ctx); err == nil {
		if gs, err := groups.ExtractGroups(pages); err == nil {
			for _, g := range gs {
				groupIDs[g.ID] = true
			}
		}
	}
	for id := range netIDs {
		pages, err := ports.List(l.nc, ports.ListOpts{NetworkID: id}).AllPages(ctx)
		if err == nil {
			ps, _ := ports.ExtractPorts(pages)
			for _, p := range ps {
				if err := ports.Delete(ctx, l.nc, p.ID).ExtractErr(); !gone(err) {
					errs = append(errs, fmt.Errorf("delete port %s: %w", p.ID, err))
				}
			}
		}
		if err := networks.Delete(ctx, l.nc, id).ExtractErr(); !gone(err) {
			errs = append(errs, fmt.Errorf("delete network %s: %w", id, err))
		}
	}
	for id := range groupIDs {
		if err := groups.Delete(ctx, l.nc, id).ExtractErr(); !gone(err) {
			errs = append(errs, fmt.Errorf("delete security group %s: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab: delete API objects: %w", errors.Join(errs...))
	}
	return nil
}
