package identity_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/identity"
)

const unknownID = "0123456789abcdef0123456789abcdef"

func TestVersionDocument(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	for _, path := range []string{"/v3", "/v3/"} {
		// No token needed, and a bad one does not matter.
		for _, tok := range []string{"", "not-a-token"} {
			v := e.must(200, "GET", path, nil, tok).JSON(t)
			if id := str(at(v, "version.id")); !strings.HasPrefix(id, "v3.") {
				t.Errorf("GET %s: version.id %q", path, id)
			}
			if s := str(at(v, "version.status")); s != "stable" {
				t.Errorf("GET %s: status %q", path, s)
			}
			if rel, href := str(at(v, "version.links.0.rel")), str(at(v, "version.links.0.href")); rel != "self" || href != e.srv.URL+"/v3/" {
				t.Errorf("GET %s: link %s %s, want self %s/v3/", path, rel, href, e.srv.URL)
			}
			if mt := str(at(v, "version.media-types.0.type")); mt != "application/vnd.openstack.identity-v3+json" {
				t.Errorf("GET %s: media type %q", path, mt)
			}
		}
	}
}

// checkToken asserts the parts of a token body every token has.
func checkToken(t *testing.T, tok map[string]any, userID, userName string, ttl time.Duration, before, after time.Time) {
	t.Helper()
	if id, n := str(at(tok, "user.id")), str(at(tok, "user.name")); id != userID || n != userName {
		t.Errorf("user %s %s, want %s %s", id, n, userID, userName)
	}
	if d, n := str(at(tok, "user.domain.id")), str(at(tok, "user.domain.name")); d != "default" || n != "Default" {
		t.Errorf("user domain %s %s", d, n)
	}
	ea, ia := str(at(tok, "expires_at")), str(at(tok, "issued_at"))
	if !tokenTimeRe.MatchString(ea) || !tokenTimeRe.MatchString(ia) {
		t.Fatalf("expires_at %q issued_at %q: want Keystone's 2026-11-26T15:00:00.000000Z", ea, ia)
	}
	exp, _ := time.Parse(time.RFC3339Nano, ea)
	iss, _ := time.Parse(time.RFC3339Nano, ia)
	if exp.Sub(iss) != ttl {
		t.Errorf("lifetime %v, want %v", exp.Sub(iss), ttl)
	}
	if iss.Before(before.Add(-time.Second)) || iss.After(after.Add(time.Second)) {
		t.Errorf("issued_at %v not between %v and %v", iss, before, after)
	}
	if a, _ := tok["audit_ids"].([]any); len(a) != 1 || str(a[0]) == "" {
		t.Errorf("audit_ids %v", tok["audit_ids"])
	}
}

