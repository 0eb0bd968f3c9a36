package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsecurity"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

const kAdminPassword = "Adm1n-pw-5e2d8c0a"

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kenv is `bulwark server --auth keystone`: the Networking API behind
// real tokens, with projects, users and roles made through /v3.
type kenv struct {
	*env
	st    *sqldb.DB
	ids   *identity.Service
	admin string // admin token

	mu      sync.Mutex
	secrets []string // must never be logged
}

func newKeystoneEnv(t *testing.T) *kenv {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t)
	ids := identity.New(st, time.Hour)
	if _, err := ids.Bootstrap(ctx, kAdminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := identity.Route(identity.NewHandler(ids, "", log), api.New(service.New(st, service.DefaultConfig()), identity.Authenticator{Svc: ids}, log))
	k := &kenv{env: &env{t: t}, st: st, ids: ids, secrets: []string{kAdminPassword}}
	e := k.env
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 500 {
			e.mu.Lock()
			e.failures = append(e.failures, fmt.Sprintf("%s %s -> %d", r.Method, r.URL, rec.status))
			e.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		e.srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		for _, f := range e.failures {
			t.Errorf("server error: %s", f)
		}
		logged := logs.String()
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, s := range k.secrets {
			if strings.Contains(logged, s) {
				t.Errorf("the server log holds the secret %.6s...:\n%s", s, logged)
			}
		}
	})
	k.admin = k.token("admin", kAdminPassword, "admin")
	return k
}

func (k *kenv) secret(s string) {
	k.mu.Lock()
	k.secrets = append(k.secrets, s)
	k.mu.Unlock()
}

func authRequest(user, password, project string) map[string]any {
	a := map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
		"name": user, "domain": map[string]any{"name": "Default"}, "password": password}}}}
	if project != "" {
		a["scope"] = map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"name": "Default"}}}
	}
	return map[string]any{"auth": a}
}

// token logs in (project "" for unscoped) and returns the token.
func (k *kenv) token(user, password, project string) string {
	k.t.Helper()
	r := k.must(201, "POST", "/v3/auth/tokens", authRequest(user, password, project))
	tok := r.Header.Get("X-Subject-Token")
	if tok == "" {
		k.t.Fatalf("no X-Subject-Token: %s", r.Body)
	}
	k.secret(tok)
	return tok
}

// as is the header list for requests with a token.
func as(token string) []string { return []string{"X-Auth-Token", token} }

// user creates a project (if new), a user with a password and a role on
// it through /v3, and returns the project and user ids.
func (k *kenv) user(project, name, password, role string) (string, string) {
	k.t.Helper()
	var pid string
	if l := k.must(200, "GET", "/v3/projects?name="+project, nil, as(k.admin)...).list(k.t, "projects"); len(l) == 1 {
		pid = str(l[0], "id")
	} else {
		pid = str(k.must(201, "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": project}}, as(k.admin)...).obj(k.t, "project"), "id")
	}
	k.secret(password)
	uid := str(k.must(201, "POST", "/v3/users", map[string]any{"user": map[string]any{"name": name, "password": password}}, as(k.admin)...).obj(k.t, "user"), "id")
	roles := k.must(200, "GET", "/v3/roles?name="+role, nil, as(k.admin)...).list(k.t, "roles")
	if len(roles) != 1 {
		k.t.Fatalf("role %s: %v", role, roles)
	}
	k.must(204, "PUT", "/v3/projects/"+pid+"/users/"+uid+"/roles/"+str(roles[0], "id"), nil, as(k.admin)...)
	return pid, uid
}

