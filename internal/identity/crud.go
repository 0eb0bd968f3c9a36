package identity

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// The identity CRUD endpoints. Their bodies follow Keystone v3.

func boolPtr(m map[string]any, k string) (*bool, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return nil, nil
	}
	b, ok := v.(bool)
	if !ok {
		return nil, badRequest("Invalid input for field '%s': %v is not of type 'boolean'", k, v)
	}
	return &b, nil
}

func strField(m map[string]any, k string, maxLen int) (string, bool, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok || (maxLen > 0 && len(s) > maxLen) {
		return "", true, badRequest("Invalid input for field '%s': %v is not a valid string of at most %d characters", k, v, maxLen)
	}
	return s, true, nil
}

func (h *Handler) body(r *http.Request, key string) (map[string]any, error) {
	var top map[string]map[string]any
	if err := decodeBody(r, &top); err != nil {
		return nil, err
	}
	m, ok := top[key]
	if !ok || m == nil {
		return nil, badRequest("Expecting to find %s in request body - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", key)
	}
	return m, nil
}

func (h *Handler) domainJSON(base string, d Domain) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "enabled": d.Enabled,
		"tags": []string{}, "options": map[string]any{}, "links": selfLink(base, "domains", d.ID)}
}

func (h *Handler) domains(ctx context.Context, r *http.Request, seg []string) (any, int, error) {
	ds, err := h.svc.st.Domains(ctx)
	if err != nil {
		return nil, 0, err
	}
	base := h.base(r)
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		out := []any{}
		for _, d := range ds {
			if matchName(r, d.Name) {
				out = append(out, h.domainJSON(base, d))
			}
		}
		return map[string]any{"domains": out, "links": listLinks(r, base)}, 200, nil
	case len(seg) == 1 && r.Method == http.MethodGet:
		for _, d := range ds {
			if d.ID == seg[0] {
				return map[string]any{"domain": h.domainJSON(base, d)}, 200, nil
			}
		}
		return nil, 0, notFound("domain", seg[0])
	}
	return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
}

func (h *Handler) projectJSON(base string, p Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "description": p.Description,
		"enabled": p.Enabled, "parent_id": p.DomainID, "is_domain": false, "tags": []string{}, "options": map[string]any{},
		"links": selfLink(base, "projects", p.ID)}
}

func (h *Handler) projects(ctx context.Context, r *http.Request, seg []string) (any, int, error) {
	base := h.base(r)
	ps, err := h.svc.st.Projects(ctx)
	if err != nil {
		return nil, 0, err
	}
	find := func(id string) (Project, error) {
		for _, p := range ps {
			if p.ID == id {
				return p, nil
			}
		}
		return Project{}, notFound("project", id)
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		out := []any{}
		dom, hasDom := queryFilter(r, "domain_id")
		for _, p := range ps {
			if matchName(r, p.Name) && (!hasDom || p.DomainID == dom) {
				out = append(out, h.projectJSON(base, p))
			}
		}
		return map[string]any{"projects": out, "links": listLinks(r, base)}, 200, nil
	case len(seg) == 0 && r.Method == http.MethodPost:
		m, err := h.body(r, "project")
		if err != nil {
			return nil, 0, err
		}
		p := Project{ID: newID(), DomainID: DefaultDomainID, Enabled: true}
		if err := h.applyProject(ctx, &p, m, true); err != nil {
			return nil, 0, err
		}
		if err := h.svc.st.CreateProject(ctx, p); err != nil {
			if err == ErrConflict {
				return nil, 0, conflict("Conflict occurred attempting to store project - Duplicate entry found with name %s at domain ID %s.", p.Name, p.DomainID)
			}
			return nil, 0, err
		}
		return map[string]any{"project": h.projectJSON(base, p)}, 201, nil
	case len(seg) == 1:
		p, err := find(seg[0])
		if err != nil {
			return nil, 0, err
		}
		switch r.Method {
		case http.MethodGet:
			return map[string]any{"project": h.projectJSON(base, p)}, 200, nil
		case http.MethodPatch:
			m, err := h.body(r, "project")
			if err != nil {
				return nil, 0, err
			}
			if err := h.applyProject(ctx, &p, m, false); err != nil {
				return nil, 0, err
			}
			if err := h.svc.st.UpdateProject(ctx, p); err != nil {
				if err == ErrConflict {
					return nil, 0, conflict("Conflict occurred attempting to store project - Duplicate entry found with name %s at domain ID %s.", p.Name, p.DomainID)
				}
				return nil, 0, err
			}
			h.svc.forget()
			return map[string]any{"project": h.projectJSON(base, p)}, 200, nil
		case http.MethodDelete:
			if err := h.svc.st.DeleteProject(ctx, p.ID); err != nil {
				return nil, 0, err
			}
			h.svc.forget()
			return nil, http.StatusNoContent, nil
		}
	}
	return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
}