func TestPasswordAuthentication(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	demo := e.mkUser("demo", "demo-pw-1", map[string]any{"default_project_id": demoP})
	e.grant(demoP, demo, "member")
	viewer := e.mkUser("viewer", "viewer-pw-1", nil)
	e.grant(demoP, viewer, "reader")
	lonely := e.mkUser("lonely", "lonely-pw-1", nil)
	drifter := e.mkUser("drifter", "drifter-pw-1", map[string]any{"default_project_id": demoP})
	adminID := str(at(e.must(200, "GET", "/v3/users?name=admin", nil, e.admin).JSON(t), "users.0.id"))
	adminP := str(at(e.must(200, "GET", "/v3/projects?name=admin", nil, e.admin).JSON(t), "projects.0.id"))

	cases := []struct {
		name             string
		user, scope      map[string]any
		userID, userName string
		project          string // "" unscoped
		projectName      string
		roles            []string
	}{
		{"user and project by name and domain name", pwByName("demo", "demo-pw-1"), projectByName("demo"),
			demo, "demo", demoP, "demo", []string{"member", "reader"}},
		{"user and project by id", pwByID(demo, "demo-pw-1"), projectByID(demoP),
			demo, "demo", demoP, "demo", []string{"member", "reader"}},
		{"domains by id",
			map[string]any{"name": "demo", "domain": map[string]any{"id": "default"}, "password": "demo-pw-1"},
			map[string]any{"project": map[string]any{"name": "demo", "domain": map[string]any{"id": "default"}}},
			demo, "demo", demoP, "demo", []string{"member", "reader"}},
		{"admin implies member and reader", pwByName("admin", adminPassword), projectByName("admin"),
			adminID, "admin", adminP, "admin", []string{"admin", "member", "reader"}},
		{"reader only", pwByName("viewer", "viewer-pw-1"), projectByID(demoP),
			viewer, "viewer", demoP, "demo", []string{"reader"}},
		{"no scope: the default project", pwByName("demo", "demo-pw-1"), nil,
			demo, "demo", demoP, "demo", []string{"member", "reader"}},
		{"unscoped", pwByName("lonely", "lonely-pw-1"), nil, lonely, "lonely", "", "", nil},
		{"no scope, no role on the default project: unscoped", pwByName("drifter", "drifter-pw-1"), nil, drifter, "drifter", "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			before := time.Now()
			secret, tok := e.auth(201, c.user, c.scope)
			checkToken(t, tok, c.userID, c.userName, time.Hour, before, time.Now())
			if m, _ := tok["methods"].([]any); len(m) != 1 || m[0] != "password" {
				t.Errorf("methods %v", tok["methods"])
			}
			if c.project == "" {
				for _, k := range []string{"project", "roles", "catalog"} {
					if _, ok := tok[k]; ok {
						t.Errorf("unscoped token has %s: %v", k, tok[k])
					}
				}
			} else {
				if id, n := str(at(tok, "project.id")), str(at(tok, "project.name")); id != c.project || n != c.projectName {
					t.Errorf("project %s %s, want %s %s", id, n, c.project, c.projectName)
				}
				if d, n := str(at(tok, "project.domain.id")), str(at(tok, "project.domain.name")); d != "default" || n != "Default" {
					t.Errorf("project domain %s %s", d, n)
				}
				got := names(tok["roles"])
				slices.Sort(got)
				if !slices.Equal(got, c.roles) {
					t.Errorf("roles %v, want %v", got, c.roles)
				}
				for _, r := range tok["roles"].([]any) {
					if !idRe.MatchString(str(at(r, "id"))) {
						t.Errorf("role without id: %v", r)
					}
				}
				if cat, _ := tok["catalog"].([]any); len(cat) != 2 {
					t.Errorf("catalog %v", tok["catalog"])
				}
			}
			// The token validates to the same thing.
			r := e.must(200, "GET", "/v3/auth/tokens", nil, secret, "X-Subject-Token", secret)
			v, _ := r.JSON(t)["token"].(map[string]any)
			for _, k := range []string{"user.id", "project.id", "expires_at", "issued_at", "audit_ids.0"} {
				if at(v, k) != at(tok, k) {
					t.Errorf("validated %s = %v, issued %v", k, at(v, k), at(tok, k))
				}
			}
		})
	}
}