// TestKeystoneTokensGuardNeutron: without a valid project-scoped token
// nothing is read or changed, and the answer is a 401.
func TestKeystoneTokensGuardNeutron(t *testing.T) {
	t.Parallel()
	k := newKeystoneEnv(t)
	ctx := context.Background()
	demoP, _ := k.user("demo", "demo", "demo-pw-1", "member")
	k.user("lobby", "lonely", "lonely-pw-1", "reader")
	valid := k.token("demo", "demo-pw-1", "demo")
	net := k.create("networks", "network", map[string]any{"name": "net1"}, as(valid)...)
	if str(net, "project_id") != demoP {
		t.Fatalf("network of a member: project_id %s, want %s", str(net, "project_id"), demoP)
	}
	netID := str(net, "id")

	// A revoked token, used (and so cached) before its revocation.
	revoked := k.token("demo", "demo-pw-1", "demo")
	k.must(200, "GET", "/v2.0/networks/"+netID, nil, as(revoked)...)
	k.must(204, "DELETE", "/v3/auth/tokens", nil, "X-Auth-Token", k.admin, "X-Subject-Token", revoked)
	// An expired token: issued by a short-lived service on the same store,
	// used while valid, then left to expire.
	short := identity.New(k.st, 300*time.Millisecond)
	var req identity.AuthRequest
	b, _ := json.Marshal(authRequest("demo", "demo-pw-1", "demo"))
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	expired, info, err := short.Authenticate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	k.secret(expired)
	k.must(200, "GET", "/v2.0/networks/"+netID, nil, as(expired)...)
	time.Sleep(time.Until(info.ExpiresAt) + 20*time.Millisecond)
	// An unscoped token is a valid identity, but not for Neutron.
	unscoped := k.token("lonely", "lonely-pw-1", "")

	requests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v2.0/networks", nil},
		{"GET", "/v2.0/networks/" + netID, nil},
		{"POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "intruder"}}},
		{"PUT", "/v2.0/networks/" + netID, map[string]any{"network": map[string]any{"name": "hacked"}}},
		{"DELETE", "/v2.0/networks/" + netID, nil},
		{"POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "intruder"}}},
		{"GET", "/v2.0/ports.json", nil},
		{"GET", "/v2.0/extensions", nil},
	}
	for _, c := range []struct{ name, token string }{
		{"missing", ""}, {"invalid", "garbage"}, {"almost valid", valid + "x"}, {"revoked", revoked},
		{"expired", expired}, {"unscoped", unscoped},
	} {
		for _, rq := range requests {
			t.Run(c.name+" "+rq.method+" "+rq.path, func(t *testing.T) {
				var hdr []string
				if c.token != "" {
					hdr = as(c.token)
				}
				k := &env{t: t, srv: k.srv}
				r := k.do(rq.method, rq.path, rq.body, hdr...)
				expectUnauthorized(t, r, k.srv.URL)
				if strings.Contains(string(r.Body), "net1") || strings.Contains(string(r.Body), netID) {
					t.Errorf("401 body leaks: %s", r.Body)
				}
			})
		}
	}
	// Nothing changed.
	got := k.must(200, "GET", "/v2.0/networks", nil, as(k.admin)...).list(t, "networks")
	if len(got) != 1 || str(got[0], "name") != "net1" || num(got[0], "revision_number") != 1 {
		t.Errorf("networks after the refused requests: %s", pretty(got))
	}
	if gs := k.must(200, "GET", "/v2.0/security-groups?name=intruder", nil, as(k.admin)...).list(t, "security_groups"); len(gs) != 0 {
		t.Errorf("a refused request created a group: %s", pretty(gs))
	}
	// The valid token (control): the same requests work.
	k.must(200, "GET", "/v2.0/networks/"+netID, nil, as(valid)...)
	k.must(200, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"name": "renamed"}}, as(valid)...)
}