func (h *Handler) applyProject(ctx context.Context, p *Project, m map[string]any, create bool) error {
	for k := range m {
		switch k {
		case "name", "description", "enabled", "tags", "options":
		case "domain_id", "parent_id", "is_domain":
			if !create {
				return badRequest("Invalid input for field '%s': it cannot be updated.", k)
			}
		default:
			return badRequest("Invalid input for field '%s': additional properties are not allowed.", k)
		}
	}
	if name, ok, err := strField(m, "name", 64); err != nil {
		return err
	} else if ok {
		if strings.TrimSpace(name) == "" {
			return badRequest("Invalid input for field 'name': the name must not be empty.")
		}
		p.Name = name
	} else if create {
		return badRequest("Invalid input for field 'name': 'name' is a required property")
	}
	if d, ok, err := strField(m, "description", 0); err != nil {
		return err
	} else if ok {
		p.Description = d
	}
	if b, err := boolPtr(m, "enabled"); err != nil {
		return err
	} else if b != nil {
		p.Enabled = *b
	}
	if isDom, err := boolPtr(m, "is_domain"); err != nil {
		return err
	} else if isDom != nil && *isDom {
		return badRequest("Invalid input for field 'is_domain': projects acting as domains are not supported.")
	}
	if create {
		dom, hasDom, err := strField(m, "domain_id", 64)
		if err != nil {
			return err
		}
		parent, hasParent, err := strField(m, "parent_id", 64)
		if err != nil {
			return err
		}
		if !hasDom && hasParent {
			dom, hasDom = parent, true
		}
		if hasDom {
			if _, err := h.svc.domain(ctx, dom); err != nil {
				return notFound("domain", dom)
			}
			p.DomainID = dom
		}
		if hasParent && parent != p.DomainID {
			return badRequest("Invalid input for field 'parent_id': nested projects are not supported.")
		}
	}
	return nil
}

func (h *Handler) userJSON(base string, u User) map[string]any {
	m := map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": nil, "options": map[string]any{}, "links": selfLink(base, "users", u.ID)}
	if u.DefaultProjectID != "" {
		m["default_project_id"] = u.DefaultProjectID
	}
	if u.Email != "" {
		m["email"] = u.Email
	}
	if u.Descript != "" {
		m["description"] = u.Descript
	}
	return m
}

func (h *Handler) users(ctx context.Context, r *http.Request, seg []string) (any, int, error) {
	base := h.base(r)
	us, err := h.svc.st.Users(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		out := []any{}
		dom, hasDom := queryFilter(r, "domain_id")
		for _, u := range us {
			if matchName(r, u.Name) && (!hasDom || u.DomainID == dom) {
				out = append(out, h.userJSON(base, u))
			}
		}
		return map[string]any{"users": out, "links": listLinks(r, base)}, 200, nil
	case len(seg) == 0 && r.Method == http.MethodPost:
		m, err := h.body(r, "user")
		if err != nil {
			return nil, 0, err
		}
		u := User{ID: newID(), DomainID: DefaultDomainID, Enabled: true}
		if err := h.applyUser(ctx, &u, m, true); err != nil {
			return nil, 0, err
		}
		if err := h.svc.st.CreateUser(ctx, u); err != nil {
			if err == ErrConflict {
				return nil, 0, conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
			}
			return nil, 0, err
		}
		return map[string]any{"user": h.userJSON(base, u)}, 201, nil
	case len(seg) == 1:
		i := slices.IndexFunc(us, func(u User) bool { return u.ID == seg[0] })
		if i < 0 {
			return nil, 0, notFound("user", seg[0])
		}
		u := us[i]
		switch r.Method {
		case http.MethodGet:
			return map[string]any{"user": h.userJSON(base, u)}, 200, nil
		case http.MethodPatch:
			m, err := h.body(r, "user")
			if err != nil {
				return nil, 0, err
			}
			if err := h.applyUser(ctx, &u, m, false); err != nil {
				return nil, 0, err
			}
			if err := h.svc.st.UpdateUser(ctx, u); err != nil {
				if err == ErrConflict {
					return nil, 0, conflict("Conflict occurred attempting to store user - Duplicate entry found with name %s at domain ID %s.", u.Name, u.DomainID)
				}
				return nil, 0, err
			}
			h.svc.forget()
			return map[string]any{"user": h.userJSON(base, u)}, 200, nil
		case http.MethodDelete:
			if err := h.svc.st.DeleteUser(ctx, u.ID); err != nil {
				return nil, 0, err
			}
			h.svc.forget()
			return nil, http.StatusNoContent, nil
		}
	}
	return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
}

