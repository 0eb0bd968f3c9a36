package service

import (
	"context"
	"slices"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

func networkRow(n *model.Network) store.Row {
	return store.Row{ID: n.ID, ProjectID: n.ProjectID, Revision: n.RevisionNumber, Doc: encode(n),
		Cols: map[string]any{"name": n.Name, "shared": n.Shared}}
}

// CreateNetworks creates one or more networks in one transaction.
func (s *Service) CreateNetworks(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.Network, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.NetworkInput, len(items))
	for i, a := range items {
		in, err := model.ParseNetwork(a, true)
		if err != nil {
			return nil, err
		}
		inputs[i] = in
	}
	var out []*model.Network
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for i, in := range inputs {
			project, err := callerProject(c, in.ProjectID)
			if err != nil {
				return err
			}
			if err := c.Authorize("create_network", policy.Target{Owner: project}, networkAttrs(items[i], in, true)...); err != nil {
				return err
			}
			if err := s.checkQuota(ctx, tx, project, "network", store.Networks, 1); err != nil {
				return err
			}
			now := model.Now()
			n := &model.Network{ID: model.NewID(), TenantID: project, ProjectID: project, AdminStateUp: true,
				MTU: model.DefaultMTU, Status: "ACTIVE", Subnets: []string{}, PortSecurityEnabled: true,
				AvailabilityZoneHints: []string{}, AvailabilityZones: []string{}, Tags: []string{},
				CreatedAt: now, UpdatedAt: now, RevisionNumber: 1}
			applyNetwork(n, in)
			if in.AZHints != nil {
				n.AvailabilityZoneHints = *in.AZHints
			}
			if in.Tags != nil {
				n.Tags = *in.Tags
			}
			if err := tx.Insert(ctx, store.Networks, networkRow(n)); err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	return out, err
}

func applyNetwork(n *model.Network, in *model.NetworkInput) {
	setIf(&n.Name, in.Name)
	setIf(&n.Description, in.Description)
	setIf(&n.AdminStateUp, in.AdminStateUp)
	setIf(&n.Shared, in.Shared)
	setIf(&n.PortSecurityEnabled, in.PortSecurity)
	setIf(&n.RouterExternal, in.RouterExternal)
	setIf(&n.MTU, in.MTU)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// UpdateNetwork applies a PUT.
func (s *Service) UpdateNetwork(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.Network, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	in, err := model.ParseNetwork(a, false)
	if err != nil {
		return nil, err
	}
	var n *model.Network
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var row store.Row
		if n, row, err = get[model.Network](ctx, tx, store.Networks, id, networkNotFound(id)); err != nil {
			return err
		}
		if !c.CanSeeNetwork(row.ProjectID, n.Shared, n.RouterExternal) {
			return networkNotFound(id)()
		}
		if err := c.Authorize("update_network", netTarget(row.ProjectID, n), networkAttrs(a, in, false)...); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, n.RevisionNumber); err != nil {
			return err
		}
		before := encode(n)
		applyNetwork(n, in)
		return s.saveIfChanged(ctx, tx, store.Networks, before, n, &n.RevisionNumber, &n.UpdatedAt, func() store.Row { return networkRow(n) })
	})
	return n, err
}

// saveIfChanged bumps revision and updated_at and writes the row, but only
// when the document actually changed (Neutron leaves the revision alone
// for a no-op update).
func (s *Service) saveIfChanged(ctx context.Context, tx store.Tx, t store.Table, before []byte, v any, rev *int64, updated *string, row func() store.Row) error {
	if string(encode(v)) == string(before) {
		return nil
	}
	*rev++
	*updated = model.Now()
	return tx.Update(ctx, t, row())
}

// DeleteNetwork deletes a network, its subnets and its network-owned
// ports; ports of VMs make it 409 NetworkInUse.
func (s *Service) DeleteNetwork(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		n, row, err := get[model.Network](ctx, tx, store.Networks, id, networkNotFound(id))
		if err != nil {
			return err
		}
		if !c.CanSeeNetwork(row.ProjectID, n.Shared, n.RouterExternal) {
			return networkNotFound(id)()
		}
		if err := c.Authorize("delete_network", netTarget(row.ProjectID, n)); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, n.RevisionNumber); err != nil {
			return err
		}
		ports, err := tx.List(ctx, store.Ports, store.Query{Eq: map[string][]string{"network_id": {id}}})
		if err != nil {
			return err
		}
		for _, pr := range ports {
			p, err := decode[model.Port](pr.Doc)
			if err != nil {
				return err
			}
			if !model.IsNetworkOwned(p.DeviceOwner) {
				return apierr.Conflict("NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
			}
		}
		for _, pr := range ports {
			if err := deletePortRow(ctx, tx, pr); err != nil {
				return err
			}
		}
		subnets, err := tx.List(ctx, store.Subnets, store.Query{Eq: map[string][]string{"network_id": {id}}})
		if err != nil {
			return err
		}
		for _, sr := range subnets {
			if err := tx.Delete(ctx, store.Subnets, sr.ID, sr.ProjectID, sr.Revision); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, store.Networks, id, row.ProjectID, n.RevisionNumber)
	})
}

// GetNetwork returns one visible network.
func (s *Service) GetNetwork(ctx context.Context, c policy.Caller, id string) (*model.Network, error) {
	var n *model.Network
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var row store.Row
		var err error
		n, row, err = get[model.Network](ctx, tx, store.Networks, id, networkNotFound(id))
		if err == nil && !c.CanSeeNetwork(row.ProjectID, n.Shared, n.RouterExternal) {
			err = networkNotFound(id)()
		}
		return err
	})
	return n, err
}

// visibleNetwork loads a network the caller may see.
func visibleNetwork(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.Network, store.Row, error) {
	n, row, err := get[model.Network](ctx, tx, store.Networks, id, networkNotFound(id))
	if err != nil {
		return nil, row, err
	}
	if !c.CanSeeNetwork(row.ProjectID, n.Shared, n.RouterExternal) {
		return nil, row, networkNotFound(id)()
	}
	return n, row, nil
}

// attachableNetwork is Neutron's network ownership check for a subnet or
// port created in project: the network must be visible (else
// NetworkNotFound) and, for a non-admin, shared or the project's own (an
// external network of another project is hidden behind a plain 404).
func attachableNetwork(ctx context.Context, tx store.Tx, c policy.Caller, id, project string) (*model.Network, store.Row, error) {
	n, row, err := visibleNetwork(ctx, tx, c, id)
	if err != nil {
		return nil, row, err
	}
	if !c.IsAdmin() && !n.Shared && row.ProjectID != project {
		return nil, row, apierr.NotFound("HTTPNotFound", "The resource could not be found.")
	}
	return n, row, nil
}

func removeString(list []string, v string) []string {
	return slices.DeleteFunc(list, func(s string) bool { return s == v })
}
