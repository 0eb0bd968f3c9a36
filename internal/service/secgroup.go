package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

func groupRow(g *model.SecurityGroup) store.Row {
	stored := *g
	stored.SecurityGroupRules = []model.SecurityGroupRule{} // rules live in their own table
	return store.Row{ID: g.ID, ProjectID: g.ProjectID, Revision: g.RevisionNumber, Doc: encode(&stored),
		Cols: map[string]any{"name": g.Name}}
}

func ruleRow(r *model.SecurityGroupRule) store.Row {
	return store.Row{ID: r.ID, ProjectID: r.ProjectID, Revision: r.RevisionNumber, Doc: encode(r),
		Cols: map[string]any{"security_group_id": r.SecurityGroupID, "remote_group_id": r.RemoteGroupID,
			"remote_address_group_id": r.RemoteAddressGroupID, "fingerprint": model.RuleFingerprint(r)}}
}

// EnsureDefaultGroup creates the project's "default" group (with its four
// rules) the first time the project touches the API, as Neutron does.
func (s *Service) EnsureDefaultGroup(ctx context.Context, project string) error {
	if project == "" {
		return nil
	}
	var exists bool
	if err := s.st.Read(ctx, func(tx store.Tx) error {
		_, err := tx.DefaultGroup(ctx, project)
		exists = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil || exists {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.DefaultGroup(ctx, project); err == nil {
			return nil // created concurrently
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		g, err := insertGroup(ctx, tx, project, "default", "Default security group", true, true)
		if err != nil {
			return err
		}
		return tx.SetDefaultGroup(ctx, project, g.ID)
	})
}

// insertGroup writes a new group with Neutron's two egress rules.
// With ingressFromSelf (the default group) each family also gets an
// ingress rule from the group itself, numbered before its egress rule as
// Neutron numbers them.
func insertGroup(ctx context.Context, tx store.Tx, project, name, desc string, stateful, ingressFromSelf bool) (*model.SecurityGroup, error) {
	now := model.Now()
	g := &model.SecurityGroup{ID: model.NewID(), Name: name, Stateful: stateful, TenantID: project, ProjectID: project,
		Description: desc, SecurityGroupRules: []model.SecurityGroupRule{}, Tags: []string{},
		CreatedAt: now, UpdatedAt: now, RevisionNumber: 1}
	if err := tx.Insert(ctx, store.SecurityGroups, groupRow(g)); err != nil {
		return nil, err
	}
	for _, eth := range []string{"IPv4", "IPv6"} {
		if ingressFromSelf {
			remote := g.ID
			if _, err := insertRule(ctx, tx, g, &model.SecurityGroupRule{Direction: "ingress", Ethertype: eth, RemoteGroupID: &remote}, false); err != nil {
				return nil, err
			}
		}
		if _, err := insertRule(ctx, tx, g, &model.SecurityGroupRule{Direction: "egress", Ethertype: eth}, false); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// insertRule stores r in group g (bumping g's revision, as a rule change
// revises its group) and returns it; a duplicate is 409 with the id of
// the rule that already exists.
func insertRule(ctx context.Context, tx store.Tx, g *model.SecurityGroup, r *model.SecurityGroupRule, revise bool) (*model.SecurityGroupRule, error) {
	fp := model.RuleFingerprint(r)
	dups, err := tx.List(ctx, store.Rules, store.Query{Eq: map[string][]string{"security_group_id": {g.ID}, "fingerprint": {fp}}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(dups) > 0 {
		return nil, apierr.Conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", dups[0].ID)
	}
	attrID, err := tx.NextCounter(ctx, "standard_attr")
	if err != nil {
		return nil, err
	}
	now := model.Now()
	r.ID = model.NewID()
	r.SecurityGroupID = g.ID
	r.TenantID, r.ProjectID = g.ProjectID, g.ProjectID
	r.StandardAttrID = &attrID
	r.Tags = &[]string{}
	r.CreatedAt, r.UpdatedAt = now, now
	if err := tx.Insert(ctx, store.Rules, ruleRow(r)); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, apierr.Conflict("SecurityGroupRuleExists", "Security group rule already exists.")
		}
		return nil, err
	}
	g.SecurityGroupRules = append(g.SecurityGroupRules, *r)
	if !revise {
		return r, nil
	}
	g.RevisionNumber++
	g.UpdatedAt = now
	return r, tx.Update(ctx, store.SecurityGroups, groupRow(g))
}

// CreateSecurityGroups creates groups (bulk is one transaction).
func (s *Service) CreateSecurityGroups(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.SecurityGroup, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.SecurityGroupInput, len(items))
	for i, a := range items {
		in, err := model.ParseSecurityGroup(a, true)
		if err != nil {
			return nil, err
		}
		inputs[i] = in
	}
	var out []*model.SecurityGroup
	for _, in := range inputs {
		project, err := callerProject(c, in.ProjectID)
		if err != nil {
			return nil, err
		}
		if err := c.Authorize("create_security_group", policy.Target{Owner: project}); err != nil {
			return nil, err
		}
	}
	for _, in := range inputs {
		project, _ := callerProject(c, in.ProjectID)
		if err := s.EnsureDefaultGroup(ctx, project); err != nil {
			return nil, err
		}
	}
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for _, in := range inputs {
			project, _ := callerProject(c, in.ProjectID)
			name := deref(in.Name)
			if strings.EqualFold(name, "default") {
				return apierr.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
			}
			if err := s.checkQuota(ctx, tx, project, "security_group", store.SecurityGroups, 1); err != nil {
				return err
			}
			if err := s.checkQuota(ctx, tx, project, "security_group_rule", store.Rules, 2); err != nil {
				return err
			}
			stateful := true
			setIf(&stateful, in.Stateful)
			g, err := insertGroup(ctx, tx, project, name, deref(in.Description), stateful, false)
			if err != nil {
				return err
			}
			if in.Tags != nil {
				g.Tags = *in.Tags
				if err := tx.Update(ctx, store.SecurityGroups, groupRow(g)); err != nil {
					return err
				}
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// visibleGroup loads a security group the caller may see.
func (s *Service) visibleGroup(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.SecurityGroup, store.Row, error) {
	g, row, err := get[model.SecurityGroup](ctx, tx, store.SecurityGroups, id, groupNotFound(id))
	if err == nil && !c.Allowed("get_security_group", policy.Target{Owner: row.ProjectID}) {
		err = groupNotFound(id)()
	}
	return g, row, err
}

// writableGroup loads a security group the caller may see (else 404) and
// may apply action to (else 403).
func (s *Service) writableGroup(ctx context.Context, tx store.Tx, c policy.Caller, id, action string) (*model.SecurityGroup, store.Row, error) {
	g, row, err := s.visibleGroup(ctx, tx, c, id)
	if err == nil {
		err = c.Authorize(action, policy.Target{Owner: row.ProjectID})
	}
	return g, row, err
}

// GetSecurityGroup returns a group with its rules.
func (s *Service) GetSecurityGroup(ctx context.Context, c policy.Caller, id string) (*model.SecurityGroup, error) {
	var g *model.SecurityGroup
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var row store.Row
		var err error
		if g, row, err = s.visibleGroup(ctx, tx, c, id); err != nil {
			return err
		}
		raw := []json.RawMessage{row.Doc}
		if err := attachRules(ctx, tx, raw); err != nil {
			return err
		}
		g, err = decode[model.SecurityGroup](raw[0])
		return err
	})
	return g, err
}

// UpdateSecurityGroup applies a PUT.
func (s *Service) UpdateSecurityGroup(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.SecurityGroup, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	in, err := model.ParseSecurityGroup(a, false)
	if err != nil {
		return nil, err
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		g, _, err := s.writableGroup(ctx, tx, c, id, "update_security_group")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, g.RevisionNumber); err != nil {
			return err
		}
		isDefault, err := tx.IsDefaultGroup(ctx, id)
		if err != nil {
			return err
		}
		if in.Name != nil && *in.Name != g.Name {
			if isDefault {
				return apierr.Conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
			}
			if strings.EqualFold(*in.Name, "default") {
				return apierr.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
			}
		}
		if in.Stateful != nil && *in.Stateful != g.Stateful {
			if n, err := tx.PortsUsingGroup(ctx, id); err != nil {
				return err
			} else if n > 0 {
				return apierr.Conflict("SecurityGroupInUse", "Security Group %s in use.", id)
			}
		}
		before := encode(g)
		setIf(&g.Name, in.Name)
		setIf(&g.Description, in.Description)
		setIf(&g.Stateful, in.Stateful)
		return s.saveIfChanged(ctx, tx, store.SecurityGroups, before, g, &g.RevisionNumber, &g.UpdatedAt, func() store.Row { return groupRow(g) })
	})
	if err != nil {
		return nil, err
	}
	return s.GetSecurityGroup(ctx, c, id)
}

// DeleteSecurityGroup deletes an unused group, its rules, and the rules of
// other groups that name it as their remote group.
func (s *Service) DeleteSecurityGroup(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		g, row, err := s.writableGroup(ctx, tx, c, id, "delete_security_group")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, g.RevisionNumber); err != nil {
			return err
		}
		if n, err := tx.PortsUsingGroup(ctx, id); err != nil {
			return err
		} else if n > 0 {
			return apierr.Conflict("SecurityGroupInUse", "Security Group %s in use.", id)
		}
		isDefault, err := tx.IsDefaultGroup(ctx, id)
		if err != nil {
			return err
		}
		if isDefault {
			if !c.IsAdmin() {
				return apierr.Conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
			}
			if err := tx.DeleteDefaultGroup(ctx, row.ProjectID); err != nil {
				return err
			}
		}
		own, err := tx.List(ctx, store.Rules, store.Query{Eq: map[string][]string{"security_group_id": {id}}})
		if err != nil {
			return err
		}
		for _, r := range own {
			if err := tx.Delete(ctx, store.Rules, r.ID, r.ProjectID, r.Revision); err != nil {
				return err
			}
		}
		referring, err := tx.List(ctx, store.Rules, store.Query{Eq: map[string][]string{"remote_group_id": {id}}})
		if err != nil {
			return err
		}
		for _, r := range referring {
			if err := deleteRuleRow(ctx, tx, r); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, store.SecurityGroups, id, row.ProjectID, g.RevisionNumber)
	})
}

