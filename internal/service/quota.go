package service

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

var quotaTables = map[string]store.Table{
	"network": store.Networks, "subnet": store.Subnets, "port": store.Ports,
	"security_group": store.SecurityGroups, "security_group_rule": store.Rules,
}

// QuotaSet is a project's limits by resource.
type QuotaSet map[string]int

func (s *Service) effective(explicit map[string]int) QuotaSet {
	out := QuotaSet{}
	for r, def := range s.cfg.DefaultQuotas {
		out[r] = def
		if v, ok := explicit[r]; ok {
			out[r] = v
		}
	}
	return out
}

// quotaAccess: any caller reads its own project's quotas; another
// project's need get_quota (admin).
func quotaAccess(c policy.Caller, project string) error {
	if project == c.ProjectID {
		return nil
	}
	return c.Authorize("get_quota", policy.Target{Owner: c.ProjectID})
}

// DefaultQuotas returns the configured defaults.
func (s *Service) DefaultQuotas() QuotaSet { return s.effective(nil) }

// GetDefaultQuota returns the defaults as project sees them (another
// project's need get_quota, as for GetQuota).
func (s *Service) GetDefaultQuota(c policy.Caller, project string) (QuotaSet, error) {
	if err := quotaAccess(c, project); err != nil {
		return nil, err
	}
	return s.DefaultQuotas(), nil
}

// GetQuota returns a project's effective limits.
func (s *Service) GetQuota(ctx context.Context, c policy.Caller, project string) (QuotaSet, error) {
	if err := quotaAccess(c, project); err != nil {
		return nil, err
	}
	var out QuotaSet
	err := s.st.Read(ctx, func(tx store.Tx) error {
		q, err := tx.Quotas(ctx, project)
		out = s.effective(q)
		return err
	})
	return out, err
}

// QuotaDetail is one resource's limit and use.
type QuotaDetail struct {
	Limit    int `json:"limit"`
	Used     int `json:"used"`
	Reserved int `json:"reserved"`
}

// GetQuotaDetails returns limit and usage per resource.
func (s *Service) GetQuotaDetails(ctx context.Context, c policy.Caller, project string) (map[string]QuotaDetail, error) {
	if project != c.ProjectID && !c.IsAdmin() {
		return nil, apierr.New(403, "AdminRequired", "User does not have admin privileges: Only admin is authorized to access quotas for another project.")
	}
	out := map[string]QuotaDetail{}
	err := s.st.Read(ctx, func(tx store.Tx) error {
		q, err := tx.Quotas(ctx, project)
		if err != nil {
			return err
		}
		for r, limit := range s.effective(q) {
			used, err := tx.CountByProject(ctx, quotaTables[r], project)
			if err != nil {
				return err
			}
			out[r] = QuotaDetail{Limit: limit, Used: used}
		}
		return nil
	})
	return out, err
}

// ListQuotas returns every project with explicit limits (admin only).
func (s *Service) ListQuotas(ctx context.Context, c policy.Caller) ([]map[string]any, error) {
	if err := c.Authorize("get_quota", policy.Target{Owner: c.ProjectID}); err != nil {
		return nil, err
	}
	var out []map[string]any
	err := s.st.Read(ctx, func(tx store.Tx) error {
		projects, err := tx.QuotaProjects(ctx)
		if err != nil {
			return err
		}
		sort.Strings(projects)
		for _, p := range projects {
			q, err := tx.Quotas(ctx, p)
			if err != nil {
				return err
			}
			m := map[string]any{"project_id": p, "tenant_id": p}
			for r, v := range s.effective(q) {
				m[r] = v
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// UpdateQuota sets limits from {"quota": {"port": 50, ...}} (admin only).
func (s *Service) UpdateQuota(ctx context.Context, c policy.Caller, project string, body []byte) (QuotaSet, error) {
	if err := c.Authorize("update_quota", policy.Target{Owner: c.ProjectID}); err != nil {
		return nil, err
	}
	items, _, err := model.ParseBody(body, "quota", "", false)
	if err != nil {
		return nil, err
	}
	a := items[0]
	limits := map[string]int{}
	for k, raw := range a {
		if _, ok := quotaTables[k]; !ok {
			return nil, apierr.BadRequest("Unrecognized attribute(s) '%s'", k)
		}
		v, _, err := a.Int(k)
		if err != nil || v == nil {
			return nil, apierr.InvalidAttr(k, "'"+string(json.RawMessage(raw))+"' is not an integer")
		}
		if *v < -1 {
			return nil, apierr.InvalidAttr(k, "quota limits must be -1 (unlimited) or greater")
		}
		limits[k] = *v
	}
	var out QuotaSet
	err = s.st.Write(ctx, func(tx store.Tx) error {
		for r, v := range limits {
			if err := tx.SetQuota(ctx, project, r, v); err != nil {
				return err
			}
		}
		q, err := tx.Quotas(ctx, project)
		out = s.effective(q)
		return err
	})
	return out, err
}

// ResetQuota removes a project's explicit limits (admin only).
func (s *Service) ResetQuota(ctx context.Context, c policy.Caller, project string) error {
	if err := c.Authorize("delete_quota", policy.Target{Owner: c.ProjectID}); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error { return tx.DeleteQuotas(ctx, project) })
}
