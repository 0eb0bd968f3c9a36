package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/agents"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// clock is a settable time source for agent liveness.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newAgentEnv is newEnvWith that also hands out the store (for the change
// log) and a clock the service judges heartbeats by.
func newAgentEnv(t *testing.T, auth api.Authenticator) (*env, *sqldb.DB, *clock) {
	t.Helper()
	st := openTestStore(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	cfg := service.DefaultConfig()
	cfg.Clock = clk.now
	e := &env{t: t}
	h := api.New(service.New(st, cfg), auth, nil)
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
	})
	pc := &gophercloud.ProviderClient{HTTPClient: *e.srv.Client()}
	e.nc = &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: e.srv.URL + "/", ResourceBase: e.srv.URL + "/v2.0/"}
	return e, st, clk
}

var (
	agentTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	uuidRe      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// heartbeat reports an agent on host and returns the answer's agent and
// agent_status.
func (e *env) heartbeat(host string, extra map[string]any, hdr ...string) (map[string]any, string) {
	e.t.Helper()
	a := map[string]any{"host": host, "binary": "bulwark-agent",
		"configurations": map[string]any{"backend": "iptables", "br_netfilter": true, "ports": 2}}
	for k, v := range extra {
		a[k] = v
	}
	r := e.must(200, "POST", "/v2.0/bulwark/agents/heartbeat", map[string]any{"agent": a}, hdr...)
	return r.obj(e.t, "agent"), str(r.JSON(e.t), "agent_status")
}

func TestAgentFieldsAndHeartbeat(t *testing.T) {
	e, _, clk := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	a, status := e.heartbeat("compute-1", map[string]any{"started_at": "2026-11-26T13:30:00Z"})
	if status != "new" {
		t.Errorf("first heartbeat: agent_status %q, want new", status)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
	})
	wantKeys := []string{"admin_state_up", "agent_type", "alive", "availability_zone", "binary", "configurations", "created_at",
		"description", "heartbeat_timestamp", "host", "id", "resources_synced", "started_at", "topic"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("agent keys %v\nwant %v", keys, wantKeys)
	}
	id := str(a, "id")
	for k, want := range map[string]any{"agent_type": "Bulwark agent", "binary": "bulwark-agent", "host": "compute-1", "topic": "N/A",
		"admin_state_up": true, "alive": true, "description": nil, "availability_zone": nil, "resources_synced": nil,
		"started_at":     "2026-11-26 13:30:00",
		"configurations": map[string]any{"backend": "iptables", "br_netfilter": true, "ports": float64(2)}} {
		if !reflect.DeepEqual(a[k], want) {
			t.Errorf("%s = %#v, want %#v", k, a[k], want)
		}
	}
	if !uuidRe.MatchString(id) {
		t.Errorf("id %q", id)
	}
	for _, k := range []string{"created_at", "heartbeat_timestamp"} {
		if !agentTimeRe.MatchString(str(a, k)) {
			t.Errorf("%s = %q, want Neutron's agent time format", k, a[k])
		}
	}
	if got := e.get("agents", "agent", id); !reflect.DeepEqual(got, a) {
		t.Errorf("GET differs from the heartbeat's answer:\n%v\n%v", got, a)
	}

	// A later heartbeat updates the same agent: configurations replaced,
	// started_at kept unless sent, heartbeat advanced.
	clk.advance(30 * time.Second)
	b, status := e.heartbeat("compute-1", map[string]any{"configurations": map[string]any{"ports": 3}})
	if status != "alive" || str(b, "id") != id || str(b, "started_at") != "2026-11-26 13:30:00" ||
		!reflect.DeepEqual(b["configurations"], map[string]any{"ports": float64(3)}) || str(b, "created_at") != str(a, "created_at") {
		t.Errorf("second heartbeat (%s): %v", status, b)
	}
	if str(b, "heartbeat_timestamp") <= str(a, "heartbeat_timestamp") {
		t.Errorf("heartbeat_timestamp %s not after %s", b["heartbeat_timestamp"], a["heartbeat_timestamp"])
	}

	// alive: a heartbeat within agent_down_time (75 s).
	clk.advance(75 * time.Second)
	if got := e.get("agents", "agent", id); got["alive"] != true {
		t.Errorf("75 s after the heartbeat: alive %v", got["alive"])
	}
	clk.advance(time.Second)
	if got := e.get("agents", "agent", id); got["alive"] != false {
		t.Errorf("76 s after the heartbeat: alive %v", got["alive"])
	}
	if _, status := e.heartbeat("compute-1", nil); status != "revived" {
		t.Errorf("heartbeat of a dead agent: %q, want revived", status)
	}
	if got := e.get("agents", "agent", id); got["alive"] != true {
		t.Errorf("after reviving: alive %v", got["alive"])
	}

	// Validation of the heartbeat body.
	for _, c := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"agent": map[string]any{"binary": "bulwark-agent"}}, "Failed to parse request. Required attribute 'host' not specified"},
		{map[string]any{"agent": map[string]any{"host": ""}}, "Failed to parse request. Required attribute 'host' not specified"},
		{map[string]any{"agent": map[string]any{"host": "h", "binary": "neutron-dhcp-agent"}}, "Invalid input for binary. Reason: 'neutron-dhcp-agent' is not a known agent binary."},
		{map[string]any{"agent": map[string]any{"host": "h", "configurations": []int{1}}}, "Invalid input for configurations. Reason: '[1]' is not a dictionary."},
		{map[string]any{"agent": map[string]any{"host": "h", "started_at": "yesterday"}}, "Invalid input for started_at. Reason: 'yesterday' is not a valid timestamp."},
		{map[string]any{"agent": map[string]any{"host": "h", "alive": true}}, "Unrecognized attribute(s) 'alive'"},
		{map[string]any{"host": "h"}, "Unable to find 'agent' in request body"},
	} {
		expectError(t, e.do("POST", "/v2.0/bulwark/agents/heartbeat", c.body), 400, "HTTPBadRequest", c.msg)
	}
	expectError(t, e.do("GET", "/v2.0/bulwark/agents/heartbeat", nil), 405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	if n := len(e.must(200, "GET", "/v2.0/agents", nil).list(t, "agents")); n != 1 {
		t.Errorf("refused heartbeats registered agents: %d", n)
	}
}