// CreateRules creates security group rules (bulk is one transaction).
func (s *Service) CreateRules(ctx context.Context, c policy.Caller, items []model.Attrs) ([]*model.SecurityGroupRule, error) {
	if err := checkBodies(c, items); err != nil {
		return nil, err
	}
	inputs := make([]*model.SecurityGroupRule, len(items))
	for i, a := range items {
		r, err := model.ParseRuleCreate(a)
		if err != nil {
			return nil, err
		}
		inputs[i] = r
	}
	var out []*model.SecurityGroupRule
	err := s.st.Write(ctx, func(tx store.Tx) error {
		out = out[:0]
		for i, r := range inputs {
			// The rule is checked as the body describes it (the caller's
			// project unless an admin names another), then the groups it
			// names must be visible.
			project, _ := rawString(items[i], "project_id")
			if project == "" {
				project, _ = rawString(items[i], "tenant_id")
			}
			if project == "" {
				project = c.ProjectID
			}
			if err := c.Authorize("create_security_group_rule", policy.Target{Owner: project}); err != nil {
				return err
			}
			if r.RemoteGroupID != nil {
				if _, _, err := s.visibleGroup(ctx, tx, c, *r.RemoteGroupID); err != nil {
					return err
				}
			}
			if r.RemoteAddressGroupID != nil {
				if _, _, err := s.visibleAddressGroup(ctx, tx, c, *r.RemoteAddressGroupID); err != nil {
					return err
				}
			}
			g, _, err := s.visibleGroup(ctx, tx, c, r.SecurityGroupID)
			if err != nil {
				return err
			}
			if err := s.checkQuota(ctx, tx, g.ProjectID, "security_group_rule", store.Rules, 1); err != nil {
				return err
			}
			created, err := insertRule(ctx, tx, g, r, true)
			if err != nil {
				return err
			}
			out = append(out, created)
		}
		return nil
	})
	return out, err
}