func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	emptyP := e.mkProject("empty")
	offP := e.mkProject("off")
	demo := e.mkUser("demo", "demo-pw-1", nil)
	e.grant(demoP, demo, "member")
	e.grant(offP, demo, "member")
	e.must(200, "PATCH", "/v3/projects/"+offP, map[string]any{"project": map[string]any{"enabled": false}}, e.admin)
	dis := e.mkUser("disabled", "disabled-pw-1", map[string]any{"enabled": false})
	e.grant(demoP, dis, "member")
	e.mkUser("norole", "norole-pw-1", nil)

	cases := []struct {
		name        string
		user, scope map[string]any
	}{
		{"wrong password", pwByName("demo", "wrong-pw"), projectByName("demo")},
		{"wrong password, unscoped", pwByName("demo", "wrong-pw"), nil},
		{"empty password", pwByName("demo", ""), projectByName("demo")},
		{"unknown user", pwByName("nobody", "demo-pw-1"), projectByName("demo")},
		{"unknown user id", pwByID(unknownID, "demo-pw-1"), nil},
		{"user name in unknown domain", map[string]any{"name": "demo", "domain": map[string]any{"name": "Nope"}, "password": "demo-pw-1"}, nil},
		{"user name in unknown domain id", map[string]any{"name": "demo", "domain": map[string]any{"id": "nope"}, "password": "demo-pw-1"}, nil},
		{"unknown project", pwByName("demo", "demo-pw-1"), projectByName("nope")},
		{"unknown project id", pwByName("demo", "demo-pw-1"), projectByID(unknownID)},
		{"project in unknown domain", pwByName("demo", "demo-pw-1"),
			map[string]any{"project": map[string]any{"name": "demo", "domain": map[string]any{"name": "Nope"}}}},
		{"disabled user", pwByName("disabled", "disabled-pw-1"), projectByName("demo")},
		{"disabled user, unscoped", pwByName("disabled", "disabled-pw-1"), nil},
		{"project without role", pwByName("demo", "demo-pw-1"), projectByID(emptyP)},
		{"user without any role", pwByName("norole", "norole-pw-1"), projectByName("demo")},
		{"disabled project", pwByName("demo", "demo-pw-1"), projectByID(offP)},
		{"domain scope", pwByName("demo", "demo-pw-1"), map[string]any{"domain": map[string]any{"id": "default"}}},
	}
	msgs := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			r := e.do("POST", "/v3/auth/tokens", authBody(c.user, c.scope), "")
			msgs[c.name] = keystoneError(t, r, 401, "Unauthorized")
			if s := r.Header.Get("X-Subject-Token"); s != "" {
				t.Errorf("401 with X-Subject-Token %q", s)
			}
			if !strings.Contains(r.Header.Get("WWW-Authenticate"), e.srv.URL+"/v3") {
				t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// A wrong password and an unknown user are told apart by nothing.
	if msgs["wrong password"] != msgs["unknown user"] || msgs["wrong password"] != msgs["disabled user"] {
		t.Errorf("failure messages differ: %q / %q / %q", msgs["wrong password"], msgs["unknown user"], msgs["disabled user"])
	}

	bad := []struct{ name, body string }{
		{"no password", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}}}}}}`},
		{"user name without domain", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "password": "demo-pw-1"}}}}}`},
		{"project name without domain", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": "demo-pw-1"}}}, "scope": {"project": {"name": "demo"}}}}`},
		{"no identity", `{"auth": {}}`},
		{"unknown method", `{"auth": {"identity": {"methods": ["totp"], "totp": {}}}}`},
		{"not JSON", `{"auth": `},
		{"empty", ``},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			e := e.in(t)
			r := e.do("POST", "/v3/auth/tokens", c.body, "")
			keystoneError(t, r, 400, "Bad Request")
			if s := r.Header.Get("X-Subject-Token"); s != "" {
				t.Errorf("400 with X-Subject-Token %q", s)
			}
		})
	}
}