// TestKeystoneProjectIsolation: a member acts in its own project, and
// another project's resources do not exist for it.
func TestKeystoneProjectIsolation(t *testing.T) {
	t.Parallel()
	k := newKeystoneEnv(t)
	demoP, _ := k.user("demo", "demo", "demo-pw-1", "member")
	otherP, _ := k.user("other", "other", "other-pw-1", "member")
	demo := as(k.token("demo", "demo-pw-1", "demo"))
	other := as(k.token("other", "other-pw-1", "other"))

	f := k.newNet("net1", "10.1.0.0/24", demo...)
	sg := k.newGroup("web", demo...)
	port := k.newPort(f.net, map[string]any{"name": "p1", "security_groups": []string{str(sg, "id")}}, demo...)
	for _, o := range []map[string]any{k.get("networks", "network", f.net, demo...), k.get("subnets", "subnet", f.subnet, demo...), sg, port} {
		if str(o, "project_id") != demoP || str(o, "tenant_id") != demoP {
			t.Errorf("%s %s: project_id %q tenant_id %q, want %s", str(o, "name"), str(o, "id"), str(o, "project_id"), str(o, "tenant_id"), demoP)
		}
	}
	// The default group is created in demo's project, not the admin's.
	gs := k.must(200, "GET", "/v2.0/security-groups?name=default", nil, demo...).list(t, "security_groups")
	if len(gs) != 1 || str(gs[0], "project_id") != demoP {
		t.Errorf("demo's default groups: %s", pretty(gs))
	}
	admin := as(k.admin)

	// Other project: 404 for every verb on every demo resource.
	for _, c := range []struct{ coll, singular, id, typ string }{
		{"networks", "network", f.net, "NetworkNotFound"},
		{"subnets", "subnet", f.subnet, "SubnetNotFound"},
		{"ports", "port", str(port, "id"), "PortNotFound"},
		{"security-groups", "security_group", str(sg, "id"), "SecurityGroupNotFound"},
	} {
		t.Run(c.coll, func(t *testing.T) {
			k := &env{t: t, srv: k.srv}
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				var body any
				if m == "PUT" {
					body = map[string]any{c.singular: map[string]any{"name": "stolen"}}
				}
				r := k.do(m, "/v2.0/"+c.coll+"/"+c.id, body, other...)
				if r.Status != 404 || r.nerr(t).Type != c.typ {
					t.Errorf("other project %s %s: %d %s, want 404 %s", m, c.coll, r.Status, r.Body, c.typ)
				}
			}
			for _, q := range []string{"", "?id=" + c.id, "?project_id=" + demoP, "?tenant_id=" + demoP} {
				plural := strings.ReplaceAll(c.coll, "-", "_")
				for _, o := range k.must(200, "GET", "/v2.0/"+c.coll+q, nil, other...).list(t, plural) {
					if str(o, "project_id") != otherP {
						t.Errorf("other project lists %s of %s: %s", c.coll, str(o, "project_id"), pretty(o))
					}
				}
			}
			// Still there, unchanged, for demo and the admin.
			for _, who := range [][]string{demo, admin} {
				o := k.get(c.coll, c.singular, c.id, who...)
				if str(o, "name") == "stolen" {
					t.Errorf("%s renamed by another project", c.coll)
				}
			}
		})
	}
	// Another project cannot put a port on demo's network either.
	r := k.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": f.net}}, other...)
	if r.Status != 404 {
		t.Errorf("port on another project's network: %d %s", r.Status, r.Body)
	}
	// The admin sees both projects' networks.
	on := k.create("networks", "network", map[string]any{"name": "net2"}, other...)
	var seen []string
	for _, n := range k.must(200, "GET", "/v2.0/networks", nil, as(k.admin)...).list(t, "networks") {
		seen = append(seen, str(n, "project_id"))
	}
	slices.Sort(seen)
	want := []string{demoP, otherP}
	slices.Sort(want)
	if !slices.Equal(seen, want) || str(on, "project_id") != otherP {
		t.Errorf("admin sees networks of %v, want %v", seen, want)
	}
}

