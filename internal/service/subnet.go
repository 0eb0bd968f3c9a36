package service

import (
	"context"
	"net/netip"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/ipam"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

func subnetRow(sn *model.Subnet) store.Row {
	return store.Row{ID: sn.ID, ProjectID: sn.ProjectID, Revision: sn.RevisionNumber, Doc: encode(sn),
		Cols: map[string]any{"name": sn.Name, "network_id": sn.NetworkID}}
}

func poolsToRanges(pools []model.AllocationPool) []ipam.Range {
	out := make([]ipam.Range, 0, len(pools))
	for _, p := range pools {
		s, _ := model.ParseIP(p.Start)
		e, _ := model.ParseIP(p.End)
		out = append(out, ipam.Range{Start: s, End: e})
	}
	return out
}

func rangesToPools(rs []ipam.Range) []model.AllocationPool {
	out := make([]model.AllocationPool, 0, len(rs))
	for _, r := range rs {
		out = append(out, model.AllocationPool{Start: r.Start.String(), End: r.End.String()})
	}
	return out
}

// checkGateway rejects a gateway that is the network or broadcast
// address, or of the wrong family.
func checkGateway(cidr netip.Prefix, g *netip.Addr) error {
	if g == nil {
		return nil
	}
	if g.Is4() != cidr.Addr().Is4() {
		return apierr.InvalidInput("gateway_ip '%s' does not match the ip_version '%d'.", g, map[bool]int{true: 4, false: 6}[cidr.Addr().Is4()])
	}
	if cidr.Addr().Is4() && cidr.Bits() < 31 && cidr.Contains(*g) && (*g == cidr.Masked().Addr() || *g == ipam.LastAddr(cidr)) {
		return apierr.InvalidInput("Gateway is not valid on subnet.")
	}
	return nil
}

// CreateSubnets creates one or more subnets in one transaction.
func (s *Service) CreateSubnets(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.Subnet, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.SubnetInput, len(items))
	for i, a := range items {
		in, err := model.ParseSubnet(a, true)
		if err != nil {
			return nil, err
		}
		inputs[i] = in
	}
	var out []*model.Subnet
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for _, in := range inputs {
			sn, err := s.createSubnet(ctx, tx, c, in)
			if err != nil {
				return err
			}
			out = append(out, sn)
		}
		return nil
	})
	return out, err
}

func (s *Service) createSubnet(ctx context.Context, tx store.Tx, c policy.Caller, in *model.SubnetInput) (*model.Subnet, error) {
	project, err := callerProject(c, in.ProjectID)
	if err != nil {
		return nil, err
	}
	n, _, err := attachableNetwork(ctx, tx, c, in.NetworkID, project)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("create_subnet", netTarget(project, n)); err != nil {
		return nil, err
	}
	if err := s.checkQuota(ctx, tx, project, "subnet", store.Subnets, 1); err != nil {
		return nil, err
	}
	siblings, err := tx.List(ctx, store.Subnets, store.Query{Eq: map[string][]string{"network_id": {n.ID}}})
	if err != nil {
		return nil, err
	}
	for _, r := range siblings {
		other, err := decode[model.Subnet](r.Doc)
		if err != nil {
			return nil, err
		}
		op, _ := netip.ParsePrefix(other.CIDR)
		if op.Overlaps(in.CIDR) {
			return nil, apierr.InvalidInput("Requested subnet with cidr: %s for network: %s overlaps with another subnet.", in.CIDR, n.ID)
		}
	}
	var gw *netip.Addr
	if in.GatewaySet {
		gw = in.Gateway
	} else {
		g := ipam.DefaultGateway(in.CIDR)
		gw = &g
	}
	if err := checkGateway(in.CIDR, gw); err != nil {
		return nil, err
	}
	var ranges []ipam.Range
	if in.Pools != nil {
		ranges = poolsToRanges(*in.Pools)
		if err := ipam.ValidatePools(in.CIDR, ranges, gw); err != nil {
			return nil, err
		}
	} else {
		ranges = ipam.DefaultPools(in.CIDR, gw)
	}
	now := model.Now()
	sn := &model.Subnet{ID: model.NewID(), TenantID: project, ProjectID: project, NetworkID: n.ID,
		IPVersion: in.IPVersion, EnableDHCP: true, CIDR: in.CIDR.String(), AllocationPools: rangesToPools(ranges),
		HostRoutes: []model.HostRoute{}, DNSNameservers: []string{}, ServiceTypes: []string{}, Tags: []string{},
		IPv6RAMode: in.RAMode, IPv6AddressMode: in.AddrMode, CreatedAt: now, UpdatedAt: now}
	if gw != nil {
		g := gw.String()
		sn.GatewayIP = &g
	}
	applySubnet(sn, in)
	if in.Tags != nil {
		sn.Tags = *in.Tags
	}
	if err := tx.Insert(ctx, store.Subnets, subnetRow(sn)); err != nil {
		return nil, err
	}
	n.Subnets = append(n.Subnets, sn.ID)
	n.RevisionNumber++
	n.UpdatedAt = now
	if err := tx.Update(ctx, store.Networks, networkRow(n)); err != nil {
		return nil, err
	}
	return sn, nil
}

func applySubnet(sn *model.Subnet, in *model.SubnetInput) {
	setIf(&sn.Name, in.Name)
	setIf(&sn.Description, in.Description)
	setIf(&sn.EnableDHCP, in.EnableDHCP)
	setIf(&sn.DNSNameservers, in.DNS)
	setIf(&sn.HostRoutes, in.HostRoutes)
}