// checkCatalog asserts the network (root URL) and identity (/v3)
// services on three interfaces of RegionOne.
func checkCatalog(t *testing.T, catalog any, base string) {
	t.Helper()
	l, _ := catalog.([]any)
	want := map[string]string{"network": base, "identity": base + "/v3"}
	seen := map[string]bool{}
	epIDs := map[string]bool{}
	for _, s := range l {
		typ := str(at(s, "type"))
		url, ok := want[typ]
		if !ok || seen[typ] {
			t.Errorf("unexpected catalog entry %v", s)
			continue
		}
		seen[typ] = true
		if str(at(s, "id")) == "" || str(at(s, "name")) == "" {
			t.Errorf("%s: id %v name %v", typ, at(s, "id"), at(s, "name"))
		}
		var ifaces []string
		eps, _ := at(s, "endpoints").([]any)
		for _, ep := range eps {
			ifaces = append(ifaces, str(at(ep, "interface")))
			if u := str(at(ep, "url")); u != url {
				t.Errorf("%s %s endpoint url %q, want %q", typ, at(ep, "interface"), u, url)
			}
			if at(ep, "region") != "RegionOne" || at(ep, "region_id") != "RegionOne" {
				t.Errorf("%s endpoint region %v region_id %v", typ, at(ep, "region"), at(ep, "region_id"))
			}
			id := str(at(ep, "id"))
			if id == "" || epIDs[id] {
				t.Errorf("%s endpoint id %q missing or repeated", typ, id)
			}
			epIDs[id] = true
		}
		slices.Sort(ifaces)
		if !slices.Equal(ifaces, []string{"admin", "internal", "public"}) {
			t.Errorf("%s interfaces %v", typ, ifaces)
		}
	}
	if !seen["network"] || !seen["identity"] {
		t.Errorf("catalog lacks network or identity: %v", catalog)
	}
	if strings.HasSuffix(base, "/v2.0") || strings.HasSuffix(base, "/") {
		t.Errorf("network url %q must be the root, without /v2.0", base)
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	secret, tok := e.auth(201, pwByName("admin", adminPassword), projectByName("admin"))
	checkCatalog(t, tok["catalog"], e.srv.URL)
	r := e.must(200, "GET", "/v3/auth/catalog", nil, secret)
	checkCatalog(t, r.JSON(t)["catalog"], e.srv.URL)
	e.must(401, "GET", "/v3/auth/catalog", nil, "")

	// Through a proxy: the forwarded scheme is used.
	r = e.must(201, "POST", "/v3/auth/tokens", authBody(pwByName("admin", adminPassword), projectByName("admin")), "", "X-Forwarded-Proto", "https")
	e.secret(r.Header.Get("X-Subject-Token"))
	checkCatalog(t, at(r.JSON(t), "token.catalog"), "https://"+strings.TrimPrefix(e.srv.URL, "http://"))

	// --public-url wins over the request's host (trailing slash or not).
	h := identity.NewHandler(e.ids, "https://cloud.example.org:9696/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v3/auth/catalog", nil).WithContext(context.Background()))
	if rec.Code != 401 {
		t.Errorf("catalog without a token: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v3/auth/catalog", nil)
	req.Header.Set("X-Auth-Token", secret)
	h.ServeHTTP(rec, req)
	var cat map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &cat); rec.Code != 200 || err != nil {
		t.Fatalf("catalog behind --public-url: %d %s", rec.Code, rec.Body)
	}
	checkCatalog(t, cat["catalog"], "https://cloud.example.org:9696")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v3", nil))
	if !strings.Contains(rec.Body.String(), `"href":"https://cloud.example.org:9696/v3/"`) {
		t.Errorf("version document behind --public-url: %s", rec.Body)
	}
}