// TestKeystoneGophercloudKeepalived runs the keepalived walk-through with
// gophercloud logging in as a Keystone user and finding the network API
// in the catalog, as Terraform's provider does.
func TestKeystoneGophercloudKeepalived(t *testing.T) {
	t.Parallel()
	k := newKeystoneEnv(t)
	ctx := context.Background()
	demoP, demoU := k.user("demo", "demo", "demo-pw-1", "member")

	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: k.srv.URL + "/v3", Username: "demo", Password: "demo-pw-1", DomainName: "Default", TenantName: "demo"})
	if err != nil {
		t.Fatalf("gophercloud login: %v", err)
	}
	k.secret(provider.TokenID)
	if provider.TokenID == "" {
		t.Fatal("no token")
	}
	r := k.must(200, "GET", "/v3/auth/tokens", nil, "X-Auth-Token", k.admin, "X-Subject-Token", provider.TokenID)
	if tok := r.obj(t, "token"); str(tok["user"].(map[string]any), "id") != demoU || str(tok["project"].(map[string]any), "id") != demoP {
		t.Errorf("gophercloud's token: %s", r.Body)
	}
	nc, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatalf("network endpoint from the catalog: %v", err)
	}
	if nc.Endpoint != k.srv.URL+"/" || nc.ResourceBase != k.srv.URL+"/v2.0/" {
		t.Errorf("network client endpoint %q resource base %q", nc.Endpoint, nc.ResourceBase)
	}
	if _, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: "RegionTwo"}); err == nil {
		t.Errorf("a network endpoint in RegionTwo was found")
	}

	// Network and subnet, in demo's project.
	var net struct {
		networks.Network
		portsecurity.PortSecurityExt
	}
	if err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net1"}).ExtractInto(&net); err != nil {
		t.Fatalf("create network: %v", err)
	}
	if net.ProjectID != demoP || net.TenantID != demoP || !net.PortSecurityEnabled || net.Status != "ACTIVE" {
		t.Errorf("network: %s", pretty(net))
	}
	sn, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, Name: "subnet1", CIDR: "172.16.200.0/24", IPVersion: gophercloud.IPv4}).Extract()
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	if sn.ProjectID != demoP || sn.GatewayIP != "172.16.200.1" || len(sn.AllocationPools) != 1 || sn.AllocationPools[0].Start != "172.16.200.2" {
		t.Errorf("subnet: %s", pretty(sn))
	}

	// The group: VRRP in and out by number; by name it is a duplicate.
	sg, err := groups.Create(ctx, nc, groups.CreateOpts{Name: "ha-sg"}).Extract()
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	if sg.ProjectID != demoP || len(sg.Rules) != 2 {
		t.Errorf("group: %s", pretty(sg))
	}
	ruleIDs := map[rules.RuleDirection]string{}
	for _, dir := range []rules.RuleDirection{rules.DirIngress, rules.DirEgress} {
		r, err := rules.Create(ctx, nc, rules.CreateOpts{SecGroupID: sg.ID, Direction: dir, EtherType: rules.EtherType4, Protocol: "112"}).Extract()
		if err != nil {
			t.Fatalf("create %s rule 112: %v", dir, err)
		}
		if r.Protocol != "112" || r.Direction != string(dir) || r.ProjectID != demoP {
			t.Errorf("rule: %s", pretty(r))
		}
		ruleIDs[dir] = r.ID
	}
	for _, dir := range []rules.RuleDirection{rules.DirIngress, rules.DirEgress} {
		_, err := rules.Create(ctx, nc, rules.CreateOpts{SecGroupID: sg.ID, Direction: dir, EtherType: rules.EtherType4, Protocol: rules.ProtocolVRRP}).Extract()
		expectGCError(t, err, 409, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is "+ruleIDs[dir]+".")
	}

	// Two ports, .193 and .194, in the group.
	mk := func(name, ip string) psPort {
		var p psPort
		err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, Name: name, FixedIPs: []ports.IP{{IPAddress: ip}},
			SecurityGroups: &[]string{sg.ID}}).ExtractInto(&p)
		if err != nil {
			t.Fatalf("create port %s: %v", name, err)
		}
		if p.ProjectID != demoP || !p.PortSecurityEnabled || !slices.Equal(p.SecurityGroups, []string{sg.ID}) ||
			len(p.FixedIPs) != 1 || p.FixedIPs[0] != (ports.IP{SubnetID: sn.ID, IPAddress: ip}) || !neutronMAC.MatchString(p.MACAddress) {
			t.Errorf("port %s: %s", name, pretty(p))
		}
		return p
	}
	k1 := mk("keepalived01", "172.16.200.193")
	k2 := mk("keepalived02", "172.16.200.194")

	// The VIP .251 on both, with each port's own MAC.
	vip := []ports.AddressPair{{IPAddress: "172.16.200.251"}}
	for _, kp := range []psPort{k1, k2} {
		p, err := updatePort(t, nc, kp.ID, ports.UpdateOpts{AllowedAddressPairs: &vip})
		if err != nil {
			t.Fatalf("VIP on %s: %v", kp.Name, err)
		}
		want := []ports.AddressPair{{IPAddress: "172.16.200.251", MACAddress: kp.MACAddress}}
		if !slices.Equal(p.AllowedAddressPairs, want) || p.RevisionNumber != 2 {
			t.Errorf("%s with the VIP: %+v rev %d", kp.Name, p.AllowedAddressPairs, p.RevisionNumber)
		}
		if g := getPort(t, nc, kp.ID); !slices.Equal(g.AllowedAddressPairs, want) {
			t.Errorf("GET %s: pairs %+v", kp.Name, g.AllowedAddressPairs)
		}
	}
	// Clear the pairs.
	for _, kp := range []psPort{k1, k2} {
		p, err := updatePort(t, nc, kp.ID, ports.UpdateOpts{AllowedAddressPairs: &[]ports.AddressPair{}})
		if err != nil || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 3 {
			t.Errorf("clear pairs of %s: %v %+v rev %d", kp.Name, err, p.AllowedAddressPairs, p.RevisionNumber)
		}
	}
	// keepalived02: port security cannot go while groups remain; clear
	// them, then disable it.
	_, err = updatePort(t, nc, k2.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: ptr(false)})
	expectGCError(t, err, 409, "PortSecurityPortHasSecurityGroup",
		"Port has security group associated. Cannot disable port security or IP address until security group is removed.")
	p, err := updatePort(t, nc, k2.ID, ports.UpdateOpts{SecurityGroups: &[]string{}})
	if err != nil || len(p.SecurityGroups) != 0 || p.RevisionNumber != 4 {
		t.Fatalf("clear groups: %v %+v rev %d", err, p.SecurityGroups, p.RevisionNumber)
	}
	p, err = updatePort(t, nc, k2.ID, portsecurity.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, PortSecurityEnabled: ptr(false)})
	if err != nil || p.PortSecurityEnabled || p.RevisionNumber != 5 {
		t.Fatalf("disable port security: %v psec %v rev %d", err, p.PortSecurityEnabled, p.RevisionNumber)
	}

	// The end state, as GET shows it.
	p = getPort(t, nc, k2.ID)
	if p.PortSecurityEnabled || len(p.SecurityGroups) != 0 || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 5 ||
		p.MACAddress != k2.MACAddress || p.FixedIPs[0].IPAddress != "172.16.200.194" || p.ProjectID != demoP {
		t.Errorf("keepalived02 at the end: %s", pretty(p))
	}
	p = getPort(t, nc, k1.ID)
	if !p.PortSecurityEnabled || !slices.Equal(p.SecurityGroups, []string{sg.ID}) || len(p.AllowedAddressPairs) != 0 || p.RevisionNumber != 3 {
		t.Errorf("keepalived01 at the end: %s", pretty(p))
	}
	page, err := ports.List(nc, ports.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := ports.ExtractPorts(page)
	var got []string
	for _, p := range all {
		got = append(got, p.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"keepalived01", "keepalived02"}) {
		t.Errorf("demo's ports: %v", got)
	}

	// Revoking gophercloud's token locks it out at once (it cannot
	// re-authenticate: AllowReauth is off).
	k.must(204, "DELETE", "/v3/auth/tokens", nil, "X-Auth-Token", k.admin, "X-Subject-Token", provider.TokenID)
	_, err = networks.Get(ctx, nc, net.ID).Extract()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		t.Fatalf("after revocation: %v", err)
	}
	expectUnauthorized(t, &resp{Status: ue.Actual, Header: ue.ResponseHeader, Body: ue.Body, req: "GET network"}, k.srv.URL)
}

// expectUnauthorized checks the answer to a request without a valid
// token: 401 and the body and challenge keystonemiddleware gives in front
// of Neutron, {"error": {"code": 401, "title": "Unauthorized", ...}}.
func expectUnauthorized(t *testing.T, r *resp, base string) {
	t.Helper()
	if r.Status != 401 {
		t.Fatalf("%s: status %d, want 401: %s", r.req, r.Status, r.Body)
	}
	var b struct {
		Error struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Error.Code != 401 || b.Error.Title != "Unauthorized" ||
		!strings.HasPrefix(b.Error.Message, "The request you have made requires authentication") {
		t.Errorf("%s: 401 body %s", r.req, r.Body)
	}
	if r.Header != nil && r.Header.Get("WWW-Authenticate") != `Keystone uri="`+base+`/v3"` {
		t.Errorf("%s: WWW-Authenticate %q", r.req, r.Header.Get("WWW-Authenticate"))
	}
}