func (h *Handler) applyUser(ctx context.Context, u *User, m map[string]any, create bool) error {
	for k := range m {
		switch k {
		case "name", "password", "enabled", "default_project_id", "email", "description", "options":
		case "domain_id":
			if !create {
				return badRequest("Invalid input for field 'domain_id': it cannot be updated.")
			}
		default:
			return badRequest("Invalid input for field '%s': additional properties are not allowed.", k)
		}
	}
	if name, ok, err := strField(m, "name", 255); err != nil {
		return err
	} else if ok {
		if strings.TrimSpace(name) == "" {
			return badRequest("Invalid input for field 'name': the name must not be empty.")
		}
		u.Name = name
	} else if create {
		return badRequest("Invalid input for field 'name': 'name' is a required property")
	}
	if pw, ok, err := strField(m, "password", 72); err != nil {
		return err
	} else if ok {
		hash, err := HashPassword(pw)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	} else if create {
		u.PasswordHash = "!" // no password: cannot authenticate
	}
	for k, dst := range map[string]*string{"email": &u.Email, "description": &u.Descript} {
		if s, ok, err := strField(m, k, 255); err != nil {
			return err
		} else if ok {
			*dst = s
		}
	}
	if b, err := boolPtr(m, "enabled"); err != nil {
		return err
	} else if b != nil {
		u.Enabled = *b
	}
	if p, ok, err := strField(m, "default_project_id", 64); err != nil {
		return err
	} else if ok {
		if _, err := h.svc.projectByID(ctx, p); err != nil {
			return notFound("project", p)
		}
		u.DefaultProjectID = p
	}
	if create {
		if dom, ok, err := strField(m, "domain_id", 64); err != nil {
			return err
		} else if ok {
			if _, err := h.svc.domain(ctx, dom); err != nil {
				return notFound("domain", dom)
			}
			u.DomainID = dom
		}
	}
	return nil
}

func (h *Handler) roleJSON(base string, ro Role) map[string]any {
	return map[string]any{"id": ro.ID, "name": ro.Name, "domain_id": nil, "description": nil, "options": map[string]any{},
		"links": selfLink(base, "roles", ro.ID)}
}

func (h *Handler) roles(ctx context.Context, r *http.Request, seg []string) (any, int, error) {
	base := h.base(r)
	rs, err := h.svc.st.Roles(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		out := []any{}
		for _, ro := range rs {
			if matchName(r, ro.Name) {
				out = append(out, h.roleJSON(base, ro))
			}
		}
		return map[string]any{"roles": out, "links": listLinks(r, base)}, 200, nil
	case len(seg) == 0 && r.Method == http.MethodPost:
		m, err := h.body(r, "role")
		if err != nil {
			return nil, 0, err
		}
		name, ok, err := strField(m, "name", 255)
		if err != nil {
			return nil, 0, err
		}
		if !ok || strings.TrimSpace(name) == "" {
			return nil, 0, badRequest("Invalid input for field 'name': 'name' is a required property")
		}
		ro := Role{ID: newID(), Name: name}
		if err := h.svc.st.CreateRole(ctx, ro); err != nil {
			if err == ErrConflict {
				return nil, 0, conflict("Conflict occurred attempting to store role - Duplicate entry found with name %s.", name)
			}
			return nil, 0, err
		}
		return map[string]any{"role": h.roleJSON(base, ro)}, 201, nil
	case len(seg) == 1:
		i := slices.IndexFunc(rs, func(ro Role) bool { return ro.ID == seg[0] })
		if i < 0 {
			return nil, 0, notFound("role", seg[0])
		}
		ro := rs[i]
		switch r.Method {
		case http.MethodGet:
			return map[string]any{"role": h.roleJSON(base, ro)}, 200, nil
		case http.MethodPatch:
			m, err := h.body(r, "role")
			if err != nil {
				return nil, 0, err
			}
			if name, ok, err := strField(m, "name", 255); err != nil {
				return nil, 0, err
			} else if ok {
				ro.Name = name
			}
			if err := h.svc.st.UpdateRole(ctx, ro); err != nil {
				return nil, 0, err
			}
			h.svc.forget()
			return map[string]any{"role": h.roleJSON(base, ro)}, 200, nil
		case http.MethodDelete:
			if err := h.svc.st.DeleteRole(ctx, ro.ID); err != nil {
				return nil, 0, err
			}
			h.svc.forget()
			return nil, http.StatusNoContent, nil
		}
	}
	return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
}