// UpdateSubnet applies a PUT.
func (s *Service) UpdateSubnet(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.Subnet, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	in, err := model.ParseSubnet(a, false)
	if err != nil {
		return nil, err
	}
	var sn *model.Subnet
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var row store.Row
		if sn, row, err = s.writableSubnet(ctx, tx, c, id, "update_subnet"); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, sn.RevisionNumber); err != nil {
			return err
		}
		before := encode(sn)
		cidr, _ := netip.ParsePrefix(sn.CIDR)
		gw := parseOptIP(sn.GatewayIP)
		if in.GatewaySet {
			gw = in.Gateway
			if err := checkGateway(cidr, gw); err != nil {
				return err
			}
			if gw != nil {
				if used, err := tx.IPAllocated(ctx, sn.ID, gw.String()); err != nil {
					return err
				} else if used && (sn.GatewayIP == nil || *sn.GatewayIP != gw.String()) {
					return apierr.Conflict("GatewayIpInUse", "Gateway ip %s conflicts with an address in use on subnet %s.", gw, sn.ID)
				}
				g := gw.String()
				sn.GatewayIP = &g
			} else {
				sn.GatewayIP = nil
			}
		}
		pools := poolsToRanges(sn.AllocationPools)
		if in.Pools != nil {
			pools = poolsToRanges(*in.Pools)
		}
		if in.Pools != nil || in.GatewaySet {
			if err := ipam.ValidatePools(cidr, pools, gw); err != nil {
				return err
			}
			sn.AllocationPools = rangesToPools(pools)
		}
		if in.EnableDHCP != nil && *in.EnableDHCP && ((cidr.Addr().Is4() && cidr.Bits() > 30) || (cidr.Addr().Is6() && cidr.Bits() > 126)) {
			return apierr.InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled.")
		}
		applySubnet(sn, in)
		_ = row
		return s.saveIfChanged(ctx, tx, store.Subnets, before, sn, &sn.RevisionNumber, &sn.UpdatedAt, func() store.Row { return subnetRow(sn) })
	})
	return sn, err
}

func parseOptIP(s *string) *netip.Addr {
	if s == nil {
		return nil
	}
	a, ok := model.ParseIP(*s)
	if !ok {
		return nil
	}
	return &a
}

// visibleSubnet loads a subnet the caller may see, and its network.
func visibleSubnet(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.Subnet, *model.Network, store.Row, error) {
	sn, row, err := get[model.Subnet](ctx, tx, store.Subnets, id, subnetNotFound(id))
	if err != nil {
		return nil, nil, row, err
	}
	n, err := networkOf(ctx, tx, sn.NetworkID)
	if err != nil {
		return nil, nil, row, err
	}
	if !c.CanSeeSubnet(row.ProjectID, n.Shared) {
		return nil, nil, row, subnetNotFound(id)()
	}
	return sn, n, row, nil
}

// writableSubnet loads a subnet the caller may see (else 404) and may
// apply action to (else 403).
func (s *Service) writableSubnet(ctx context.Context, tx store.Tx, c policy.Caller, id, action string) (*model.Subnet, store.Row, error) {
	sn, n, row, err := visibleSubnet(ctx, tx, c, id)
	if err != nil {
		return nil, row, err
	}
	if err := c.Authorize(action, netTarget(row.ProjectID, n)); err != nil {
		return nil, row, err
	}
	return sn, row, nil
}

// DeleteSubnet deletes a subnet no VM port has an address on.
func (s *Service) DeleteSubnet(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		sn, row, err := s.writableSubnet(ctx, tx, c, id, "delete_subnet")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, sn.RevisionNumber); err != nil {
			return err
		}
		allocs, err := tx.SubnetAllocations(ctx, id)
		if err != nil {
			return err
		}
		for _, al := range allocs {
			pr, err := tx.Get(ctx, store.Ports, al.PortID)
			if err != nil {
				return err
			}
			p, err := decode[model.Port](pr.Doc)
			if err != nil {
				return err
			}
			if !model.IsNetworkOwned(p.DeviceOwner) {
				return apierr.Conflict("SubnetInUse", "Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
			}
			// A network-owned port (DHCP, router) just loses that address.
			kept := p.FixedIPs[:0]
			for _, f := range p.FixedIPs {
				if f.SubnetID != id {
					kept = append(kept, f)
				}
			}
			p.FixedIPs = kept
			p.RevisionNumber++
			p.UpdatedAt = model.Now()
			if err := tx.Update(ctx, store.Ports, portRow(p)); err != nil {
				return err
			}
			if err := tx.ReleaseIP(ctx, al.SubnetID, al.IPAddress); err != nil {
				return err
			}
		}
		if err := tx.Delete(ctx, store.Subnets, id, row.ProjectID, sn.RevisionNumber); err != nil {
			return err
		}
		n, _, err := get[model.Network](ctx, tx, store.Networks, sn.NetworkID, networkNotFound(sn.NetworkID))
		if err != nil {
			return err
		}
		n.Subnets = removeString(n.Subnets, id)
		n.RevisionNumber++
		n.UpdatedAt = model.Now()
		return tx.Update(ctx, store.Networks, networkRow(n))
	})
}

// GetSubnet returns one visible subnet.
func (s *Service) GetSubnet(ctx context.Context, c policy.Caller, id string) (*model.Subnet, error) {
	var sn *model.Subnet
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		sn, _, _, err = visibleSubnet(ctx, tx, c, id)
		return err
	})
	return sn, err
}
