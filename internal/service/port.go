package service

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/ipam"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

func portRow(p *model.Port) store.Row {
	return store.Row{ID: p.ID, ProjectID: p.ProjectID, Revision: p.RevisionNumber, Doc: encode(p),
		Cols: map[string]any{"name": p.Name, "network_id": p.NetworkID, "mac_address": model.NormalizeMAC(p.MACAddress),
			"device_id": p.DeviceID, "device_owner": p.DeviceOwner, "host_id": p.BindingHostID}}
}

var (
	errPSecSGs = apierr.New(400, "PortSecurityAndIPRequiredForSecurityGroups",
		"Port security must be enabled and port must have an IP address in order to use security groups.")
	errPSecHasSG = apierr.Conflict("PortSecurityPortHasSecurityGroup",
		"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
	errPairsNeedPSec = apierr.Conflict("AddressPairAndPortSecurityRequired",
		"Port Security must be enabled in order to have allowed address pairs on a port.")
)

// CreatePorts creates one or more ports in one transaction.
func (s *Service) CreatePorts(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.Port, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.PortInput, len(items))
	for i, a := range items {
		in, err := model.ParsePort(a, true, s.cfg.MaxAddressPairs)
		if err != nil {
			return nil, err
		}
		inputs[i] = in
	}
	// A port the caller may not create (network not visible, policy)
	// is refused before anything is written.
	if !c.IsAdmin() {
		if err := s.st.Read(ctx, func(tx store.Tx) error {
			for i, in := range inputs {
				if _, err := authorizePort(ctx, tx, c, items[i], in); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// The default group is made in its own transaction first, so a failed
	// port create still leaves the project's default group (as Neutron).
	project := c.ProjectID
	if len(inputs) > 0 && inputs[0].ProjectID != "" {
		project = inputs[0].ProjectID
	}
	if err := s.EnsureDefaultGroup(ctx, project); err != nil {
		return nil, err
	}
	var out []*model.Port
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for i, in := range inputs {
			p, err := s.createPort(ctx, tx, c, items[i], in)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// authorizePort is Neutron's order for a port create: the network must
// be one the project may attach to (404), then create_port with its
// attribute rules (403). It returns the network.
func authorizePort(ctx context.Context, tx store.Tx, c policy.Caller, a model.Attrs, in *model.PortInput) (*model.Network, error) {
	project, err := callerProject(c, in.ProjectID)
	if err != nil {
		return nil, err
	}
	n, _, err := attachableNetwork(ctx, tx, c, in.NetworkID, project)
	if err != nil {
		return nil, err
	}
	return n, c.Authorize("create_port", netTarget(project, n), portAttrs(a, in, true)...)
}

func (s *Service) createPort(ctx context.Context, tx store.Tx, c policy.Caller, a model.Attrs, in *model.PortInput) (*model.Port, error) {
	n, err := authorizePort(ctx, tx, c, a, in)
	if err != nil {
		return nil, err
	}
	project, _ := callerProject(c, in.ProjectID)
	if err := s.checkQuota(ctx, tx, project, "port", store.Ports, 1); err != nil {
		return nil, err
	}
	now := model.Now()
	p := &model.Port{ID: model.NewID(), NetworkID: n.ID, TenantID: project, ProjectID: project,
		AdminStateUp: true, Status: "DOWN", FixedIPs: []model.FixedIP{}, AllowedAddressPairs: []model.AddressPair{},
		ExtraDHCPOpts: []any{}, SecurityGroups: []string{}, BindingVNICType: "normal", BindingProfile: map[string]any{},
		BindingVIFType: "unbound", BindingVIFDetails: map[string]any{}, PortSecurityEnabled: n.PortSecurityEnabled,
		Tags: []string{}, CreatedAt: now, UpdatedAt: now, RevisionNumber: 1}
	applyPortScalars(p, in)
	if in.Tags != nil {
		p.Tags = *in.Tags
	}
	if in.ExtraDHCPOpts != nil {
		p.ExtraDHCPOpts = *in.ExtraDHCPOpts
	}
	if in.MACAddress != nil {
		if err := macFree(ctx, tx, n.ID, *in.MACAddress); err != nil {
			return nil, err
		}
		p.MACAddress = *in.MACAddress
	} else if p.MACAddress, err = freeMAC(ctx, tx, n.ID); err != nil {
		return nil, err
	}
	var req []model.FixedIPRequest
	if in.FixedIPs != nil {
		req = *in.FixedIPs
	}
	if p.FixedIPs, err = s.allocate(ctx, tx, p, req, in.FixedIPs == nil, nil); err != nil {
		return nil, err
	}
	hasIP := len(p.FixedIPs) > 0
	if in.AddressPairs != nil && len(*in.AddressPairs) > 0 {
		if !p.PortSecurityEnabled {
			return nil, errPairsNeedPSec
		}
		p.AllowedAddressPairs = fillPairMACs(*in.AddressPairs, p.MACAddress)
	}
	switch {
	case in.SecurityGroups != nil && len(*in.SecurityGroups) > 0:
		if !p.PortSecurityEnabled || !hasIP {
			return nil, errPSecSGs
		}
		if err := checkGroups(ctx, tx, c, *in.SecurityGroups); err != nil {
			return nil, err
		}
		p.SecurityGroups = *in.SecurityGroups
	case in.SecurityGroups == nil && p.PortSecurityEnabled && hasIP && !model.IsNetworkOwned(p.DeviceOwner):
		// Neutron gives no default group to trusted (network:*) ports:
		// DHCP servers and router interfaces.
		def, err := tx.DefaultGroup(ctx, project)
		if err != nil {
			return nil, err
		}
		p.SecurityGroups = []string{def}
	}
	updateBinding(p)
	if err := tx.Insert(ctx, store.Ports, portRow(p)); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, macInUse(n.ID, p.MACAddress)
		}
		return nil, err
	}
	return p, tx.SetPortGroups(ctx, p.ID, p.SecurityGroups)
}

func applyPortScalars(p *model.Port, in *model.PortInput) {
	setIf(&p.Name, in.Name)
	setIf(&p.Description, in.Description)
	setIf(&p.DeviceID, in.DeviceID)
	setIf(&p.DeviceOwner, in.DeviceOwner)
	setIf(&p.BindingHostID, in.HostID)
	setIf(&p.BindingVNICType, in.VNICType)
	setIf(&p.AdminStateUp, in.AdminStateUp)
	setIf(&p.PortSecurityEnabled, in.PortSecurity)
	if in.Profile != nil {
		p.BindingProfile = in.Profile
	}
}

// updateBinding derives the VIF fields from the host: a bound port is
// plugged into a Linux bridge whose ports the agent filters.
func updateBinding(p *model.Port) {
	if p.BindingHostID == "" {
		p.BindingVIFType, p.BindingVIFDetails = "unbound", map[string]any{}
		return
	}
	p.BindingVIFType = "bridge"
	p.BindingVIFDetails = map[string]any{"port_filter": true, "connectivity": "l2"}
}

// fillPairMACs gives each pair without a MAC the port's own, as Neutron
// stores it; MACs that were sent are kept exactly as sent.
func fillPairMACs(pairs []model.AddressPair, mac string) []model.AddressPair {
	out := make([]model.AddressPair, len(pairs))
	for i, pr := range pairs {
		if pr.MACAddress == "" {
			pr.MACAddress = mac
		}
		out[i] = pr
	}
	return out
}

func macInUse(netID, mac string) error {
	return apierr.Conflict("MacAddressInUse", "Unable to complete operation for network %s. The mac address %s is in use.", netID, mac)
}

func macFree(ctx context.Context, tx store.Tx, netID, mac string) error {
	rows, err := tx.List(ctx, store.Ports, store.Query{Eq: map[string][]string{"network_id": {netID}, "mac_address": {model.NormalizeMAC(mac)}}, Limit: 1})
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		return macInUse(netID, mac)
	}
	return nil
}

func freeMAC(ctx context.Context, tx store.Tx, netID string) (string, error) {
	for try := 0; try < 16; try++ {
		mac := ipam.RandomMAC()
		if err := macFree(ctx, tx, netID, mac); err == nil {
			return mac, nil
		} else if _, isAPI := apierr.As(err); !isAPI {
			return "", err
		}
	}
	return "", apierr.Conflict("MacAddressGenerationFailure", "Unable to generate unique mac on network %s.", netID)
}

func checkGroups(ctx context.Context, tx store.Tx, c policy.Caller, ids []string) error {
	for _, id := range ids {
		row, err := tx.Get(ctx, store.SecurityGroups, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !c.Allowed("get_security_group", policy.Target{Owner: row.ProjectID})) {
			return groupNotFound(id)()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type subnetInfo struct {
	sn    *model.Subnet
	cidr  netip.Prefix
	pools []ipam.Range
}

func networkSubnets(ctx context.Context, tx store.Tx, netID string) ([]subnetInfo, error) {
	rows, err := tx.List(ctx, store.Subnets, store.Query{Eq: map[string][]string{"network_id": {netID}}})
	if err != nil {
		return nil, err
	}
	out := make([]subnetInfo, 0, len(rows))
	for _, r := range rows {
		sn, err := decode[model.Subnet](r.Doc)
		if err != nil {
			return nil, err
		}
		cidr, _ := netip.ParsePrefix(sn.CIDR)
		out = append(out, subnetInfo{sn: sn, cidr: cidr, pools: poolsToRanges(sn.AllocationPools)})
	}
	// Oldest subnet first, so a default allocation is stable.
	slices.SortStableFunc(out, func(a, b subnetInfo) int {
		if a.sn.CreatedAt != b.sn.CreatedAt {
			if a.sn.CreatedAt < b.sn.CreatedAt {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, nil
}

func isSLAAC(sn *model.Subnet) bool {
	return sn.IPv6AddressMode != nil && (*sn.IPv6AddressMode == "slaac" || *sn.IPv6AddressMode == "dhcpv6-stateless")
}

// allocate turns requested fixed IPs into allocations for port p. keep
// lists addresses p already holds (on update) that stay allocated.
// auto=true means fixed_ips was not given: one address per IP version,
// plus the SLAAC address of every SLAAC subnet.
func (s *Service) allocate(ctx context.Context, tx store.Tx, p *model.Port, req []model.FixedIPRequest, auto bool, keep map[string]bool) ([]model.FixedIP, error) {
	subnets, err := networkSubnets(ctx, tx, p.NetworkID)
	if err != nil {
		return nil, err
	}
	byID := map[string]subnetInfo{}
	for _, si := range subnets {
		byID[si.sn.ID] = si
	}
	// alts holds, for an automatic request (by index), every subnet of
	// its IP version: like Neutron's subnet-group allocator, a full
	// subnet passes the request on to the next one.
	alts := map[int][]subnetInfo{}
	if auto {
		req = nil
		v4, v6 := -1, -1
		for _, si := range subnets {
			switch {
			case si.sn.IPVersion == 6 && isSLAAC(si.sn):
				req = append(req, model.FixedIPRequest{SubnetID: si.sn.ID})
			case si.sn.IPVersion == 4:
				if v4 < 0 {
					v4 = len(req)
					req = append(req, model.FixedIPRequest{SubnetID: si.sn.ID})
				}
				alts[v4] = append(alts[v4], si)
			case si.sn.IPVersion == 6:
				if v6 < 0 {
					v6 = len(req)
					req = append(req, model.FixedIPRequest{SubnetID: si.sn.ID})
				}
				alts[v6] = append(alts[v6], si)
			}
		}
	}
	out := make([]model.FixedIP, 0, len(req))
	for i, r := range req {
		var si subnetInfo
		var ok bool
		switch {
		case r.SubnetID != "":
			if si, ok = byID[r.SubnetID]; !ok {
				return nil, apierr.InvalidInput("Failed to create port on network %s, because fixed_ips included invalid subnet %s", p.NetworkID, r.SubnetID)
			}
		default:
			addr, _ := model.ParseIP(r.IPAddress)
			for _, cand := range subnets {
				if cand.cidr.Contains(addr) {
					si, ok = cand, true
					break
				}
			}
			if !ok {
				return nil, apierr.New(400, "InvalidIpForNetwork", "IP address %s is not a valid IP for any of the subnets on the specified network.", r.IPAddress)
			}
		}
		var addr netip.Addr
		if r.IPAddress != "" {
			addr, _ = model.ParseIP(r.IPAddress)
			if err := checkExplicitIP(si, addr, p.DeviceOwner); err != nil {
				return nil, err
			}
			if !keep[si.sn.ID+" "+addr.String()] {
				taken, err := tx.IPAllocated(ctx, si.sn.ID, addr.String())
				if err != nil {
					return nil, err
				}
				if taken {
					return nil, apierr.Conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, si.sn.ID)
				}
			}
		} else if si.sn.IPVersion == 6 && isSLAAC(si.sn) {
			a, ok := ipam.EUI64(si.cidr, p.MACAddress)
			if !ok {
				return nil, apierr.InvalidInput("Cannot derive a SLAAC address on subnet %s (it must be a /64)", si.sn.ID)
			}
			addr = a
		} else {
			cands, group := alts[i]
			if !group {
				cands = []subnetInfo{si}
			}
			var err error
			for _, cand := range cands {
				addr, err = ipam.PickFree(cand.pools, func(a netip.Addr) (bool, error) {
					return tx.IPAllocated(ctx, cand.sn.ID, a.String())
				})
				if !ipam.IsExhausted(err) {
					si = cand
					break
				}
			}
			if ipam.IsExhausted(err) {
				if group {
					return nil, apierr.Conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", p.NetworkID)
				}
				return nil, apierr.Conflict("IpAddressGenerationFailure", "No more IP addresses available for subnet %s.", si.sn.ID)
			}
			if err != nil {
				return nil, err
			}
		}
		if !keep[si.sn.ID+" "+addr.String()] {
			err := tx.AllocateIP(ctx, store.Allocation{SubnetID: si.sn.ID, IPAddress: addr.String(), NetworkID: p.NetworkID, PortID: p.ID})
			if errors.Is(err, store.ErrDuplicate) {
				return nil, apierr.Conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, si.sn.ID)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, model.FixedIP{SubnetID: si.sn.ID, IPAddress: addr.String()})
	}
	return out, nil
}

func checkExplicitIP(si subnetInfo, addr netip.Addr, owner string) error {
	if !si.cidr.Contains(addr) {
		return apierr.New(400, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", addr)
	}
	if addr.Is4() && si.cidr.Bits() < 31 && (addr == si.cidr.Masked().Addr() || addr == ipam.LastAddr(si.cidr)) {
		return apierr.New(400, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", addr)
	}
	if si.sn.GatewayIP != nil && *si.sn.GatewayIP == addr.String() && !model.IsNetworkOwned(owner) {
		return apierr.Conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, si.sn.ID)
	}
	return nil
}

// GetPort returns one visible port.
func (s *Service) GetPort(ctx context.Context, c policy.Caller, id string) (*model.Port, error) {
	var p *model.Port
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		p, _, err = visiblePort(ctx, tx, c, id)
		return err
	})
	return p, err
}

func visiblePort(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.Port, store.Row, error) {
	p, row, err := get[model.Port](ctx, tx, store.Ports, id, portNotFound(id))
	if err == nil && !c.Allowed("get_port", policy.Target{Owner: row.ProjectID}) {
		err = portNotFound(id)()
	}
	return p, row, err
}

// writablePort loads a port the caller may see (else 404) and may apply
// action to with attrs (else 403).
func writablePort(ctx context.Context, tx store.Tx, c policy.Caller, id, action string, attrs ...policy.Attr) (*model.Port, store.Row, error) {
	p, row, err := visiblePort(ctx, tx, c, id)
	if err != nil {
		return nil, row, err
	}
	n, err := networkOf(ctx, tx, p.NetworkID)
	if err != nil {
		return nil, row, err
	}
	return p, row, c.Authorize(action, netTarget(row.ProjectID, n), attrs...)
}

// UpdatePort applies a PUT, enforcing Neutron's port-security rules.
func (s *Service) UpdatePort(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.Port, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	in, err := model.ParsePort(a, false, s.cfg.MaxAddressPairs)
	if err != nil {
		return nil, err
	}
	var p *model.Port
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if p, _, err = writablePort(ctx, tx, c, id, "update_port", portAttrs(a, in, false)...); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, p.RevisionNumber); err != nil {
			return err
		}
		before := encode(p)
		oldMAC := p.MACAddress
		applyPortScalars(p, in)
		if in.MACAddress != nil && model.NormalizeMAC(*in.MACAddress) != model.NormalizeMAC(oldMAC) {
			if err := macFree(ctx, tx, p.NetworkID, *in.MACAddress); err != nil {
				return err
			}
			p.MACAddress = *in.MACAddress
		}
		if in.FixedIPs != nil {
			keep := map[string]bool{}
			for _, f := range p.FixedIPs {
				keep[f.SubnetID+" "+f.IPAddress] = true
			}
			// Entries naming only a subnet the port already has an address
			// on keep that address rather than taking a new one.
			req := make([]model.FixedIPRequest, 0, len(*in.FixedIPs))
			for _, r := range *in.FixedIPs {
				if r.IPAddress == "" {
					for _, f := range p.FixedIPs {
						if f.SubnetID == r.SubnetID && !slices.ContainsFunc(req, func(x model.FixedIPRequest) bool { return x.IPAddress == f.IPAddress }) {
							r.IPAddress = f.IPAddress
							break
						}
					}
				}
				req = append(req, r)
			}
			newIPs, err := s.allocate(ctx, tx, p, req, false, keep)
			if err != nil {
				return err
			}
			for _, f := range p.FixedIPs {
				if !slices.Contains(newIPs, f) {
					if err := tx.ReleaseIP(ctx, f.SubnetID, f.IPAddress); err != nil {
						return err
					}
				}
			}
			p.FixedIPs = newIPs
		}
		if in.ExtraDHCPOpts != nil {
			p.ExtraDHCPOpts = *in.ExtraDHCPOpts
		}
		pairs := p.AllowedAddressPairs
		if in.AddressPairs != nil {
			pairs = fillPairMACs(*in.AddressPairs, p.MACAddress)
		}
		groups := p.SecurityGroups
		if in.SecurityGroups != nil {
			groups = *in.SecurityGroups
		}
		hasIP := len(p.FixedIPs) > 0
		// Checked in Neutron's order: groups being added need port
		// security and an address; pairs need port security; groups that
		// stay need port security and an address.
		if in.SecurityGroups != nil && len(groups) > 0 && (!p.PortSecurityEnabled || !hasIP) {
			return errPSecSGs
		}
		if !p.PortSecurityEnabled && len(pairs) > 0 {
			return errPairsNeedPSec
		}
		if len(groups) > 0 && (!p.PortSecurityEnabled || !hasIP) {
			return errPSecHasSG
		}
		if in.SecurityGroups != nil {
			if err := checkGroups(ctx, tx, c, groups); err != nil {
				return err
			}
		}
		p.AllowedAddressPairs = pairs
		groupsChanged := !slices.Equal(groups, p.SecurityGroups)
		p.SecurityGroups = groups
		updateBinding(p)
		if string(encode(p)) == string(before) {
			return nil
		}
		p.RevisionNumber++
		p.UpdatedAt = model.Now()
		if err := tx.Update(ctx, store.Ports, portRow(p)); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return macInUse(p.NetworkID, p.MACAddress)
			}
			return err
		}
		if groupsChanged {
			return tx.SetPortGroups(ctx, p.ID, p.SecurityGroups)
		}
		return nil
	})
	return p, err
}

// DeletePort deletes a port and frees its addresses.
func (s *Service) DeletePort(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		p, row, err := writablePort(ctx, tx, c, id, "delete_port")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, p.RevisionNumber); err != nil {
			return err
		}
		return deletePortRow(ctx, tx, row)
	})
}

func deletePortRow(ctx context.Context, tx store.Tx, row store.Row) error {
	if err := tx.ReleasePortIPs(ctx, row.ID); err != nil {
		return err
	}
	if err := tx.SetPortGroups(ctx, row.ID, nil); err != nil {
		return err
	}
	return tx.Delete(ctx, store.Ports, row.ID, row.ProjectID, row.Revision)
}