func TestAgentListFiltersAndUpdates(t *testing.T) {
	e, _, clk := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	c1, _ := e.heartbeat("compute-1", nil)
	c2, _ := e.heartbeat("compute-2", nil)
	clk.advance(100 * time.Second)
	c3, _ := e.heartbeat("compute-3", nil) // the only live one
	all := []string{str(c1, "id"), str(c2, "id"), str(c3, "id")}
	sort.Strings(all)
	list := func(query string) []string {
		t.Helper()
		out := ids(e.must(200, "GET", "/v2.0/agents"+query, nil).list(t, "agents"))
		sort.Strings(out)
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?host=compute-2", []string{str(c2, "id")}},
		{"?host=compute-2&host=compute-3", sorted([]string{str(c2, "id"), str(c3, "id")})},
		{"?agent_type=Bulwark+agent", all},
		{"?agent_type=Open+vSwitch+agent", []string{}},
		{"?binary=bulwark-agent", all},
		{"?topic=N/A", all},
		{"?alive=true", []string{str(c3, "id")}},
		{"?alive=True", []string{str(c3, "id")}},
		{"?alive=false", sorted([]string{str(c1, "id"), str(c2, "id")})},
		{"?admin_state_up=true", all},
		{"?id=" + str(c1, "id"), []string{str(c1, "id")}},
	} {
		if got := list(c.query); !slices.Equal(got, c.want) {
			t.Errorf("GET /v2.0/agents%s: %v, want %v", c.query, got, c.want)
		}
	}
	expectError(t, e.do("GET", "/v2.0/agents?bogus=1", nil), 400, "HTTPBadRequest", "[bogus] is invalid attribute for filtering")

	// fields=, sorting, paging.
	l := e.must(200, "GET", "/v2.0/agents?fields=host&fields=alive&sort_key=host&sort_dir=desc", nil).list(t, "agents")
	if len(l) != 3 || str(l[0], "host") != "compute-3" || len(l[0]) != 2 || l[0]["alive"] != true {
		t.Errorf("fields+sort: %v", l)
	}
	page := e.must(200, "GET", "/v2.0/agents?sort_key=host&limit=2", nil)
	if got := page.list(t, "agents"); len(got) != 2 || str(got[1], "host") != "compute-2" {
		t.Errorf("page 1: %s", page.Body)
	} else if links := objs(page.JSON(t), "agents_links"); len(links) != 1 || str(links[0], "rel") != "next" {
		t.Errorf("page 1 links: %s", page.Body)
	} else {
		next := e.must(200, "GET", "/v2.0/agents?sort_key=host&limit=2&marker="+str(got[1], "id"), nil).list(t, "agents")
		if len(next) != 1 || str(next[0], "host") != "compute-3" {
			t.Errorf("page 2: %v", next)
		}
	}
	expectError(t, e.do("GET", "/v2.0/agents?marker="+unknownID, nil), 404, "AgentNotFound", "Agent "+unknownID+" could not be found.")

	// PUT: admin_state_up and description only.
	id := str(c1, "id")
	u := e.update("agents", "agent", id, map[string]any{"admin_state_up": false, "description": "draining"})
	if u["admin_state_up"] != false || u["description"] != "draining" || str(u, "host") != "compute-1" {
		t.Errorf("update: %v", u)
	}
	if got := list("?admin_state_up=false"); !slices.Equal(got, []string{id}) {
		t.Errorf("admin_state_up=false: %v", got)
	}
	// A heartbeat keeps what the admin set.
	if a, _ := e.heartbeat("compute-1", nil); a["admin_state_up"] != false || a["description"] != "draining" {
		t.Errorf("heartbeat reset the admin's settings: %v", a)
	}
	if u := e.update("agents", "agent", id, map[string]any{"description": nil, "admin_state_up": "true"}); u["description"] != nil || u["admin_state_up"] != true {
		t.Errorf("update back: %v", u)
	}
	for _, c := range []struct {
		body     map[string]any
		status   int
		typ, msg string
	}{
		{map[string]any{"host": "x"}, 400, "HTTPBadRequest", "Cannot update read-only attribute host"},
		{map[string]any{"alive": false}, 400, "HTTPBadRequest", "Cannot update read-only attribute alive"},
		{map[string]any{"bogus": 1}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'"},
		{map[string]any{"admin_state_up": "maybe"}, 400, "InvalidInput", "Invalid input for operation: 'maybe' cannot be converted to boolean."},
		{map[string]any{"description": 7}, 400, "HTTPBadRequest", "Invalid input for description. Reason: '7' is not a valid string."},
	} {
		expectError(t, e.do("PUT", "/v2.0/agents/"+id, map[string]any{"agent": c.body}), c.status, c.typ, c.msg)
	}
	expectError(t, e.do("PUT", "/v2.0/agents/"+unknownID, map[string]any{"agent": map[string]any{"description": "x"}}), 404, "AgentNotFound", "Agent "+unknownID+" could not be found.")

	// Agents register themselves; the API creates none.
	expectError(t, e.do("POST", "/v2.0/agents", map[string]any{"agent": map[string]any{}}), 400, "BadRequest", "Bad agents request: Agent creation using API is not supported..")
	expectError(t, e.do("POST", "/v2.0/agents", map[string]any{"agent": map[string]any{"host": "x"}}), 400, "HTTPBadRequest", "Attribute 'host' not allowed in POST")

	// DELETE; the agent registers again (new id) at its next heartbeat.
	e.must(204, "DELETE", "/v2.0/agents/"+id, nil)
	expectError(t, e.do("GET", "/v2.0/agents/"+id, nil), 404, "AgentNotFound", "Agent "+id+" could not be found.")
	expectError(t, e.do("DELETE", "/v2.0/agents/"+id, nil), 404, "AgentNotFound", "Agent "+id+" could not be found.")
	if a, status := e.heartbeat("compute-1", nil); status != "new" || str(a, "id") == id {
		t.Errorf("heartbeat after delete: %s %v", status, a)
	}
}

// TestAgentPolicy: agents and the agent channel are admin-only. Neutron
// lists no agents to others and hides the existing ones behind an
// anonymous 404 (its controller turns get_agent's refusal into "The
// resource could not be found."); the Bulwark endpoints refuse with 403.
func TestAgentPolicy(t *testing.T) {
	e, _, _ := newAgentEnv(t, memberAuth{})
	adm := []string{"X-Roles", "admin,member,reader"}
	a, _ := e.heartbeat("compute-1", nil, adm...)
	id := str(a, "id")
	f := e.newNet("n", "10.0.0.0/24", adm...)
	p := e.newPort(f.net, map[string]any{"binding:host_id": "compute-1"}, adm...)
	for _, roles := range []string{"member,reader", "reader", "no-role"} {
		h := []string{"X-Roles", roles}
		t.Run(roles, func(t *testing.T) {
			if l := e.must(200, "GET", "/v2.0/agents", nil, h...).list(t, "agents"); len(l) != 0 {
				t.Errorf("non-admin lists %d agents", len(l))
			}
			if l := e.must(200, "GET", "/v2.0/agents?host=compute-1", nil, h...).list(t, "agents"); len(l) != 0 {
				t.Errorf("non-admin lists %d agents", len(l))
			}
			hidden := "The resource could not be found."
			expectError(t, e.do("GET", "/v2.0/agents/"+id, nil, h...), 404, "HTTPNotFound", hidden)
			expectError(t, e.do("PUT", "/v2.0/agents/"+id, map[string]any{"agent": map[string]any{"admin_state_up": false}}, h...), 404, "HTTPNotFound", hidden)
			expectError(t, e.do("DELETE", "/v2.0/agents/"+id, nil, h...), 404, "HTTPNotFound", hidden)
			expectError(t, e.do("GET", "/v2.0/agents/"+unknownID, nil, h...), 404, "AgentNotFound", "Agent "+unknownID+" could not be found.")
			// Body validation comes first, as in Neutron.
			expectError(t, e.do("PUT", "/v2.0/agents/"+id, map[string]any{"agent": map[string]any{"host": "x"}}, h...), 400, "HTTPBadRequest", "Cannot update read-only attribute host")
			expectError(t, e.do("POST", "/v2.0/agents", map[string]any{"agent": map[string]any{}}, h...), 403, "PolicyNotAuthorized", "rule:create_agent is disallowed by policy")
			for _, c := range []struct {
				method, path string
				body         any
				rule         string
			}{
				{"POST", "/v2.0/bulwark/agents/heartbeat", map[string]any{"agent": map[string]any{"host": "compute-1"}}, "bulwark_report_state"},
				{"GET", "/v2.0/bulwark/hosts/compute-1/state", nil, "bulwark_get_host_state"},
				{"GET", "/v2.0/bulwark/watch?host=compute-1&since=0&timeout=0", nil, "bulwark_watch"},
				{"PUT", "/v2.0/bulwark/hosts/compute-1/ports/" + str(p, "id") + "/status", map[string]any{"status": "ACTIVE"}, "bulwark_update_port_status"},
			} {
				expectError(t, e.do(c.method, c.path, c.body, h...), 403, "PolicyNotAuthorized", "rule:"+c.rule+" is disallowed by policy")
			}
		})
	}
	// Nothing changed.
	if got := e.get("agents", "agent", id, adm...); got["admin_state_up"] != true || str(got, "heartbeat_timestamp") != str(a, "heartbeat_timestamp") {
		t.Errorf("agent changed by refused requests: %v", got)
	}
	if got := e.get("ports", "port", str(p, "id"), adm...); str(got, "status") != "DOWN" || num(got, "revision_number") != num(p, "revision_number") {
		t.Errorf("port changed by refused requests: %v", got)
	}
}

// TestAgentsGophercloud: gophercloud's agents package reads and changes
// Bulwark's agents unmodified.
func TestAgentsGophercloud(t *testing.T) {
	e, _, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	ctx := context.Background()
	e.heartbeat("compute-1", map[string]any{"started_at": "2026-11-26 13:36:28"})
	var all []agents.Agent
	err := agents.List(e.nc, agents.ListOpts{Host: "compute-1", Alive: ptr(true)}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		l, err := agents.ExtractAgents(p)
		all = append(all, l...)
		return true, err
	})
	if err != nil || len(all) != 1 {
		t.Fatalf("list: %v %v", all, err)
	}
	a := all[0]
	if a.AgentType != "Bulwark agent" || a.Binary != "bulwark-agent" || a.Topic != "N/A" || !a.Alive || !a.AdminStateUp ||
		a.Configurations["backend"] != "iptables" || a.StartedAt != time.Date(2026, 11, 26, 13, 36, 28, 0, time.UTC) ||
		time.Since(a.HeartbeatTimestamp) > time.Minute || a.CreatedAt.IsZero() {
		t.Errorf("gophercloud agent: %+v", a)
	}
	up := false
	desc := "maintenance"
	u, err := agents.Update(ctx, e.nc, a.ID, agents.UpdateOpts{AdminStateUp: &up, Description: &desc}).Extract()
	if err != nil || u.AdminStateUp || u.Description != desc {
		t.Errorf("update: %+v %v", u, err)
	}
	if g, err := agents.Get(ctx, e.nc, a.ID).Extract(); err != nil || g.AdminStateUp || g.Host != "compute-1" {
		t.Errorf("get: %+v %v", g, err)
	}
	if err := agents.Delete(ctx, e.nc, a.ID).ExtractErr(); err != nil {
		t.Errorf("delete: %v", err)
	}
	expectGCError(t, agents.Get(ctx, e.nc, a.ID).Err, 404, "AgentNotFound", "Agent "+a.ID+" could not be found.")
}

