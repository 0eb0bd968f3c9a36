package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/service"
)

// quotas serves /v2.0/quotas[/{project}[/default|/details]].
func (s *Server) quotas(w http.ResponseWriter, r *http.Request, c policy.Caller, seg []string) {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		list, err := s.svc.ListQuotas(ctx, c)
		if err != nil {
			s.writeError(w, err)
			return
		}
		if list == nil {
			list = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"quotas": list})
	case len(seg) == 1 && seg[0] == "tenant" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"tenant": map[string]string{"tenant_id": c.ProjectID}})
	case len(seg) == 1 && r.Method == http.MethodGet:
		q, err := s.svc.GetQuota(ctx, c, seg[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"quota": q})
	case len(seg) == 1 && r.Method == http.MethodPut:
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		q, err := s.svc.UpdateQuota(ctx, c, seg[0], body)
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"quota": q})
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if err := s.svc.ResetQuota(ctx, c, seg[0]); err != nil {
			s.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(seg) == 2 && seg[1] == "default" && r.Method == http.MethodGet:
		q, err := s.svc.GetDefaultQuota(c, seg[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"quota": q})
	case len(seg) == 2 && seg[1] == "details" && r.Method == http.MethodGet:
		d, err := s.svc.GetQuotaDetails(ctx, c, seg[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"quota": d})
	case len(seg) <= 2:
		methodNotAllowed(w)
	default:
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
	}
}

// tags serves /v2.0/{collection}/{id}/tags[/{tag}].
func (s *Server) tags(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection, id, tag string, one bool) {
	ctx := r.Context()
	tagNotFound := func() error {
		return apierr.NotFound("TagNotFound", "Tag %s could not be found for %s %s.", tag, col.singular, id)
	}
	if one {
		if err := service.ValidateTag(tag); err != nil {
			s.writeError(w, err)
			return
		}
	}
	var status int
	var fn func([]string) ([]string, bool, error)
	op := service.TagUpdate
	switch {
	case r.Method == http.MethodGet && !one:
		op, status = service.TagRead, http.StatusOK
		fn = func(t []string) ([]string, bool, error) { return t, false, nil }
	case r.Method == http.MethodGet && one:
		op, status = service.TagRead, http.StatusNoContent
		fn = func(t []string) ([]string, bool, error) {
			if !slices.Contains(t, tag) {
				return nil, false, tagNotFound()
			}
			return t, false, nil
		}
	case r.Method == http.MethodPut && one:
		status = http.StatusCreated
		fn = func(t []string) ([]string, bool, error) {
			if slices.Contains(t, tag) {
				return t, false, nil
			}
			return append(t, tag), true, nil
		}
	case r.Method == http.MethodPut && !one:
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		var in model.Attrs
		if err := json.Unmarshal(body, &in); err != nil || in == nil {
			s.writeError(w, apierr.BadRequest("Body contains invalid data"))
			return
		}
		if err := in.CheckKnown(map[string]bool{"tags": true}); err != nil {
			s.writeError(w, err)
			return
		}
		newTags, ok, err := in.StringList("tags", 255)
		if err == nil && !ok {
			err = apierr.BadRequest("Failed to parse request. Required attribute 'tags' not specified")
		}
		if err != nil {
			s.writeError(w, err)
			return
		}
		var uniq []string
		for _, t := range newTags {
			if err := service.ValidateTag(t); err != nil {
				s.writeError(w, err)
				return
			}
			if !slices.Contains(uniq, t) {
				uniq = append(uniq, t)
			}
		}
		if uniq == nil {
			uniq = []string{}
		}
		status = http.StatusOK
		fn = func(t []string) ([]string, bool, error) { return uniq, !slices.Equal(t, uniq), nil }
	case r.Method == http.MethodDelete && one:
		op, status = service.TagDelete, http.StatusNoContent
		fn = func(t []string) ([]string, bool, error) {
			if !slices.Contains(t, tag) {
				return nil, false, tagNotFound()
			}
			return slices.DeleteFunc(t, func(x string) bool { return x == tag }), true, nil
		}
	case r.Method == http.MethodDelete && !one:
		op, status = service.TagDelete, http.StatusNoContent
		fn = func(t []string) ([]string, bool, error) { return []string{}, len(t) > 0, nil }
	default:
		methodNotAllowed(w)
		return
	}
	tags, err := s.svc.Tags(ctx, c, col.table, id, op, fn)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if status == http.StatusOK {
		if tags == nil {
			tags = []string{}
		}
		writeJSON(w, status, map[string]any{"tags": tags})
		return
	}
	w.WriteHeader(status)
}
