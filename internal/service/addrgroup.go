package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

func addrGroupRow(g *model.AddressGroup) store.Row {
	return store.Row{ID: g.ID, ProjectID: g.ProjectID, Revision: g.RevisionNumber, Doc: encode(g),
		Cols: map[string]any{"name": g.Name}}
}

// visibleAddressGroup loads an address group the caller may see.
func (s *Service) visibleAddressGroup(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.AddressGroup, store.Row, error) {
	g, row, err := get[model.AddressGroup](ctx, tx, store.AddressGroups, id, addrGroupNotFound(id))
	if err == nil && !c.Allowed("get_address_group", policy.Target{Owner: row.ProjectID}) {
		err = addrGroupNotFound(id)()
	}
	return g, row, err
}

// writableAddressGroup loads an address group the caller may see (else
// 404) and may apply action to (else 403).
func (s *Service) writableAddressGroup(ctx context.Context, tx store.Tx, c policy.Caller, id, action string) (*model.AddressGroup, store.Row, error) {
	g, row, err := s.visibleAddressGroup(ctx, tx, c, id)
	if err == nil {
		err = c.Authorize(action, policy.Target{Owner: row.ProjectID})
	}
	return g, row, err
}

// CreateAddressGroups creates address groups.
func (s *Service) CreateAddressGroups(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.AddressGroup, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.AddressGroupInput, len(items))
	for i, a := range items {
		in, err := model.ParseAddressGroup(a, true)
		if err != nil {
			return nil, err
		}
		inputs[i] = in
	}
	var out []*model.AddressGroup
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for _, in := range inputs {
			project, err := callerProject(c, in.ProjectID)
			if err != nil {
				return err
			}
			if err := c.Authorize("create_address_group", policy.Target{Owner: project}); err != nil {
				return err
			}
			now := model.Now()
			g := &model.AddressGroup{ID: model.NewID(), Name: deref(in.Name), Description: deref(in.Description),
				TenantID: project, ProjectID: project, Addresses: []string{}, CreatedAt: now, UpdatedAt: now}
			if in.Addresses != nil {
				g.Addresses = *in.Addresses
			}
			if err := tx.Insert(ctx, store.AddressGroups, addrGroupRow(g)); err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// GetAddressGroup returns one address group.
func (s *Service) GetAddressGroup(ctx context.Context, c policy.Caller, id string) (*model.AddressGroup, error) {
	var g *model.AddressGroup
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		g, _, err = s.visibleAddressGroup(ctx, tx, c, id)
		return err
	})
	return g, err
}

// UpdateAddressGroup applies a PUT (name, description).
func (s *Service) UpdateAddressGroup(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.AddressGroup, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	in, err := model.ParseAddressGroup(a, false)
	if err != nil {
		return nil, err
	}
	var g *model.AddressGroup
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = s.writableAddressGroup(ctx, tx, c, id, "update_address_group"); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, g.RevisionNumber); err != nil {
			return err
		}
		before := encode(g)
		setIf(&g.Name, in.Name)
		setIf(&g.Description, in.Description)
		return s.saveIfChanged(ctx, tx, store.AddressGroups, before, g, &g.RevisionNumber, &g.UpdatedAt, func() store.Row { return addrGroupRow(g) })
	})
	return g, err
}

// ChangeAddresses implements add_addresses (add=true) and
// remove_addresses, with body {"addresses": [...]}. As for Neutron's
// member actions the group is looked up (404) and the action authorized
// (403) before the body is read.
func (s *Service) ChangeAddresses(ctx context.Context, c policy.Caller, id string, body []byte, add bool) (*model.AddressGroup, error) {
	action := "remove_addresses"
	if add {
		action = "add_addresses"
	}
	var g *model.AddressGroup
	err := s.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if g, _, err = s.writableAddressGroup(ctx, tx, c, id, action); err != nil {
			return err
		}
		addrs, err := parseAddressesBody(body)
		if err != nil {
			return err
		}
		var bad []string
		for _, a := range addrs {
			if slices.Contains(g.Addresses, a) == add {
				bad = append(bad, a)
			}
		}
		if len(bad) > 0 {
			if add {
				return apierr.New(400, "AddressesAlreadyExist", "Addresses ['%s'] already exist in the address group %s.", strings.Join(bad, "', '"), id)
			}
			return apierr.New(400, "AddressesNotFound", "Addresses ['%s'] not found in the address group %s.", strings.Join(bad, "', '"), id)
		}
		before := encode(g)
		if add {
			g.Addresses = append(g.Addresses, addrs...)
		} else {
			g.Addresses = slices.DeleteFunc(g.Addresses, func(a string) bool { return slices.Contains(addrs, a) })
		}
		return s.saveIfChanged(ctx, tx, store.AddressGroups, before, g, &g.RevisionNumber, &g.UpdatedAt, func() store.Row { return addrGroupRow(g) })
	})
	return g, err
}

// DeleteAddressGroup deletes an address group no rule uses.
func (s *Service) DeleteAddressGroup(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		g, row, err := s.writableAddressGroup(ctx, tx, c, id, "delete_address_group")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, g.RevisionNumber); err != nil {
			return err
		}
		if n, err := tx.Count(ctx, store.Rules, "remote_address_group_id", id); err != nil {
			return err
		} else if n > 0 {
			return apierr.Conflict("AddressGroupInUse", "Address group %s is in use on one or more security group rules.", id)
		}
		return tx.Delete(ctx, store.AddressGroups, id, row.ProjectID, g.RevisionNumber)
	})
}

func parseAddressesBody(body []byte) ([]string, error) {
	var top model.Attrs
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, apierr.BadRequest("Body contains invalid data")
	}
	if err := top.CheckKnown(map[string]bool{"addresses": true}); err != nil {
		return nil, err
	}
	if !top.Has("addresses") {
		return nil, apierr.BadRequest("Failed to parse request. Required attribute 'addresses' not specified")
	}
	return model.ParseAddresses(top["addresses"], "addresses")
}