// TestPortStatus: the agent sets the status of ports bound to its host;
// clients cannot.
func TestPortStatus(t *testing.T) {
	e, st, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	f := e.newNet("n", "10.0.0.0/24")
	p := e.newPort(f.net, map[string]any{"binding:host_id": "compute-1"})
	id := str(p, "id")
	if str(p, "status") != "DOWN" {
		t.Fatalf("new port status %v", p["status"])
	}
	path := "/v2.0/bulwark/hosts/compute-1/ports/" + id + "/status"
	before := lastSeq(t, st)
	u := e.must(200, "PUT", path, map[string]any{"status": "ACTIVE"}).obj(t, "port")
	if str(u, "status") != "ACTIVE" || num(u, "revision_number") != num(p, "revision_number")+1 || str(u, "binding:host_id") != "compute-1" {
		t.Errorf("status update: %v", u)
	}
	if g := e.get("ports", "port", id); str(g, "status") != "ACTIVE" || num(g, "revision_number") != num(u, "revision_number") {
		t.Errorf("after status update: %v", g)
	}
	cs, err := st.Changes(context.Background(), before, 0)
	if err != nil || len(cs) != 1 || cs[0].Resource != "port" || cs[0].ResourceID != id || cs[0].Op != "update" || cs[0].Revision != int64(num(u, "revision_number")) {
		t.Errorf("change log after a status update: %+v %v", cs, err)
	}
	// The same status again changes nothing.
	if again := e.must(200, "PUT", path, map[string]any{"status": "ACTIVE"}).obj(t, "port"); num(again, "revision_number") != num(u, "revision_number") {
		t.Errorf("no-op status update bumped the revision: %v", again)
	}
	if n := lastSeq(t, st); n != before+1 {
		t.Errorf("no-op status update logged a change")
	}
	e.must(200, "PUT", path, map[string]any{"status": "DOWN"})

	for _, c := range []struct {
		path     string
		body     any
		status   int
		typ, msg string
	}{
		{"/v2.0/bulwark/hosts/compute-2/ports/" + id + "/status", map[string]any{"status": "ACTIVE"}, 404, "PortNotFound", "Port " + id + " could not be found."},
		{"/v2.0/bulwark/hosts/compute-1/ports/" + unknownID + "/status", map[string]any{"status": "ACTIVE"}, 404, "PortNotFound", "Port " + unknownID + " could not be found."},
		{path, map[string]any{"status": "UP"}, 400, "HTTPBadRequest", "Invalid input for status. Reason: 'UP' is not in ['ACTIVE', 'BUILD', 'DOWN', 'ERROR']."},
		{path, map[string]any{}, 400, "HTTPBadRequest", "Failed to parse request. Required attribute 'status' not specified"},
		{path, map[string]any{"status": "ACTIVE", "name": "x"}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'name'"},
		{path, "[", 400, "HTTPBadRequest", "Body contains invalid data"},
	} {
		expectError(t, e.do("PUT", c.path, c.body), c.status, c.typ, c.msg)
	}
	expectError(t, e.do("GET", path, nil), 405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	// An unbound port belongs to no host's agent.
	q := e.newPort(f.net, nil)
	expectError(t, e.do("PUT", "/v2.0/bulwark/hosts/compute-1/ports/"+str(q, "id")+"/status", map[string]any{"status": "ACTIVE"}), 404, "PortNotFound", "Port "+str(q, "id")+" could not be found.")
	// The regular API keeps status read-only (Neutron: allow_put False).
	expectError(t, e.do("PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"status": "ACTIVE"}}), 400, "HTTPBadRequest", "Cannot update read-only attribute status")
	expectError(t, e.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": f.net, "status": "ACTIVE"}}), 400, "HTTPBadRequest", "Attribute 'status' not allowed in POST")
	if g := e.get("ports", "port", id); str(g, "status") != "DOWN" {
		t.Errorf("status %v", g["status"])
	}
}

func lastSeq(t *testing.T, st *sqldb.DB) int64 {
	t.Helper()
	cs, err := st.Changes(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		return 0
	}
	return cs[len(cs)-1].Seq
}

// TestAgentExtension: "agent" is announced as Neutron 21 names it.
func TestAgentExtension(t *testing.T) {
	e := newEnv(t)
	x := e.must(200, "GET", "/v2.0/extensions/agent", nil).obj(t, "extension")
	if str(x, "name") != "agent" || str(x, "alias") != "agent" || str(x, "updated") != "2013-02-03T10:00:00-00:00" {
		t.Errorf("agent extension: %v", x)
	}
}