// grants serves /projects/{p}/users/{u}/roles[/{r}].
func (h *Handler) grants(ctx context.Context, r *http.Request, seg []string) (any, int, error) {
	base := h.base(r)
	if _, err := h.svc.projectByID(ctx, seg[1]); err != nil {
		return nil, 0, notFound("project", seg[1])
	}
	if _, err := h.svc.userByID(ctx, seg[3]); err != nil {
		return nil, 0, notFound("user", seg[3])
	}
	as, err := h.svc.st.Assignments(ctx)
	if err != nil {
		return nil, 0, err
	}
	rs, err := h.svc.st.Roles(ctx)
	if err != nil {
		return nil, 0, err
	}
	if len(seg) == 5 {
		if r.Method != http.MethodGet {
			return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
		}
		out := []any{}
		for _, a := range as {
			if a.ProjectID == seg[1] && a.UserID == seg[3] {
				for _, ro := range rs {
					if ro.ID == a.RoleID {
						out = append(out, h.roleJSON(base, ro))
					}
				}
			}
		}
		return map[string]any{"roles": out, "links": listLinks(r, base)}, 200, nil
	}
	roleID := seg[5]
	if !slices.ContainsFunc(rs, func(ro Role) bool { return ro.ID == roleID }) {
		return nil, 0, notFound("role", roleID)
	}
	a := Assignment{ProjectID: seg[1], UserID: seg[3], RoleID: roleID}
	switch r.Method {
	case http.MethodPut:
		if err := h.svc.st.Assign(ctx, a); err != nil {
			return nil, 0, err
		}
		h.svc.forget()
		return nil, http.StatusNoContent, nil
	case http.MethodHead, http.MethodGet:
		if slices.Contains(as, a) {
			return nil, http.StatusNoContent, nil
		}
		return nil, 0, &Error{404, "Not Found", "Could not find role assignment."}
	case http.MethodDelete:
		if err := h.svc.st.Unassign(ctx, a); err != nil {
			if err == ErrNotFound {
				return nil, 0, &Error{404, "Not Found", "Could not find role assignment."}
			}
			return nil, 0, err
		}
		h.svc.forget()
		return nil, http.StatusNoContent, nil
	}
	return nil, 0, &Error{405, "Method Not Allowed", "The method is not allowed for the requested URL."}
}

func (h *Handler) userProjects(ctx context.Context, r *http.Request, userID string) (any, int, error) {
	if _, err := h.svc.userByID(ctx, userID); err != nil {
		return nil, 0, notFound("user", userID)
	}
	as, err := h.svc.st.Assignments(ctx)
	if err != nil {
		return nil, 0, err
	}
	ps, err := h.svc.st.Projects(ctx)
	if err != nil {
		return nil, 0, err
	}
	base := h.base(r)
	out := []any{}
	for _, p := range ps {
		if slices.ContainsFunc(as, func(a Assignment) bool { return a.UserID == userID && a.ProjectID == p.ID }) {
			out = append(out, h.projectJSON(base, p))
		}
	}
	return map[string]any{"projects": out, "links": listLinks(r, base)}, 200, nil
}

func (h *Handler) assignments(ctx context.Context, r *http.Request) (any, error) {
	as, err := h.svc.st.Assignments(ctx)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	_, names := q["include_names"]
	var rs []Role
	var us []User
	var ps []Project
	domName := map[string]string{}
	if names {
		ds, err := h.svc.st.Domains(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			domName[d.ID] = d.Name
		}
		if rs, err = h.svc.st.Roles(ctx); err != nil {
			return nil, err
		}
		if us, err = h.svc.st.Users(ctx); err != nil {
			return nil, err
		}
		if ps, err = h.svc.st.Projects(ctx); err != nil {
			return nil, err
		}
	}
	base := h.base(r)
	out := []any{}
	for _, a := range as {
		if (q.Get("user.id") != "" && q.Get("user.id") != a.UserID) || (q.Get("role.id") != "" && q.Get("role.id") != a.RoleID) ||
			(q.Get("scope.project.id") != "" && q.Get("scope.project.id") != a.ProjectID) {
			continue
		}
		role := map[string]any{"id": a.RoleID}
		user := map[string]any{"id": a.UserID}
		project := map[string]any{"id": a.ProjectID}
		if names {
			for _, x := range rs {
				if x.ID == a.RoleID {
					role["name"] = x.Name
				}
			}
			for _, x := range us {
				if x.ID == a.UserID {
					user["name"], user["domain"] = x.Name, map[string]any{"id": x.DomainID, "name": domName[x.DomainID]}
				}
			}
			for _, x := range ps {
				if x.ID == a.ProjectID {
					project["name"], project["domain"] = x.Name, map[string]any{"id": x.DomainID, "name": domName[x.DomainID]}
				}
			}
		}
		out = append(out, map[string]any{"role": role, "user": user, "scope": map[string]any{"project": project},
			"links": map[string]any{"assignment": base + "/v3/projects/" + a.ProjectID + "/users/" + a.UserID + "/roles/" + a.RoleID}})
	}
	return map[string]any{"role_assignments": out, "links": listLinks(r, base)}, nil
}
