package identity_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	r := e.must(201, "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "p1", "description": "first"}}, e.admin)
	p, _ := r.JSON(t)["project"].(map[string]any)
	id := str(p["id"])
	want := map[string]any{"name": "p1", "description": "first", "domain_id": "default", "enabled": true, "is_domain": false, "parent_id": "default"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("created project %s = %v, want %v", k, p[k], v)
		}
	}
	if !idRe.MatchString(id) || str(at(p, "links.self")) != e.srv.URL+"/v3/projects/"+id {
		t.Errorf("created project id %q links %v", id, p["links"])
	}
	p2 := str(at(e.must(201, "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "p2", "domain_id": "default", "enabled": false}}, e.admin).JSON(t), "project.id"))

	for _, c := range []struct {
		name   string
		body   any
		status int
		title  string
	}{
		{"duplicate name", map[string]any{"project": map[string]any{"name": "p1"}}, 409, "Conflict"},
		{"duplicate name, explicit domain", map[string]any{"project": map[string]any{"name": "p1", "domain_id": "default"}}, 409, "Conflict"},
		{"no name", map[string]any{"project": map[string]any{"description": "x"}}, 400, "Bad Request"},
		{"empty name", map[string]any{"project": map[string]any{"name": " "}}, 400, "Bad Request"},
		{"unknown attribute", map[string]any{"project": map[string]any{"name": "p9", "colour": "red"}}, 400, "Bad Request"},
		{"enabled not a boolean", map[string]any{"project": map[string]any{"name": "p9", "enabled": "yes"}}, 400, "Bad Request"},
		{"no project object", map[string]any{"name": "p9"}, 400, "Bad Request"},
		{"unknown domain", map[string]any{"project": map[string]any{"name": "p9", "domain_id": "nope"}}, 404, "Not Found"},
	} {
		t.Run("create "+c.name, func(t *testing.T) {
			keystoneError(t, e.in(t).do("POST", "/v3/projects", c.body, e.admin), c.status, c.title)
		})
	}
	// Nothing of the refused creations was stored.
	list := func(q string) []string {
		t.Helper()
		got := names(e.must(200, "GET", "/v3/projects"+q, nil, e.admin).JSON(t)["projects"])
		slices.Sort(got)
		return got
	}
	if got := list(""); !slices.Equal(got, []string{"admin", "p1", "p2"}) {
		t.Errorf("projects %v", got)
	}
	for q, want := range map[string][]string{
		"?name=p1": {"p1"}, "?name=P1": {}, "?name=nope": {}, "?domain_id=default&name=p2": {"p2"}, "?domain_id=nope": {},
	} {
		if got := list(q); !slices.Equal(got, want) {
			t.Errorf("GET /v3/projects%s: %v, want %v", q, got, want)
		}
	}

	// Show.
	got := e.must(200, "GET", "/v3/projects/"+id, nil, e.admin).JSON(t)["project"].(map[string]any)
	if got["name"] != "p1" || got["id"] != id || got["description"] != "first" {
		t.Errorf("show: %v", got)
	}
	keystoneError(t, e.do("GET", "/v3/projects/"+unknownID, nil, e.admin), 404, "Not Found")

	// Update.
	r = e.must(200, "PATCH", "/v3/projects/"+id, map[string]any{"project": map[string]any{"name": "p1b", "description": "renamed", "enabled": false}}, e.admin)
	if p := r.JSON(t)["project"].(map[string]any); p["name"] != "p1b" || p["description"] != "renamed" || p["enabled"] != false || p["id"] != id {
		t.Errorf("PATCH answer: %v", p)
	}
	got = e.must(200, "GET", "/v3/projects/"+id, nil, e.admin).JSON(t)["project"].(map[string]any)
	if got["name"] != "p1b" || got["description"] != "renamed" || got["enabled"] != false || got["domain_id"] != "default" {
		t.Errorf("after PATCH: %v", got)
	}
	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"to a taken name", id, map[string]any{"project": map[string]any{"name": "admin"}}, 409},
		{"domain_id", id, map[string]any{"project": map[string]any{"domain_id": "default"}}, 400},
		{"unknown attribute", id, map[string]any{"project": map[string]any{"colour": "red"}}, 400},
		{"unknown project", unknownID, map[string]any{"project": map[string]any{"name": "x"}}, 404},
	} {
		t.Run("update "+c.name, func(t *testing.T) {
			r := e.in(t).do("PATCH", "/v3/projects/"+c.path, c.body, e.admin)
			if r.Status != c.status {
				t.Errorf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
		})
	}
	if got := list("?name=p1b"); len(got) != 1 {
		t.Errorf("refused updates changed the project: %v", list(""))
	}

	// Delete: its role assignments go and tokens scoped to it stop working.
	adminID := str(at(e.must(200, "GET", "/v3/users?name=admin", nil, e.admin).JSON(t), "users.0.id"))
	e.must(200, "PATCH", "/v3/projects/"+p2, map[string]any{"project": map[string]any{"enabled": true}}, e.admin)
	e.grant(p2, adminID, "reader")
	tok, _ := e.auth(201, pwByName("admin", adminPassword), projectByID(p2))
	e.must(200, "GET", "/v2.0/networks", nil, tok)
	// Disabling the project suspends its tokens; enabling brings them back.
	e.must(200, "PATCH", "/v3/projects/"+p2, map[string]any{"project": map[string]any{"enabled": false}}, e.admin)
	if r := e.do("GET", "/v2.0/networks", nil, tok); r.Status != 401 {
		t.Errorf("token scoped to a disabled project: %d %s", r.Status, r.Body)
	}
	e.must(200, "PATCH", "/v3/projects/"+p2, map[string]any{"project": map[string]any{"enabled": true}}, e.admin)
	e.must(200, "GET", "/v2.0/networks", nil, tok)
	e.must(204, "DELETE", "/v3/projects/"+p2, nil, e.admin)
	keystoneError(t, e.do("GET", "/v3/projects/"+p2, nil, e.admin), 404, "Not Found")
	keystoneError(t, e.do("DELETE", "/v3/projects/"+p2, nil, e.admin), 404, "Not Found")
	if as := at(e.must(200, "GET", "/v3/role_assignments?scope.project.id="+p2, nil, e.admin).JSON(t), "role_assignments").([]any); len(as) != 0 {
		t.Errorf("assignments of a deleted project: %v", as)
	}
	if r := e.do("GET", "/v2.0/networks", nil, tok); r.Status != 401 {
		t.Errorf("token scoped to a deleted project: %d %s", r.Status, r.Body)
	}
	if got := list(""); !slices.Equal(got, []string{"admin", "p1b"}) {
		t.Errorf("after delete: %v", got)
	}
	// The name is free again.
	e.must(201, "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "p2"}}, e.admin)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	alice := e.mkUser("alice", "alice-pw-1", map[string]any{"email": "alice@example.org", "description": "Alice", "default_project_id": demoP})
	e.grant(demoP, alice, "member")

	u := e.must(200, "GET", "/v3/users/"+alice, nil, e.admin).JSON(t)["user"].(map[string]any)
	want := map[string]any{"id": alice, "name": "alice", "domain_id": "default", "enabled": true, "email": "alice@example.org",
		"description": "Alice", "default_project_id": demoP}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user %s = %v, want %v", k, u[k], v)
		}
	}
	if str(at(u, "links.self")) != e.srv.URL+"/v3/users/"+alice {
		t.Errorf("links %v", u["links"])
	}
	// Neither the password nor its hash is ever shown.
	for _, r := range []*resp{e.must(200, "GET", "/v3/users", nil, e.admin), e.must(200, "GET", "/v3/users/"+alice, nil, e.admin)} {
		if b := string(r.Body); strings.Contains(b, "alice-pw-1") || strings.Contains(b, "$2") || strings.Contains(b, "password\":\"") {
			t.Errorf("%s shows the password: %s", r.req, b)
		}
	}

	for _, c := range []struct {
		name   string
		body   any
		status int
	}{
		{"duplicate name", map[string]any{"user": map[string]any{"name": "alice", "password": "x"}}, 409},
		{"no name", map[string]any{"user": map[string]any{"password": "x"}}, 400},
		{"password too long", map[string]any{"user": map[string]any{"name": "long", "password": strings.Repeat("x", 73)}}, 400},
		{"unknown attribute", map[string]any{"user": map[string]any{"name": "y", "colour": "red"}}, 400},
		{"unknown default project", map[string]any{"user": map[string]any{"name": "y", "default_project_id": unknownID}}, 404},
		{"unknown domain", map[string]any{"user": map[string]any{"name": "y", "domain_id": "nope"}}, 404},
	} {
		t.Run("create "+c.name, func(t *testing.T) {
			r := e.in(t).do("POST", "/v3/users", c.body, e.admin)
			if r.Status != c.status {
				t.Errorf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
		})
	}
	list := func(q string) []string {
		t.Helper()
		got := names(e.must(200, "GET", "/v3/users"+q, nil, e.admin).JSON(t)["users"])
		slices.Sort(got)
		return got
	}
	if got := list(""); !slices.Equal(got, []string{"admin", "alice"}) {
		t.Errorf("users %v", got)
	}
	if got := list("?name=alice"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("?name=alice: %v", got)
	}
	if got := list("?name=bob"); len(got) != 0 {
		t.Errorf("?name=bob: %v", got)
	}

	// A user created without a password cannot log in.
	nopw := str(at(e.must(201, "POST", "/v3/users", map[string]any{"user": map[string]any{"name": "nopw"}}, e.admin).JSON(t), "user.id"))
	e.grant(demoP, nopw, "member")
	for _, pw := range []string{"", "!"} {
		keystoneError(t, e.do("POST", "/v3/auth/tokens", authBody(pwByName("nopw", pw), projectByName("demo")), ""), 401, "Unauthorized")
	}

	// Password change: the old one fails, the new one works.
	old, _ := e.auth(201, pwByName("alice", "alice-pw-1"), projectByName("demo"))
	e.secret("alice-pw-2")
	r := e.must(200, "PATCH", "/v3/users/"+alice, map[string]any{"user": map[string]any{"password": "alice-pw-2", "email": "a@example.org"}}, e.admin)
	if u := r.JSON(t)["user"].(map[string]any); u["email"] != "a@example.org" || u["name"] != "alice" || strings.Contains(string(r.Body), "alice-pw-2") {
		t.Errorf("PATCH answer %s", r.Body)
	}
	e.auth(401, pwByName("alice", "alice-pw-1"), projectByName("demo"))
	e.auth(201, pwByName("alice", "alice-pw-2"), projectByName("demo"))
	for _, c := range []struct {
		name string
		body any
	}{
		{"domain_id", map[string]any{"user": map[string]any{"domain_id": "default"}}},
		{"unknown attribute", map[string]any{"user": map[string]any{"colour": "red"}}},
		{"enabled not a boolean", map[string]any{"user": map[string]any{"enabled": "no"}}},
	} {
		keystoneError(t, e.do("PATCH", "/v3/users/"+alice, c.body, e.admin), 400, "Bad Request")
	}
	keystoneError(t, e.do("PATCH", "/v3/users/"+unknownID, map[string]any{"user": map[string]any{"name": "x"}}, e.admin), 404, "Not Found")

	// Disabling: no new tokens, and the existing ones (even cached) stop.
	e.must(200, "GET", "/v2.0/networks", nil, old)
	e.must(200, "PATCH", "/v3/users/"+alice, map[string]any{"user": map[string]any{"enabled": false}}, e.admin)
	e.auth(401, pwByName("alice", "alice-pw-2"), projectByName("demo"))
	if r := e.do("GET", "/v2.0/networks", nil, old); r.Status != 401 {
		t.Errorf("token of a disabled user: %d", r.Status)
	}
	e.must(200, "PATCH", "/v3/users/"+alice, map[string]any{"user": map[string]any{"enabled": true}}, e.admin)

	// Deleting revokes: the user's tokens stop working at once.
	tok, _ := e.auth(201, pwByName("alice", "alice-pw-2"), projectByName("demo"))
	e.must(200, "GET", "/v2.0/networks", nil, tok)
	e.must(200, "GET", "/v3/users/"+alice, nil, tok)
	e.must(204, "DELETE", "/v3/users/"+alice, nil, e.admin)
	if r := e.do("GET", "/v2.0/networks", nil, tok); r.Status != 401 {
		t.Errorf("token of a deleted user: %d", r.Status)
	}
	keystoneError(t, e.do("GET", "/v3/users/"+alice, nil, tok), 401, "Unauthorized")
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", tok), 404, "Not Found")
	e.auth(401, pwByName("alice", "alice-pw-2"), projectByName("demo"))
	keystoneError(t, e.do("GET", "/v3/users/"+alice, nil, e.admin), 404, "Not Found")
	keystoneError(t, e.do("DELETE", "/v3/users/"+alice, nil, e.admin), 404, "Not Found")
	if as := at(e.must(200, "GET", "/v3/role_assignments?user.id="+alice, nil, e.admin).JSON(t), "role_assignments").([]any); len(as) != 0 {
		t.Errorf("assignments of a deleted user: %v", as)
	}
	// A new alice is a different user, with none of the old one's roles.
	alice2 := e.mkUser("alice", "alice-pw-3", nil)
	if alice2 == alice {
		t.Errorf("re-created user got the old id")
	}
	e.auth(401, pwByName("alice", "alice-pw-3"), projectByName("demo"))
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	list := func(q string) []string {
		t.Helper()
		got := names(e.must(200, "GET", "/v3/roles"+q, nil, e.admin).JSON(t)["roles"])
		slices.Sort(got)
		return got
	}
	if got := list(""); !slices.Equal(got, []string{"admin", "member", "reader"}) {
		t.Errorf("roles from the start: %v", got)
	}
	for _, n := range []string{"admin", "member", "reader"} {
		if got := list("?name=" + n); !slices.Equal(got, []string{n}) {
			t.Errorf("?name=%s: %v", n, got)
		}
	}
	if got := list("?name=observer"); len(got) != 0 {
		t.Errorf("?name=observer: %v", got)
	}
	r := e.must(201, "POST", "/v3/roles", map[string]any{"role": map[string]any{"name": "observer"}}, e.admin)
	id := str(at(r.JSON(t), "role.id"))
	if !idRe.MatchString(id) || at(r.JSON(t), "role.name") != "observer" || str(at(r.JSON(t), "role.links.self")) != e.srv.URL+"/v3/roles/"+id {
		t.Errorf("created role: %s", r.Body)
	}
	keystoneError(t, e.do("POST", "/v3/roles", map[string]any{"role": map[string]any{"name": "observer"}}, e.admin), 409, "Conflict")
	keystoneError(t, e.do("POST", "/v3/roles", map[string]any{"role": map[string]any{}}, e.admin), 400, "Bad Request")
	if got := list("?name=observer"); !slices.Equal(got, []string{"observer"}) {
		t.Errorf("?name=observer after create: %v", got)
	}
	if n := at(e.must(200, "GET", "/v3/roles/"+id, nil, e.admin).JSON(t), "role.name"); n != "observer" {
		t.Errorf("show: %v", n)
	}
	e.must(204, "DELETE", "/v3/roles/"+id, nil, e.admin)
	keystoneError(t, e.do("GET", "/v3/roles/"+id, nil, e.admin), 404, "Not Found")
	if got := list(""); !slices.Equal(got, []string{"admin", "member", "reader"}) {
		t.Errorf("roles after delete: %v", got)
	}
}

func TestRoleGrants(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	bob := e.mkUser("bob", "bob-pw-1", nil)
	member := e.roleID("member")
	grant := "/v3/projects/" + demoP + "/users/" + bob + "/roles/" + member

	e.must(404, "HEAD", grant, nil, e.admin)
	e.auth(401, pwByName("bob", "bob-pw-1"), projectByName("demo"))
	e.must(204, "PUT", grant, nil, e.admin)
	e.must(204, "PUT", grant, nil, e.admin) // granting twice is fine
	if r := e.must(204, "HEAD", grant, nil, e.admin); len(r.Body) != 0 {
		t.Errorf("HEAD body %q", r.Body)
	}
	if got := names(e.must(200, "GET", "/v3/projects/"+demoP+"/users/"+bob+"/roles", nil, e.admin).JSON(t)["roles"]); !slices.Equal(got, []string{"member"}) {
		t.Errorf("bob's roles on demo: %v", got)
	}
	tok, body := e.auth(201, pwByName("bob", "bob-pw-1"), projectByName("demo"))
	if got := names(body["roles"]); len(got) != 2 {
		t.Errorf("bob's token roles: %v", got)
	}
	e.must(200, "GET", "/v2.0/networks", nil, tok)

	// Revoking the role ends the token's authority at once.
	e.must(204, "DELETE", grant, nil, e.admin)
	e.must(404, "HEAD", grant, nil, e.admin)
	keystoneError(t, e.do("DELETE", grant, nil, e.admin), 404, "Not Found")
	if r := e.do("GET", "/v2.0/networks", nil, tok); r.Status != 401 {
		t.Errorf("token after its role was removed: %d", r.Status)
	}
	e.auth(401, pwByName("bob", "bob-pw-1"), projectByName("demo"))

	for _, c := range []struct{ name, path string }{
		{"unknown project", "/v3/projects/" + unknownID + "/users/" + bob + "/roles/" + member},
		{"unknown user", "/v3/projects/" + demoP + "/users/" + unknownID + "/roles/" + member},
		{"unknown role", "/v3/projects/" + demoP + "/users/" + bob + "/roles/" + unknownID},
	} {
		for _, m := range []string{"PUT", "DELETE"} {
			keystoneError(t, e.do(m, c.path, nil, e.admin), 404, "Not Found")
		}
	}
	if as := at(e.must(200, "GET", "/v3/role_assignments?user.id="+bob, nil, e.admin).JSON(t), "role_assignments").([]any); len(as) != 0 {
		t.Errorf("refused grants were stored: %v", as)
	}
}

func TestRoleAssignments(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	otherP := e.mkProject("other")
	bob := e.mkUser("bob", "bob-pw-1", nil)
	e.grant(demoP, bob, "member")
	e.grant(otherP, bob, "reader")
	adminID := str(at(e.must(200, "GET", "/v3/users?name=admin", nil, e.admin).JSON(t), "users.0.id"))
	adminP := str(at(e.must(200, "GET", "/v3/projects?name=admin", nil, e.admin).JSON(t), "projects.0.id"))

	// render lists assignments as "user role project" (ids or names).
	render := func(q string, byName bool) []string {
		t.Helper()
		out := []string{}
		for _, a := range at(e.must(200, "GET", "/v3/role_assignments"+q, nil, e.admin).JSON(t), "role_assignments").([]any) {
			k := "id"
			if byName {
				k = "name"
			}
			out = append(out, str(at(a, "user."+k))+" "+str(at(a, "role."+k))+" "+str(at(a, "scope.project."+k)))
		}
		slices.Sort(out)
		return out
	}
	member, reader, admin := e.roleID("member"), e.roleID("reader"), e.roleID("admin")
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"", []string{adminID + " " + admin + " " + adminP, bob + " " + member + " " + demoP, bob + " " + reader + " " + otherP}},
		{"?user.id=" + bob, []string{bob + " " + member + " " + demoP, bob + " " + reader + " " + otherP}},
		{"?user.id=" + bob + "&scope.project.id=" + demoP, []string{bob + " " + member + " " + demoP}},
		{"?scope.project.id=" + adminP, []string{adminID + " " + admin + " " + adminP}},
		{"?role.id=" + reader, []string{bob + " " + reader + " " + otherP}},
		{"?user.id=" + unknownID, []string{}},
	} {
		got := render(c.q, false)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("GET /v3/role_assignments%s:\n got  %v\n want %v", c.q, got, want)
		}
	}
	// Without include_names, ids only.
	if got := render("?user.id="+bob, true); !slices.Equal(got, []string{"  ", "  "}) {
		t.Errorf("names without include_names: %v", got)
	}
	if got := render("?user.id="+bob+"&include_names", true); !slices.Equal(got, []string{"bob member demo", "bob reader other"}) {
		t.Errorf("include_names: %v", got)
	}
	a := at(e.must(200, "GET", "/v3/role_assignments?include_names=True&scope.project.id="+demoP, nil, e.admin).JSON(t), "role_assignments.0")
	for k, v := range map[string]string{"user.domain.id": "default", "user.domain.name": "Default", "scope.project.domain.id": "default",
		"scope.project.domain.name": "Default", "links.assignment": e.srv.URL + "/v3/projects/" + demoP + "/users/" + bob + "/roles/" + member} {
		if str(at(a, k)) != v {
			t.Errorf("assignment %s = %v, want %s", k, at(a, k), v)
		}
	}
}

