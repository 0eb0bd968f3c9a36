package service

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// HostState is everything the agent of one host needs, read in one
// transaction, with the change-log position it is consistent with.
type HostState struct {
	// Revision is the newest change-log sequence number the state
	// includes: watch from here.
	Revision int64  `json:"revision"`
	Host     string `json:"host"`
	// Ports are the ports bound to the host (admin view).
	Ports []json.RawMessage `json:"ports"`
	// SecurityGroups are the groups those ports use, with their rules.
	SecurityGroups []json.RawMessage `json:"security_groups"`
	// RemoteGroups holds, for every group those groups' rules name as
	// remote_group_id, the addresses of every port in it on any host.
	RemoteGroups map[string]*Members `json:"remote_groups"`
	// AddressGroups are the address groups those rules name.
	AddressGroups []json.RawMessage `json:"address_groups"`
	// NetworkPorts are the DHCP and router-interface ports (any host) on
	// the networks of the host's ports.
	NetworkPorts []json.RawMessage `json:"network_ports"`
}

// Members are a remote group's addresses by family: the fixed IPs and
// allowed-address-pair IPs or CIDRs of its ports, a host address without
// prefix length, a CIDR masked to its network, sorted, each once.
type Members struct {
	IPv4 []string `json:"ipv4"`
	IPv6 []string `json:"ipv6"`
}

// docChunk bounds the ids of one IN (...) list.
const docChunk = 500

// GetHostState is GET /v2.0/bulwark/hosts/{host}/state.
func (s *Service) GetHostState(ctx context.Context, c policy.Caller, host string) (*HostState, error) {
	if err := c.Authorize("bulwark_get_host_state", policy.Target{}); err != nil {
		return nil, err
	}
	if host == "" {
		return nil, apierr.BadRequest("A host name is required.")
	}
	out := &HostState{Host: host}
	err := s.st.Read(ctx, func(tx store.Tx) error {
		*out = HostState{Host: host, Ports: []json.RawMessage{}, SecurityGroups: []json.RawMessage{},
			RemoteGroups: map[string]*Members{}, AddressGroups: []json.RawMessage{}, NetworkPorts: []json.RawMessage{}}
		var err error
		if _, out.Revision, err = tx.ChangeBounds(ctx); err != nil {
			return err
		}
		rows, err := tx.List(ctx, store.Ports, store.Query{Eq: map[string][]string{"host_id": {host}}, DocsOnly: true})
		if err != nil {
			return err
		}
		for _, r := range rows {
			out.Ports = append(out.Ports, r.Doc)
		}
		refs, err := tx.HostRefs(ctx, host)
		if err != nil {
			return err
		}
		// The agent's next poll is likely to come here: its interests are
		// known now.
		s.rememberInterest(host, refs, out.Revision)
		if out.SecurityGroups, err = docsByID(ctx, tx, store.SecurityGroups, refs.Groups); err != nil {
			return err
		}
		if err := attachRules(ctx, tx, out.SecurityGroups); err != nil {
			return err
		}
		if out.RemoteGroups, err = remoteMembers(ctx, tx, refs.RemoteGroups); err != nil {
			return err
		}
		if out.AddressGroups, err = docsByID(ctx, tx, store.AddressGroups, refs.AddressGroups); err != nil {
			return err
		}
		if len(refs.Networks) > 0 {
			rows, err := tx.List(ctx, store.Ports, store.Query{DocsOnly: true,
				Eq: map[string][]string{"network_id": refs.Networks, "device_owner": model.NetworkServiceOwners}})
			if err != nil {
				return err
			}
			for _, r := range rows {
				out.NetworkPorts = append(out.NetworkPorts, r.Doc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// docsByID reads the documents of ids (none for an empty list: an empty
// IN filter would select everything).
func docsByID(ctx context.Context, tx store.Tx, t store.Table, ids []string) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	for chunk := range slices.Chunk(ids, docChunk) {
		rows, err := tx.List(ctx, t, store.Query{Eq: map[string][]string{"id": chunk}, DocsOnly: true})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, r.Doc)
		}
	}
	return out, nil
}

// remoteMembers collects the addresses of every port in each group.
func remoteMembers(ctx context.Context, tx store.Tx, groups []string) (map[string]*Members, error) {
	out := make(map[string]*Members, len(groups))
	if len(groups) == 0 {
		return out, nil
	}
	byGroup, err := tx.GroupMembers(ctx, groups)
	if err != nil {
		return nil, err
	}
	var portIDs []string
	for _, ps := range byGroup {
		portIDs = append(portIDs, ps...)
	}
	slices.Sort(portIDs)
	portIDs = slices.Compact(portIDs)
	docs, err := docsByID(ctx, tx, store.Ports, portIDs)
	if err != nil {
		return nil, err
	}
	addrs := make(map[string][]netip.Prefix, len(docs))
	for _, d := range docs {
		var p struct {
			ID       string              `json:"id"`
			FixedIPs []model.FixedIP     `json:"fixed_ips"`
			Pairs    []model.AddressPair `json:"allowed_address_pairs"`
		}
		if err := json.Unmarshal(d, &p); err != nil {
			return nil, err
		}
		for _, f := range p.FixedIPs {
			if pf, ok := model.ParseCIDR(f.IPAddress); ok {
				addrs[p.ID] = append(addrs[p.ID], pf.Masked())
			}
		}
		for _, ap := range p.Pairs {
			if pf, ok := model.ParseCIDR(ap.IPAddress); ok {
				addrs[p.ID] = append(addrs[p.ID], pf.Masked())
			}
		}
	}
	for _, g := range groups {
		var set []netip.Prefix
		for _, p := range byGroup[g] {
			set = append(set, addrs[p]...)
		}
		out[g] = membersOf(set)
	}
	return out, nil
}

func membersOf(set []netip.Prefix) *Members {
	slices.SortFunc(set, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	set = slices.Compact(set)
	m := &Members{IPv4: []string{}, IPv6: []string{}}
	for _, p := range set {
		s := p.String()
		if p.IsSingleIP() {
			s = p.Addr().String()
		}
		if p.Addr().Is4() {
			m.IPv4 = append(m.IPv4, s)
		} else {
			m.IPv6 = append(m.IPv6, s)
		}
	}
	return m
}

// SetPortStatus is PUT /v2.0/bulwark/hosts/{host}/ports/{id}/status: the
// agent of host reports a port bound to it ACTIVE, DOWN, BUILD or ERROR.
// A change bumps revision_number and updated_at and is logged like any
// port update; setting the status it already has changes nothing. A port
// that does not exist or is bound elsewhere is 404 PortNotFound.
func (s *Service) SetPortStatus(ctx context.Context, c policy.Caller, host, id string, body []byte) (*model.Port, error) {
	if err := c.Authorize("bulwark_update_port_status", policy.Target{}); err != nil {
		return nil, err
	}
	status, err := model.ParsePortStatus(body)
	if err != nil {
		return nil, err
	}
	var p *model.Port
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var err error
		p, _, err = get[model.Port](ctx, tx, store.Ports, id, portNotFound(id))
		if err != nil {
			return err
		}
		if host == "" || p.BindingHostID != host {
			return portNotFound(id)()
		}
		if p.Status == status {
			return nil
		}
		p.Status = status
		p.RevisionNumber++
		p.UpdatedAt = model.Now()
		return tx.Update(ctx, store.Ports, portRow(p))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