func TestValidateAndRevoke(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	demo := e.mkUser("demo", "demo-pw-1", nil)
	e.grant(demoP, demo, "member")
	d, issued := e.auth(201, pwByName("demo", "demo-pw-1"), projectByName("demo"))
	d2, issued2 := e.auth(201, pwByName("demo", "demo-pw-1"), projectByName("demo"))
	if d == d2 {
		t.Fatalf("two authentications gave the same token")
	}

	// GET: the admin validates the demo token.
	r := e.must(200, "GET", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d)
	if r.Header.Get("X-Subject-Token") != d {
		t.Errorf("X-Subject-Token %q, want the subject", r.Header.Get("X-Subject-Token"))
	}
	tok, _ := r.JSON(t)["token"].(map[string]any)
	for _, k := range []string{"user.id", "user.name", "project.id", "project.domain.name", "expires_at", "issued_at"} {
		if at(tok, k) != at(issued, k) || at(tok, k) == nil {
			t.Errorf("validated %s = %v, issued %v", k, at(tok, k), at(issued, k))
		}
	}
	if got := names(tok["roles"]); len(got) != 2 {
		t.Errorf("validated roles %v", got)
	}
	checkCatalog(t, tok["catalog"], e.srv.URL)
	// HEAD: the same, no body.
	r = e.must(200, "HEAD", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d)
	if len(r.Body) != 0 || r.Header.Get("X-Subject-Token") != d {
		t.Errorf("HEAD: body %q subject %q", r.Body, r.Header.Get("X-Subject-Token"))
	}
	// Validation needs a valid token of its own, and a subject that is one.
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, "", "X-Subject-Token", d), 401, "Unauthorized")
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, "bogus", "X-Subject-Token", d), 401, "Unauthorized")
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", "bogus"), 404, "Not Found")
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, e.admin), 404, "Not Found")
	if r := e.do("HEAD", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d+"x"); r.Status != 404 {
		t.Errorf("HEAD of an unknown token: %d", r.Status)
	}

	// The token works for the Networking API and for reading oneself
	// (and is cached by now).
	for range 2 {
		e.must(200, "GET", "/v2.0/networks", nil, d)
		e.must(200, "GET", "/v3/users/"+demo, nil, d)
	}
	// Revoke it: it stops working at once, everywhere.
	e.must(204, "DELETE", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d)
	if r := e.do("GET", "/v2.0/networks", nil, d); r.Status != 401 {
		t.Errorf("Neutron API with a revoked token: %d %s", r.Status, r.Body)
	}
	keystoneError(t, e.do("GET", "/v3/users/"+demo, nil, d), 401, "Unauthorized")
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d), 404, "Not Found")
	keystoneError(t, e.do("DELETE", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", d), 404, "Not Found")
	keystoneError(t, e.do("DELETE", "/v3/auth/tokens", nil, e.admin, "X-Subject-Token", "bogus"), 404, "Not Found")
	keystoneError(t, e.do("POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": d}}}}, ""), 401, "Unauthorized")
	// The other token of the same user is untouched.
	e.must(200, "GET", "/v2.0/networks", nil, d2)

	// A token from a token (rescoping), then a token revoking itself.
	r = e.must(201, "POST", "/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": d2}},
		"scope":    projectByID(demoP)}}, "")
	d3 := r.Header.Get("X-Subject-Token")
	e.secret(d3)
	if d3 == "" || d3 == d2 || str(at(r.JSON(t), "token.project.id")) != demoP || at(r.JSON(t), "token.methods.0") != "token" {
		t.Errorf("token auth: subject %q body %s", d3, r.Body)
	}
	// A token from a token lives no longer than its source: no renewing forever.
	if got, want := str(at(r.JSON(t), "token.expires_at")), str(issued2["expires_at"]); got != want {
		t.Errorf("token from a token expires at %s, its source at %s", got, want)
	}
	e.must(204, "DELETE", "/v3/auth/tokens", nil, d3, "X-Subject-Token", d3)
	keystoneError(t, e.do("GET", "/v3/users/"+demo, nil, d3), 401, "Unauthorized")
	e.must(200, "GET", "/v3/users/"+demo, nil, d2)
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	e := newKEnv(t, ttl)
	before := time.Now()
	secret, tok := e.auth(201, pwByName("admin", adminPassword), projectByName("admin"))
	checkToken(t, tok, str(at(tok, "user.id")), "admin", ttl, before, time.Now())
	expires, _ := time.Parse(time.RFC3339Nano, str(tok["expires_at"]))
	// Valid (and cached) until it expires...
	e.must(200, "GET", "/v2.0/networks", nil, secret)
	e.must(200, "GET", "/v3/projects", nil, secret)
	e.must(200, "HEAD", "/v3/auth/tokens", nil, secret, "X-Subject-Token", secret)
	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	// ...and not after.
	if r := e.do("GET", "/v2.0/networks", nil, secret); r.Status != 401 {
		t.Errorf("Neutron API with an expired token: %d %s", r.Status, r.Body)
	}
	keystoneError(t, e.do("GET", "/v3/projects", nil, secret), 401, "Unauthorized")
	fresh, _ := e.auth(201, pwByName("admin", adminPassword), projectByName("admin"))
	keystoneError(t, e.do("GET", "/v3/auth/tokens", nil, fresh, "X-Subject-Token", secret), 404, "Not Found")
	e.must(200, "GET", "/v3/projects", nil, fresh)
}
