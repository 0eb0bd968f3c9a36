package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// This file gathers what the service tells internal/policy about a
// request: the project a body names, the network a resource is on, and
// the attributes a body sets that have their own rules. The decisions
// are policy's.

// checkBodyProject is neutron-lib's populate_project_id, the first check
// of every create and update body: project_id and tenant_id must agree,
// and only an admin may name another project (400, before the body's
// other attributes are looked at).
func checkBodyProject(c policy.Caller, a model.Attrs) error {
	p, okP := rawString(a, "project_id")
	t, okT := rawString(a, "tenant_id")
	if okP && okT && p != t {
		return apierr.BadRequest("'project_id' and 'tenant_id' do not match")
	}
	if !okP {
		p, okP = t, okT
	}
	if !okP {
		return nil
	}
	return c.CheckBodyProject(p)
}

// rawString reads a body attribute as sent: ok when present; a value
// that is not a string never equals a project id.
func rawString(a model.Attrs, name string) (string, bool) {
	raw, ok := a[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "\x00not a string", true
	}
	return s, true
}

func checkBodies(c policy.Caller, items []model.Attrs) error {
	for _, a := range items {
		if err := checkBodyProject(c, a); err != nil {
			return err
		}
	}
	return nil
}

// netTarget is the policy target of a network, or of a subnet or port
// (owned by owner) on it.
func netTarget(owner string, n *model.Network) policy.Target {
	return policy.Target{Owner: owner, Network: &policy.Network{Owner: n.ProjectID, Shared: n.Shared, External: n.RouterExternal}}
}

// networkOf loads the network a subnet or port is on.
func networkOf(ctx context.Context, tx store.Tx, id string) (*model.Network, error) {
	n, _, err := get[model.Network](ctx, tx, store.Networks, id, networkNotFound(id))
	return n, err
}

// listKeys returns the keys of every object of a JSON list, in the order
// they were sent (Neutron names a rule after each).
func listKeys(raw json.RawMessage) []string {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var keys []string
	for _, it := range items {
		dec := json.NewDecoder(bytes.NewReader(it))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			continue
		}
		for dec.More() {
			tok, err := dec.Token()
			k, isKey := tok.(string)
			var skip json.RawMessage
			if err != nil || !isKey || dec.Decode(&skip) != nil {
				break
			}
			keys = append(keys, k)
		}
	}
	return keys
}

// networkAttrs are the attributes of a network body with their own rules,
// in the order Neutron's attribute map lists them.
func networkAttrs(a model.Attrs, in *model.NetworkInput, create bool) []policy.Attr {
	var out []policy.Attr
	add := func(name string, set bool) {
		if set {
			out = append(out, policy.Attr{Name: name})
		}
	}
	add("shared", in.Shared != nil && (!create || *in.Shared))
	add("router:external", in.RouterExternal != nil && (!create || *in.RouterExternal))
	if a.Has("mtu") {
		v, _, _ := a.Int("mtu")
		add("mtu", !create || v == nil || *v != 0)
	}
	add("port_security_enabled", in.PortSecurity != nil && (!create || !*in.PortSecurity))
	return out
}

// portAttrs are the attributes of a port body with their own rules, in
// the order Neutron's attribute map lists them (core, then the
// allowed-address-pairs, binding and port-security extensions).
func portAttrs(a model.Attrs, in *model.PortInput, create bool) []policy.Attr {
	var out []policy.Attr
	for _, name := range []string{"mac_address", "fixed_ips", "device_owner", "allowed_address_pairs",
		"binding:vnic_type", "binding:host_id", "binding:profile", "port_security_enabled"} {
		if !a.Has(name) {
			continue
		}
		at := policy.Attr{Name: name}
		switch name {
		case "fixed_ips", "allowed_address_pairs":
			at.Keys = listKeys(a[name])
		case "device_owner":
			if in.DeviceOwner != nil {
				at.Value = *in.DeviceOwner
			}
			if create && at.Value == "" {
				continue // the default
			}
		case "binding:vnic_type":
			if create && in.VNICType != nil && *in.VNICType == "normal" {
				continue // the default
			}
		}
		out = append(out, at)
	}
	return out
}

// visibleRow reports whether the caller may see row of t (the marker of
// a list, the parent of tags). Subnets need their network.
func visibleRow(ctx context.Context, tx store.Tx, c policy.Caller, t store.Table, row store.Row) (bool, error) {
	switch t {
	case store.Networks:
		n, err := decode[model.Network](row.Doc)
		if err != nil {
			return false, err
		}
		return c.CanSeeNetwork(row.ProjectID, n.Shared, n.RouterExternal), nil
	case store.Subnets:
		if c.CanSeeSubnet(row.ProjectID, false) {
			return true, nil
		}
		sn, err := decode[model.Subnet](row.Doc)
		if err != nil {
			return false, err
		}
		n, err := networkOf(ctx, tx, sn.NetworkID)
		if err != nil {
			return false, err
		}
		return c.CanSeeSubnet(row.ProjectID, n.Shared), nil
	}
	return c.CanSee(row.ProjectID, false), nil
}

// getVisible loads a row of t that the caller may see, or t's 404.
func getVisible(ctx context.Context, tx store.Tx, c policy.Caller, t store.Table, id string) (store.Row, error) {
	row, err := tx.Get(ctx, t, id)
	if errors.Is(err, store.ErrNotFound) {
		return row, NotFoundFor(t, id)
	}
	if err != nil {
		return row, err
	}
	ok, err := visibleRow(ctx, tx, c, t, row)
	if err != nil {
		return row, err
	}
	if !ok {
		return row, NotFoundFor(t, id)
	}
	return row, nil
}

// tagAction names a tag rule: update_network:tags, delete_port:tags, ...
func tagAction(op string, t store.Table) string {
	return op + "_" + store.Resource[t] + ":tags"
}