func TestDomains(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	list := func(q string) []any {
		t.Helper()
		l, _ := e.must(200, "GET", "/v3/domains"+q, nil, e.admin).JSON(t)["domains"].([]any)
		return l
	}
	for _, q := range []string{"", "?name=Default"} {
		l := list(q)
		if len(l) != 1 || at(l[0], "id") != "default" || at(l[0], "name") != "Default" || at(l[0], "enabled") != true {
			t.Errorf("GET /v3/domains%s: %v", q, l)
		}
	}
	if l := list("?name=Nope"); len(l) != 0 {
		t.Errorf("?name=Nope: %v", l)
	}
	d := e.must(200, "GET", "/v3/domains/default", nil, e.admin).JSON(t)
	if at(d, "domain.name") != "Default" || str(at(d, "domain.links.self")) != e.srv.URL+"/v3/domains/default" {
		t.Errorf("show default: %v", d)
	}
	keystoneError(t, e.do("GET", "/v3/domains/nope", nil, e.admin), 404, "Not Found")
	keystoneError(t, e.do("GET", "/v3/domains", nil, ""), 401, "Unauthorized")
}

func TestNonAdmin(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	demo := e.mkUser("demo", "demo-pw-1", nil)
	e.grant(demoP, demo, "member")
	viewer := e.mkUser("viewer", "viewer-pw-1", nil)
	e.grant(demoP, viewer, "reader")
	adminID := str(at(e.must(200, "GET", "/v3/users?name=admin", nil, e.admin).JSON(t), "users.0.id"))
	adminRole := e.roleID("admin")
	mt, _ := e.auth(201, pwByName("demo", "demo-pw-1"), projectByName("demo"))
	rt, _ := e.auth(201, pwByName("viewer", "viewer-pw-1"), projectByName("demo"))

	forbidden := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v3/projects", nil},
		{"POST", "/v3/projects", map[string]any{"project": map[string]any{"name": "evil"}}},
		{"PATCH", "/v3/projects/" + demoP, map[string]any{"project": map[string]any{"name": "evil"}}},
		{"DELETE", "/v3/projects/" + demoP, nil},
		{"GET", "/v3/users", nil},
		{"GET", "/v3/users?name=admin", nil},
		{"POST", "/v3/users", map[string]any{"user": map[string]any{"name": "evil", "password": "x"}}},
		{"GET", "/v3/users/" + adminID, nil},
		{"PATCH", "/v3/users/" + adminID, map[string]any{"user": map[string]any{"password": "evil"}}},
		{"PATCH", "/v3/users/" + demo, map[string]any{"user": map[string]any{"name": "evil"}}},
		{"DELETE", "/v3/users/" + adminID, nil},
		{"DELETE", "/v3/users/" + demo, nil},
		{"GET", "/v3/roles", nil},
		{"POST", "/v3/roles", map[string]any{"role": map[string]any{"name": "evil"}}},
		{"PUT", "/v3/projects/" + demoP + "/users/" + demo + "/roles/" + adminRole, nil},
		{"DELETE", "/v3/projects/" + demoP + "/users/" + demo + "/roles/" + e.roleID("member"), nil},
		{"GET", "/v3/role_assignments", nil},
		{"GET", "/v3/domains", nil},
		{"GET", "/v3/domains/default", nil},
	}
	for _, c := range forbidden {
		for who, tok := range map[string]string{"member": mt, "reader": rt} {
			t.Run(who+" "+c.method+" "+c.path, func(t *testing.T) {
				keystoneError(t, e.in(t).do(c.method, c.path, c.body, tok), 403, "Forbidden")
			})
		}
	}
	// Nothing changed.
	if l := at(e.must(200, "GET", "/v3/projects?name=evil", nil, e.admin).JSON(t), "projects").([]any); len(l) != 0 {
		t.Errorf("member created a project: %v", l)
	}
	if l := at(e.must(200, "GET", "/v3/users?name=evil", nil, e.admin).JSON(t), "users").([]any); len(l) != 0 {
		t.Errorf("member created a user: %v", l)
	}
	if l := at(e.must(200, "GET", "/v3/role_assignments?user.id="+demo, nil, e.admin).JSON(t), "role_assignments").([]any); len(l) != 1 {
		t.Errorf("member's assignments changed: %v", l)
	}
	e.auth(201, pwByName("admin", adminPassword), projectByName("admin"))
	e.auth(201, pwByName("demo", "demo-pw-1"), projectByName("demo"))

	// What a member may do: read itself and its projects.
	for who, c := range map[string]struct{ tok, id, name string }{"member": {mt, demo, "demo"}, "reader": {rt, viewer, "viewer"}} {
		if n := at(e.must(200, "GET", "/v3/users/"+c.id, nil, c.tok).JSON(t), "user.name"); n != c.name {
			t.Errorf("%s reading itself: name %v", who, n)
		}
		for _, p := range []string{"/v3/users/" + c.id + "/projects", "/v3/auth/projects"} {
			if got := names(e.must(200, "GET", p, nil, c.tok).JSON(t)["projects"]); !slices.Equal(got, []string{"demo"}) {
				t.Errorf("%s GET %s: %v", who, p, got)
			}
		}
		e.must(200, "HEAD", "/v3/auth/tokens", nil, c.tok, "X-Subject-Token", c.tok)
	}
}