// PublicRule strips the attributes a rule shows only inside its group.
func PublicRule(r *model.SecurityGroupRule) *model.SecurityGroupRule {
	cp := *r
	cp.StandardAttrID, cp.Tags = nil, nil
	return &cp
}

// visibleRule loads a rule the caller may see.
func (s *Service) visibleRule(ctx context.Context, tx store.Tx, c policy.Caller, id string) (*model.SecurityGroupRule, store.Row, error) {
	r, row, err := get[model.SecurityGroupRule](ctx, tx, store.Rules, id, ruleNotFound(id))
	if err == nil && !c.Allowed("get_security_group_rule", policy.Target{Owner: row.ProjectID}) {
		err = ruleNotFound(id)()
	}
	return r, row, err
}

// writableRule loads a rule the caller may see (else 404) and may apply
// action to (else 403).
func (s *Service) writableRule(ctx context.Context, tx store.Tx, c policy.Caller, id, action string) (*model.SecurityGroupRule, store.Row, error) {
	r, row, err := s.visibleRule(ctx, tx, c, id)
	if err == nil {
		err = c.Authorize(action, policy.Target{Owner: row.ProjectID})
	}
	return r, row, err
}

// GetRule returns one rule.
func (s *Service) GetRule(ctx context.Context, c policy.Caller, id string) (*model.SecurityGroupRule, error) {
	var r *model.SecurityGroupRule
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		r, _, err = s.visibleRule(ctx, tx, c, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return PublicRule(r), nil
}

// UpdateRule changes a rule's description, the only mutable attribute.
func (s *Service) UpdateRule(ctx context.Context, c policy.Caller, id string, a model.Attrs, ifMatch IfMatch) (*model.SecurityGroupRule, error) {
	if err := checkBodyProject(c, a); err != nil {
		return nil, err
	}
	ruleAttrs := map[string]bool{"description": true}
	for k := range model.RuleCreateAttrs {
		ruleAttrs[k] = true
	}
	for _, k := range []string{"id", "normalized_cidr", "created_at", "updated_at", "revision_number"} {
		ruleAttrs[k] = true
	}
	if err := a.CheckKnown(ruleAttrs); err != nil {
		return nil, err
	}
	for k := range a {
		if k != "description" {
			return nil, apierr.BadRequest("Cannot update read-only attribute %s", k)
		}
	}
	desc, _, err := a.NullableString("description", 255)
	if err != nil {
		return nil, err
	}
	var r *model.SecurityGroupRule
	err = s.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if r, _, err = s.writableRule(ctx, tx, c, id, "update_security_group_rule"); err != nil {
			return err
		}
		if err := checkRevision(ifMatch, r.RevisionNumber); err != nil {
			return err
		}
		before := encode(r)
		if a.Has("description") {
			r.Description = desc
		}
		return s.saveIfChanged(ctx, tx, store.Rules, before, r, &r.RevisionNumber, &r.UpdatedAt, func() store.Row { return ruleRow(r) })
	})
	if err != nil {
		return nil, err
	}
	return PublicRule(r), nil
}

// DeleteRule deletes one rule.
func (s *Service) DeleteRule(ctx context.Context, c policy.Caller, id string, ifMatch IfMatch) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		r, row, err := s.writableRule(ctx, tx, c, id, "delete_security_group_rule")
		if err != nil {
			return err
		}
		if err := checkRevision(ifMatch, r.RevisionNumber); err != nil {
			return err
		}
		return deleteRuleRow(ctx, tx, row)
	})
}

// deleteRuleRow removes a rule and revises its group.
func deleteRuleRow(ctx context.Context, tx store.Tx, row store.Row) error {
	r, err := decode[model.SecurityGroupRule](row.Doc)
	if err != nil {
		return err
	}
	if err := tx.Delete(ctx, store.Rules, row.ID, row.ProjectID, row.Revision); err != nil {
		return err
	}
	g, _, err := get[model.SecurityGroup](ctx, tx, store.SecurityGroups, r.SecurityGroupID, groupNotFound(r.SecurityGroupID))
	if err != nil {
		return fmt.Errorf("service: rule %s without group: %w", row.ID, err)
	}
	g.RevisionNumber++
	g.UpdatedAt = model.Now()
	return tx.Update(ctx, store.SecurityGroups, groupRow(g))
}
