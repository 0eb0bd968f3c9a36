package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/service"
)

// The policy matrix: two projects (A and B), three callers of project A
// (admin, member, reader), every resource of A and of B (including B's
// shared and external networks and A's port on B's shared network), every
// verb. Each cell states the exact answer; every refused request is
// followed by a snapshot of the whole state (as an admin sees it) that
// must not have changed.

const (
	projA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	projB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

type role int

const (
	rAdmin role = iota
	rMember
	rReader
)

var roleNames = [...]string{"admin", "member", "reader"}

// caller is the request headers of role in project (memberAuth).
func caller(r role, project string) []string {
	roles := [...]string{"admin,member,reader", "member,reader", "reader"}[r]
	return []string{"X-Project-Id", project, "X-Roles", roles}
}

// want is one cell's expected answer. status okStatus is the verb's
// success status; typ "=" is the target's own NotFound.
type want struct {
	status   int
	typ, msg string
}

const okStatus = -1

var (
	ok       = want{status: okStatus}
	nf       = want{status: 404, typ: "="}
	hiddenNF = want{404, "HTTPNotFound", "The resource could not be found."}
	foreign  = want{400, "HTTPBadRequest", "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges"}
)

func deny(rule string) want {
	return want{403, "PolicyNotAuthorized", rule + " is disallowed by policy"}
}
func readOnly(attr string) want {
	return want{400, "HTTPBadRequest", "Cannot update read-only attribute " + attr}
}
func all(w want) [3]want            { return [3]want{w, w, w} }
func by(a, m, r want) [3]want       { return [3]want{a, m, r} }
func status(code int) want          { return want{status: code} }
func conflict(typ, msg string) want { return want{409, typ, msg} }

// kind is a REST collection as the matrix uses it.
type kind struct {
	coll, singular, plural string
	nfType, nfFormat       string
	update                 map[string]any
}

var (
	kNet  = &kind{"networks", "network", "networks", "NetworkNotFound", "Network %s could not be found.", map[string]any{"name": "renamed"}}
	kSub  = &kind{"subnets", "subnet", "subnets", "SubnetNotFound", "Subnet %s could not be found.", map[string]any{"name": "renamed"}}
	kPort = &kind{"ports", "port", "ports", "PortNotFound", "Port %s could not be found.", map[string]any{"name": "renamed"}}
	kSG   = &kind{"security-groups", "security_group", "security_groups", "SecurityGroupNotFound", "Security group %s does not exist", map[string]any{"name": "renamed"}}
	kRule = &kind{"security-group-rules", "security_group_rule", "security_group_rules", "SecurityGroupRuleNotFound", "Security group rule %s does not exist", map[string]any{"description": "renamed"}}
	kAG   = &kind{"address-groups", "address_group", "address_groups", "AddressGroupNotFound", "Address group %s could not be found.", map[string]any{"name": "renamed"}}
	kinds = []*kind{kNet, kSub, kPort, kSG, kRule, kAG}
)

// pworld is the matrix's fixture: ids by "<collection>/<target>".
type pworld struct {
	id         map[string]string
	groupRules map[string][]string // security group id -> its rule ids
	rules      map[string][]string // project (A, B) -> every rule id
}

func (w *pworld) of(k *kind, target string) string {
	id, ok := w.id[k.coll+"/"+target]
	if !ok {
		panic("no fixture " + k.coll + "/" + target)
	}
	return id
}

// buildPolicyWorld creates, through the API: in A and in B a network and
// subnet, a port, a security group with one rule (and so the project's
// default group), an address group, each tagged "t0"; B's shared network
// and external network with a subnet each; A's port on B's shared
// network; an explicit quota for B.
func buildPolicyWorld(e *env) *pworld {
	w := &pworld{id: map[string]string{}, groupRules: map[string][]string{}, rules: map[string][]string{}}
	tags := []string{"t0"}
	set := func(k *kind, target string, obj map[string]any) { w.id[k.coll+"/"+target] = str(obj, "id") }
	adminB := caller(rAdmin, projB)
	for _, p := range []struct {
		name, project, cidr string
	}{{"A", projA, "10.1.0.0/24"}, {"B", projB, "10.2.0.0/24"}} {
		h := caller(rMember, p.project)
		n := e.create("networks", "network", map[string]any{"name": "net" + p.name, "tags": tags}, h...)
		set(kNet, p.name, n)
		set(kSub, p.name, e.create("subnets", "subnet", map[string]any{"network_id": str(n, "id"), "cidr": p.cidr, "ip_version": 4, "tags": tags}, h...))
		port := e.create("ports", "port", map[string]any{"network_id": str(n, "id"), "name": "port" + p.name, "tags": tags}, h...)
		set(kPort, p.name, port)
		sg := e.create("security-groups", "security_group", map[string]any{"name": "sg" + p.name, "tags": tags}, h...)
		set(kSG, p.name, sg)
		rule := e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": str(sg, "id"),
			"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}, h...)
		set(kRule, p.name, rule)
		set(kAG, p.name, e.create("address-groups", "address_group", map[string]any{"name": "ag" + p.name, "addresses": []string{"10.0.0.0/24"}}, h...))
		w.groupRules[str(sg, "id")] = append(ids(objs(sg, "security_group_rules")), str(rule, "id"))
		def := strs(port, "security_groups")
		if len(def) != 1 {
			e.t.Fatalf("port of %s has groups %v, want its default group", p.name, def)
		}
		w.id[kSG.coll+"/"+p.name+"default"] = def[0]
		w.groupRules[def[0]] = ids(objs(e.get("security-groups", "security_group", def[0], adminB...), "security_group_rules"))
		w.rules[p.name] = append(slices.Clone(w.groupRules[str(sg, "id")]), w.groupRules[def[0]]...)
		if len(w.rules[p.name]) != 7 {
			e.t.Fatalf("rules of %s: %v", p.name, w.rules[p.name])
		}
	}
	for _, x := range []struct {
		target, cidr string
		attrs        map[string]any
	}{{"Bshared", "10.3.0.0/24", map[string]any{"shared": true}}, {"Bext", "10.4.0.0/24", map[string]any{"router:external": true}}} {
		x.attrs["name"], x.attrs["tags"] = "net"+x.target, tags
		n := e.create("networks", "network", x.attrs, adminB...)
		if str(n, "project_id") != projB {
			e.t.Fatalf("%s in project %s", x.target, str(n, "project_id"))
		}
		set(kNet, x.target, n)
		set(kSub, x.target, e.create("subnets", "subnet", map[string]any{"network_id": str(n, "id"), "cidr": x.cidr, "ip_version": 4, "tags": tags}, caller(rMember, projB)...))
	}
	set(kPort, "AS", e.create("ports", "port", map[string]any{"network_id": w.of(kNet, "Bshared"), "name": "portAS", "tags": tags}, caller(rMember, projA)...))
	e.must(200, "PUT", "/v2.0/quotas/"+projB, map[string]any{"quota": map[string]any{"network": 50}}, adminB...)
	return w
}

// pmatrix runs cells as one role of project A against one world.
type pmatrix struct {
	e      *env
	w      *pworld
	role   role
	before string
}

// snapshot is everything a request could change, as an admin sees it.
func (m *pmatrix) snapshot() string {
	var b strings.Builder
	h := caller(rAdmin, projA)
	for _, k := range kinds {
		b.Write(m.e.must(200, "GET", "/v2.0/"+k.coll+"?sort_key=id", nil, h...).Body)
		b.WriteByte('\n')
	}
	for _, p := range []string{projA, projB} {
		b.Write(m.e.must(200, "GET", "/v2.0/quotas/"+p, nil, h...).Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// expect sends one request as the matrix's role and checks the answer
// against w; a refused request must change nothing.
func (m *pmatrix) expect(t *testing.T, cell string, w want, success int, nfID string, k *kind, method, path string, body any) *resp {
	t.Helper()
	if w.status == okStatus {
		w.status = success
	}
	if w.typ == "=" {
		w.typ, w.msg = k.nfType, fmt.Sprintf(k.nfFormat, nfID)
	}
	r := m.e.do(method, path, body, caller(m.role, projA)...)
	if r.Status != w.status {
		t.Errorf("%s [%s]: %s %s: status %d, want %d (%s)", cell, roleNames[m.role], method, path, r.Status, w.status, r.Body)
	}
	if r.Status >= 400 {
		if w.status >= 400 {
			ne := r.nerr(t)
			if ne.Type != w.typ || ne.Message != w.msg {
				t.Errorf("%s [%s]: %s %s:\n  got  %d %s %q\n  want %d %s %q", cell, roleNames[m.role], method, path, r.Status, ne.Type, ne.Message, w.status, w.typ, w.msg)
			}
		}
		if after := m.snapshot(); after != m.before {
			t.Errorf("%s [%s]: refused %s %s changed the state", cell, roleNames[m.role], method, path)
			m.before = after
		}
	} else {
		m.before = m.snapshot()
	}
	return r
}

// cell is one resource × target × verb, with the answer for admin,
// member and reader of project A.
type cell struct {
	k      *kind
	target string
	verb   string
	want   [3]want
	body   map[string]any // update body instead of k.update
	nfOf   string         // "<collection>/<target>" a 404 names, if not the target
}

// verbs: method, path suffix, success status, body.
func (c cell) request(w *pworld) (method, path string, success int, body any) {
	base := "/v2.0/" + c.k.coll + "/" + w.of(c.k, c.target)
	switch c.verb {
	case "show":
		return "GET", base, 200, nil
	case "update":
		b := c.body
		if b == nil {
			b = c.k.update
		}
		b = expandIDs(w, b)
		return "PUT", base, 200, map[string]any{c.k.singular: b}
	case "delete":
		return "DELETE", base, 204, nil
	case "tags":
		return "GET", base + "/tags", 200, nil
	case "tag":
		return "GET", base + "/tags/t0", 204, nil
	case "tag-put":
		return "PUT", base + "/tags/t1", 201, nil
	case "tags-put":
		return "PUT", base + "/tags", 200, map[string]any{"tags": []string{"t2", "t3"}}
	case "tag-delete":
		return "DELETE", base + "/tags/t2", 204, nil
	case "tags-delete":
		return "DELETE", base + "/tags", 204, nil
	case "add_addresses", "remove_addresses":
		return "PUT", base + "/" + c.verb, 200, map[string]any{"addresses": []string{"10.8.0.0/24"}}
	}
	panic("unknown verb " + c.verb)
}

// expandIDs replaces "{<collection>/<target>}" strings in a body's
// string lists by the fixture's ids.
func expandIDs(w *pworld, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range b {
		if l, ok := v.([]string); ok {
			var ex []string
			for _, s := range l {
				if ref, ok := strings.CutPrefix(s, "{"); ok {
					coll, target, _ := strings.Cut(strings.TrimSuffix(ref, "}"), "/")
					for _, kd := range kinds {
						if kd.coll == coll {
							s = w.of(kd, target)
						}
					}
				}
				ex = append(ex, s)
			}
			v = ex
		}
		out[k] = v
	}
	return out
}

// tagCells are the six tag verbs: reads, updates (PUT one, PUT all) and
// deletes (one, all).
func tagCells(k *kind, target string, read, update, del [3]want) []cell {
	return []cell{
		{k: k, target: target, verb: "tags", want: read},
		{k: k, target: target, verb: "tag", want: read},
		{k: k, target: target, verb: "tag-put", want: update},
		{k: k, target: target, verb: "tags-put", want: update},
		{k: k, target: target, verb: "tag-delete", want: del},
		{k: k, target: target, verb: "tags-delete", want: del},
	}
}

// ownCells: a resource of A whose writes need member; foreignCells: one
// of B that only the admin sees; visibleCells: one of B that A sees and
// may not change.
func ownCells(k *kind, target, res string, tagged bool) []cell {
	out := []cell{
		{k: k, target: target, verb: "show", want: all(ok)},
		{k: k, target: target, verb: "update", want: by(ok, ok, deny("rule:update_"+res))},
	}
	if tagged {
		out = append(out, tagCells(k, target, all(ok), by(ok, ok, deny("rule:update_"+res+":tags")), by(ok, ok, deny("rule:delete_"+res+":tags")))...)
	}
	return out
}

func foreignCells(k *kind, target string, tagged bool) []cell {
	out := []cell{
		{k: k, target: target, verb: "show", want: by(ok, nf, nf)},
		{k: k, target: target, verb: "update", want: by(ok, nf, nf)},
	}
	if tagged {
		out = append(out, tagCells(k, target, by(ok, nf, nf), by(ok, nf, nf), by(ok, nf, nf))...)
	}
	return out
}

func visibleCells(k *kind, target, res string) []cell {
	return append([]cell{
		{k: k, target: target, verb: "show", want: all(ok)},
		{k: k, target: target, verb: "update", want: by(ok, deny("rule:update_"+res), deny("rule:update_"+res))},
	}, tagCells(k, target, all(ok), by(ok, deny("rule:update_"+res+":tags"), deny("rule:update_"+res+":tags")),
		by(ok, deny("rule:delete_"+res+":tags"), deny("rule:delete_"+res+":tags")))...)
}

func concat(parts ...[]cell) []cell { return slices.Concat(parts...) }

// readWriteCells: show, update, tags and address-group actions (no
// deletes), then attribute rules on update.
var readWriteCells = concat(
	ownCells(kNet, "A", "network", true),
	foreignCells(kNet, "B", true),
	visibleCells(kNet, "Bshared", "network"),
	visibleCells(kNet, "Bext", "network"),
	ownCells(kSub, "A", "subnet", true),
	foreignCells(kSub, "B", true),
	visibleCells(kSub, "Bshared", "subnet"),
	foreignCells(kSub, "Bext", true), // an external network's subnets stay hidden
	ownCells(kPort, "A", "port", true),
	foreignCells(kPort, "B", true),
	ownCells(kPort, "AS", "port", true), // A's port on B's shared network
	ownCells(kSG, "A", "security_group", true),
	foreignCells(kSG, "B", true),
	ownCells(kRule, "A", "security_group_rule", false),
	foreignCells(kRule, "B", false),
	ownCells(kAG, "A", "address_group", false),
	foreignCells(kAG, "B", false),
	[]cell{
		{k: kAG, target: "A", verb: "add_addresses", want: by(ok, ok, deny("rule:add_addresses"))},
		{k: kAG, target: "A", verb: "remove_addresses", want: by(ok, ok, deny("rule:remove_addresses"))},
		{k: kAG, target: "B", verb: "add_addresses", want: by(ok, nf, nf)},
		{k: kAG, target: "B", verb: "remove_addresses", want: by(ok, nf, nf)},

		// Attribute rules on update: every attribute sent counts.
		{k: kNet, target: "A", verb: "update", body: map[string]any{"shared": false},
			want: by(ok, deny("(rule:update_network and rule:update_network:shared)"), deny("(rule:update_network and rule:update_network:shared)"))},
		{k: kNet, target: "A", verb: "update", body: map[string]any{"router:external": true},
			want: by(ok, deny("(rule:update_network and rule:update_network:router:external)"), deny("(rule:update_network and rule:update_network:router:external)"))},
		{k: kNet, target: "A", verb: "update", body: map[string]any{"port_security_enabled": true},
			want: by(ok, ok, deny("(rule:update_network and rule:update_network:port_security_enabled)"))},
		{k: kNet, target: "B", verb: "update", body: map[string]any{"shared": true}, want: by(ok, nf, nf)},
		{k: kNet, target: "A", verb: "update", body: map[string]any{"project_id": projB}, want: by(readOnly("project_id"), foreign, foreign)},
		{k: kNet, target: "A", verb: "update", body: map[string]any{"tenant_id": projA}, want: all(readOnly("tenant_id"))},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"binding:host_id": "host-1"},
			want: by(ok, deny("(rule:update_port and rule:update_port:binding:host_id)"), deny("(rule:update_port and rule:update_port:binding:host_id)"))},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"binding:profile": map[string]any{}},
			want: by(ok, deny("(rule:update_port and rule:update_port:binding:profile)"), deny("(rule:update_port and rule:update_port:binding:profile)"))},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"mac_address": "fa:16:3e:00:00:01"},
			want: by(ok, deny("(rule:update_port and rule:update_port:mac_address)"), deny("(rule:update_port and rule:update_port:mac_address)"))},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"allowed_address_pairs": []any{map[string]any{"ip_address": "10.1.0.200"}}},
			want: by(ok, ok, deny("(rule:update_port and (rule:update_port:allowed_address_pairs and (rule:update_port:allowed_address_pairs:ip_address)))"))},
		{k: kPort, target: "AS", verb: "update", body: map[string]any{"allowed_address_pairs": []any{map[string]any{"ip_address": "10.3.0.200", "mac_address": "fa:16:3e:00:00:02"}}},
			want: by(ok, deny("(rule:update_port and (rule:update_port:allowed_address_pairs and (rule:update_port:allowed_address_pairs:ip_address and rule:update_port:allowed_address_pairs:mac_address)))"),
				deny("(rule:update_port and (rule:update_port:allowed_address_pairs and (rule:update_port:allowed_address_pairs:ip_address and rule:update_port:allowed_address_pairs:mac_address)))"))},
		{k: kPort, target: "AS", verb: "update", body: map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.3.0.77"}}},
			want: by(ok, deny("(rule:update_port and (rule:update_port:fixed_ips and (rule:update_port:fixed_ips:ip_address)))"),
				deny("(rule:update_port and (rule:update_port:fixed_ips and (rule:update_port:fixed_ips:ip_address)))"))},
		{k: kPort, target: "AS", verb: "update", body: map[string]any{"port_security_enabled": false},
			// (the admin set pairs on this port two cells above)
			want: by(conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port."),
				deny("(rule:update_port and rule:update_port:port_security_enabled)"), deny("(rule:update_port and rule:update_port:port_security_enabled)"))},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"project_id": projB}, want: by(readOnly("project_id"), foreign, foreign)},
		{k: kPort, target: "A", verb: "update", body: map[string]any{"security_groups": []string{"{security-groups/B}"}},
			want: by(ok, nf, deny("rule:update_port")), nfOf: "security-groups/B"},
		{k: kSG, target: "A", verb: "update", body: map[string]any{"tenant_id": projB}, want: by(readOnly("tenant_id"), foreign, foreign)},
		{k: kSG, target: "Adefault", verb: "update", body: map[string]any{"name": "mine"},
			want: by(conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed."),
				conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed."), deny("rule:update_security_group"))},
	},
)

// deleteCells run last, on a world of their own, in an order that
// leaves nothing in use: rules, ports, address groups, groups, subnets,
// networks.
var deleteCells = []cell{
	{k: kRule, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_security_group_rule"))},
	{k: kRule, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kPort, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_port"))},
	{k: kPort, target: "AS", verb: "delete", want: by(ok, ok, deny("rule:delete_port"))},
	{k: kPort, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kAG, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_address_group"))},
	{k: kAG, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kSG, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_security_group"))},
	{k: kSG, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kSG, target: "Adefault", verb: "delete", want: by(ok,
		conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group."), deny("rule:delete_security_group"))},
	{k: kSG, target: "Bdefault", verb: "delete", want: by(ok, nf, nf)},
	{k: kSub, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_subnet"))},
	{k: kSub, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kSub, target: "Bshared", verb: "delete", want: by(ok, deny("rule:delete_subnet"), deny("rule:delete_subnet"))},
	{k: kSub, target: "Bext", verb: "delete", want: by(ok, nf, nf)},
	{k: kNet, target: "A", verb: "delete", want: by(ok, ok, deny("rule:delete_network"))},
	{k: kNet, target: "B", verb: "delete", want: by(ok, nf, nf)},
	{k: kNet, target: "Bshared", verb: "delete", want: by(ok, deny("rule:delete_network"), deny("rule:delete_network"))},
	{k: kNet, target: "Bext", verb: "delete", want: by(ok, deny("rule:delete_network"), deny("rule:delete_network"))},
}

// createCell is one POST: body built from the world, the answer per
// role, and the project a created resource must belong to.
type createCell struct {
	name    string
	k       *kind
	bulk    bool
	body    func(w *pworld) []map[string]any
	want    [3]want
	project string // of the created resource (default A)
	missing string // "<collection>/<target>" a 404 names
}

func one(attrs map[string]any) func(*pworld) []map[string]any {
	return func(*pworld) []map[string]any { return []map[string]any{attrs} }
}

func onNet(target string, attrs map[string]any) func(*pworld) []map[string]any {
	return func(w *pworld) []map[string]any {
		a := map[string]any{"network_id": w.of(kNet, target)}
		for k, v := range attrs {
			a[k] = v
		}
		return []map[string]any{a}
	}
}

func inGroup(target string, attrs map[string]any) func(*pworld) []map[string]any {
	return func(w *pworld) []map[string]any {
		a := map[string]any{"security_group_id": w.of(kSG, target), "direction": "ingress", "protocol": "tcp"}
		for k, v := range attrs {
			a[k] = v
		}
		return []map[string]any{a}
	}
}

func subnetOn(target, cidr string, extra map[string]any) func(*pworld) []map[string]any {
	return func(w *pworld) []map[string]any {
		a := map[string]any{"network_id": unknownID, "cidr": cidr, "ip_version": 4}
		if target != "unknown" {
			a["network_id"] = w.of(kNet, target)
		}
		for k, v := range extra {
			a[k] = v
		}
		return []map[string]any{a}
	}
}

var createCells = []createCell{
	{name: "network", k: kNet, body: one(map[string]any{"name": "c"}), want: by(ok, ok, deny("rule:create_network"))},
	{name: "network for B", k: kNet, body: one(map[string]any{"name": "c", "project_id": projB}), want: by(ok, foreign, foreign), project: projB},
	{name: "network for B by tenant_id", k: kNet, body: one(map[string]any{"name": "c", "tenant_id": projB}), want: by(ok, foreign, foreign), project: projB},
	{name: "network with mismatched project ids", k: kNet, body: one(map[string]any{"project_id": projA, "tenant_id": projB}),
		want: all(want{400, "HTTPBadRequest", "'project_id' and 'tenant_id' do not match"})},
	{name: "shared network", k: kNet, body: one(map[string]any{"shared": true}),
		want: by(ok, deny("(rule:create_network and rule:create_network:shared)"), deny("(rule:create_network and rule:create_network:shared)"))},
	{name: "network shared=false (the default)", k: kNet, body: one(map[string]any{"shared": false}), want: by(ok, ok, deny("rule:create_network"))},
	{name: "external network", k: kNet, body: one(map[string]any{"router:external": true}),
		want: by(ok, deny("(rule:create_network and rule:create_network:router:external)"), deny("(rule:create_network and rule:create_network:router:external)"))},
	{name: "network without port security", k: kNet, body: one(map[string]any{"port_security_enabled": false}),
		want: by(ok, ok, deny("(rule:create_network and rule:create_network:port_security_enabled)"))},
	{name: "networks in bulk, one for B", k: kNet, bulk: true, body: func(*pworld) []map[string]any {
		return []map[string]any{{"name": "b1"}, {"name": "b2", "project_id": projB}}
	}, want: by(ok, foreign, foreign)},
	{name: "networks in bulk, one shared", k: kNet, bulk: true, body: func(*pworld) []map[string]any {
		return []map[string]any{{"name": "b3"}, {"name": "b4", "shared": true}}
	}, want: by(ok, deny("(rule:create_network and rule:create_network:shared)"), deny("rule:create_network"))},

	{name: "subnet on A's network", k: kSub, body: subnetOn("A", "10.1.1.0/24", nil), want: by(ok, ok, deny("rule:create_subnet"))},
	{name: "subnet on B's network", k: kSub, body: subnetOn("B", "10.2.1.0/24", nil), want: by(ok, nf, nf), missing: "networks/B"},
	{name: "subnet on B's shared network", k: kSub, body: subnetOn("Bshared", "10.3.1.0/24", nil), want: by(ok, deny("rule:create_subnet"), deny("rule:create_subnet"))},
	{name: "subnet on B's external network", k: kSub, body: subnetOn("Bext", "10.4.1.0/24", nil), want: by(ok, hiddenNF, hiddenNF)},
	{name: "subnet on an unknown network", k: kSub, body: subnetOn("unknown", "10.5.1.0/24", nil), want: all(nf), missing: "networks/unknown"},
	{name: "subnet for B on A's network", k: kSub, body: subnetOn("A", "10.1.2.0/24", map[string]any{"project_id": projB}), want: by(ok, foreign, foreign), project: projB},

	{name: "port on A's network", k: kPort, body: onNet("A", nil), want: by(ok, ok, deny("rule:create_port"))},
	{name: "port on B's network", k: kPort, body: onNet("B", nil), want: by(ok, nf, nf), missing: "networks/B"},
	{name: "port on B's shared network", k: kPort, body: onNet("Bshared", nil), want: by(ok, ok, deny("rule:create_port"))},
	{name: "port on B's external network", k: kPort, body: onNet("Bext", nil), want: by(ok, hiddenNF, hiddenNF)},
	{name: "port for B on A's network", k: kPort, body: onNet("A", map[string]any{"project_id": projB}), want: by(ok, foreign, foreign), project: projB},
	{name: "port bound to a host", k: kPort, body: onNet("A", map[string]any{"binding:host_id": "host-1"}),
		want: by(ok, deny("(rule:create_port and rule:create_port:binding:host_id)"), deny("(rule:create_port and rule:create_port:binding:host_id)"))},
	{name: "port with a binding profile", k: kPort, body: onNet("A", map[string]any{"binding:profile": map[string]any{"a": "b"}}),
		want: by(ok, deny("(rule:create_port and rule:create_port:binding:profile)"), deny("(rule:create_port and rule:create_port:binding:profile)"))},
	{name: "port with address pairs on A's network", k: kPort, body: onNet("A", map[string]any{"allowed_address_pairs": []any{map[string]any{"ip_address": "10.1.0.250"}}}),
		want: by(ok, ok, deny("(rule:create_port and (rule:create_port:allowed_address_pairs and (rule:create_port:allowed_address_pairs:ip_address)))"))},
	{name: "port with address pairs on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"allowed_address_pairs": []any{map[string]any{"ip_address": "10.3.0.250"}}}),
		want: by(ok, deny("(rule:create_port and (rule:create_port:allowed_address_pairs and (rule:create_port:allowed_address_pairs:ip_address)))"),
			deny("(rule:create_port and (rule:create_port:allowed_address_pairs and (rule:create_port:allowed_address_pairs:ip_address)))"))},
	{name: "port with a subnet on B's shared network", k: kPort, body: func(w *pworld) []map[string]any {
		return []map[string]any{{"network_id": w.of(kNet, "Bshared"), "fixed_ips": []any{map[string]any{"subnet_id": w.of(kSub, "Bshared")}}}}
	}, want: by(ok, ok, deny("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:subnet_id)))"))},
	{name: "port with an address on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.3.0.60"}}}),
		want: by(ok, deny("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:ip_address)))"),
			deny("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:ip_address)))"))},
	{name: "port with an address on A's network", k: kPort, body: onNet("A", map[string]any{"fixed_ips": []any{map[string]any{"ip_address": "10.1.0.60"}}}),
		want: by(ok, ok, deny("(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:ip_address)))"))},
	{name: "port with a MAC on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"mac_address": "fa:16:3e:00:00:03"}),
		want: by(ok, deny("(rule:create_port and rule:create_port:mac_address)"), deny("(rule:create_port and rule:create_port:mac_address)"))},
	{name: "network device port on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"device_owner": "network:dhcp"}),
		want: by(ok, deny("(rule:create_port and rule:create_port:device_owner)"), deny("(rule:create_port and rule:create_port:device_owner)"))},
	{name: "compute port on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"device_owner": "compute:nova"}),
		want: by(ok, ok, deny("(rule:create_port and rule:create_port:device_owner)"))},
	{name: "port without port security on B's shared network", k: kPort, body: onNet("Bshared", map[string]any{"port_security_enabled": false}),
		want: by(ok, deny("(rule:create_port and rule:create_port:port_security_enabled)"), deny("(rule:create_port and rule:create_port:port_security_enabled)"))},
	{name: "port in B's security group", k: kPort, body: func(w *pworld) []map[string]any {
		return []map[string]any{{"network_id": w.of(kNet, "A"), "security_groups": []string{w.of(kSG, "B")}}}
	}, want: by(ok, nf, deny("rule:create_port")), missing: "security-groups/B"},

	{name: "security group", k: kSG, body: one(map[string]any{"name": "c"}), want: by(ok, ok, deny("rule:create_security_group"))},
	{name: "security group for B", k: kSG, body: one(map[string]any{"name": "c", "project_id": projB}), want: by(ok, foreign, foreign), project: projB},

	{name: "rule in A's group", k: kRule, body: inGroup("A", map[string]any{"port_range_min": 80, "port_range_max": 80}), want: by(ok, ok, deny("rule:create_security_group_rule"))},
	{name: "rule in B's group", k: kRule, body: inGroup("B", map[string]any{"port_range_min": 81, "port_range_max": 81}),
		want: by(ok, nf, deny("rule:create_security_group_rule")), project: projB, missing: "security-groups/B"},
	{name: "rule from B's group", k: kRule, body: func(w *pworld) []map[string]any {
		return inGroup("A", map[string]any{"port_range_min": 82, "port_range_max": 82, "remote_group_id": w.of(kSG, "B")})(w)
	}, want: by(ok, nf, deny("rule:create_security_group_rule")), missing: "security-groups/B"},
	{name: "rule from B's address group", k: kRule, body: func(w *pworld) []map[string]any {
		return inGroup("A", map[string]any{"port_range_min": 83, "port_range_max": 83, "remote_address_group_id": w.of(kAG, "B")})(w)
	}, want: by(ok, nf, deny("rule:create_security_group_rule")), missing: "address-groups/B"},
	{name: "rule for B in A's group", k: kRule, body: inGroup("A", map[string]any{"port_range_min": 84, "port_range_max": 84, "project_id": projB}), want: by(ok, foreign, foreign)},

	{name: "address group", k: kAG, body: one(map[string]any{"name": "c"}), want: by(ok, ok, deny("rule:create_address_group"))},
	{name: "address group for B", k: kAG, body: one(map[string]any{"name": "c", "project_id": projB}), want: by(ok, foreign, foreign), project: projB},
}

// missingOf resolves nf for a create: the resource the 404 names.
func (c createCell) missingOf(w *pworld) (*kind, string) {
	if c.missing == "" {
		return c.k, ""
	}
	coll, target, _ := strings.Cut(c.missing, "/")
	for _, k := range kinds {
		if k.coll == coll {
			if target == "unknown" {
				return k, unknownID
			}
			return k, w.of(k, target)
		}
	}
	panic("unknown collection " + coll)
}

// quotaCells: method, path (P = project), the answer per role.
var quotaCells = []struct {
	method, path string
	body         any
	want         [3]want
}{
	{"GET", "/v2.0/quotas", nil, by(status(200), deny("rule:get_quota"), deny("rule:get_quota"))},
	{"GET", "/v2.0/quotas/" + projA, nil, all(status(200))},
	{"GET", "/v2.0/quotas/" + projB, nil, by(status(200), deny("rule:get_quota"), deny("rule:get_quota"))},
	{"GET", "/v2.0/quotas/" + projA + "/default", nil, all(status(200))},
	{"GET", "/v2.0/quotas/" + projB + "/default", nil, by(status(200), deny("rule:get_quota"), deny("rule:get_quota"))},
	{"GET", "/v2.0/quotas/" + projA + "/details", nil, all(status(200))},
	{"GET", "/v2.0/quotas/" + projB + "/details", nil, by(status(200),
		want{403, "AdminRequired", "User does not have admin privileges: Only admin is authorized to access quotas for another project."},
		want{403, "AdminRequired", "User does not have admin privileges: Only admin is authorized to access quotas for another project."})},
	{"GET", "/v2.0/quotas/tenant", nil, all(status(200))},
	{"PUT", "/v2.0/quotas/" + projA, map[string]any{"quota": map[string]any{"port": 77}}, by(status(200), deny("rule:update_quota"), deny("rule:update_quota"))},
	{"PUT", "/v2.0/quotas/" + projB, map[string]any{"quota": map[string]any{"port": 78}}, by(status(200), deny("rule:update_quota"), deny("rule:update_quota"))},
	{"PUT", "/v2.0/quotas/" + projA, map[string]any{"quota": "bad"}, by(want{400, "HTTPBadRequest", "Body contains invalid data"}, deny("rule:update_quota"), deny("rule:update_quota"))},
	{"DELETE", "/v2.0/quotas/" + projA, nil, by(status(204), deny("rule:delete_quota"), deny("rule:delete_quota"))},
	{"DELETE", "/v2.0/quotas/" + projB, nil, by(status(204), deny("rule:delete_quota"), deny("rule:delete_quota"))},
}

// visibleTargets: what a list shows each role, by collection.
func visibleTargets(w *pworld, r role, k *kind, project string) []string {
	var targets []string
	if r == rAdmin {
		targets = map[string][]string{
			"networks": {"A", "B", "Bshared", "Bext"}, "subnets": {"A", "B", "Bshared", "Bext"},
			"ports": {"A", "B", "AS"}, "security-groups": {"A", "Adefault", "B", "Bdefault"},
			"address-groups": {"A", "B"},
		}[k.coll]
	} else {
		targets = map[string][]string{
			"networks": {"A", "Bshared", "Bext"}, "subnets": {"A", "Bshared"},
			"ports": {"A", "AS"}, "security-groups": {"A", "Adefault"}, "address-groups": {"A"},
		}[k.coll]
	}
	var out []string
	if k == kRule {
		for _, p := range []string{"A", "B"} {
			if (r == rAdmin || p == "A") && (project == "" || project == map[string]string{"A": projA, "B": projB}[p]) {
				out = append(out, w.rules[p]...)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, t := range targets {
		owner := projB
		if strings.HasPrefix(t, "A") { // A, Adefault, AS (A's port on B's network)
			owner = projA
		}
		if project == "" || project == owner {
			out = append(out, w.of(k, t))
		}
	}
	slices.Sort(out)
	return out
}

// pageAll walks a collection with limit=1 through its next links.
func (m *pmatrix) pageAll(t *testing.T, k *kind) []string {
	var got []string
	path := "/v2.0/" + k.coll + "?limit=1"
	for i := 0; path != "" && i < 100; i++ {
		r := m.e.must(200, "GET", path, nil, caller(m.role, projA)...)
		got = append(got, ids(r.list(t, k.plural))...)
		path = ""
		links, _ := r.JSON(t)[k.plural+"_links"].([]any)
		for _, l := range links {
			lm, _ := l.(map[string]any)
			if lm["rel"] == "next" {
				u, err := url.Parse(str(lm, "href"))
				if err != nil {
					t.Fatalf("next link %v: %v", lm, err)
				}
				path = u.RequestURI()
			}
		}
	}
	slices.Sort(got)
	return got
}

func (m *pmatrix) checkLists(t *testing.T) {
	w, h := m.w, caller(m.role, projA)
	for _, k := range kinds {
		for _, q := range []struct{ query, project string }{
			{"", ""}, {"project_id=" + projB, projB}, {"tenant_id=" + projB, projB}, {"project_id=" + projA, projA},
			{"sort_key=id&sort_dir=desc", ""}, {"fields=id", ""},
		} {
			r := m.e.must(200, "GET", "/v2.0/"+k.coll+"?"+q.query, nil, h...)
			list := r.list(t, k.plural)
			got := ids(list)
			slices.Sort(got)
			if want := visibleTargets(w, m.role, k, q.project); !slices.Equal(got, want) {
				t.Errorf("[%s] GET %s?%s: ids\n  got  %v\n  want %v", roleNames[m.role], k.coll, q.query, got, want)
			}
			for _, o := range list {
				if k == kPort && q.query != "fields=id" {
					if _, has := o["binding:host_id"]; has != (m.role == rAdmin) {
						t.Errorf("[%s] port %s shows binding:host_id: %v", roleNames[m.role], str(o, "id"), has)
					}
				}
				if k == kSG && q.query != "fields=id" {
					// Each group embeds exactly its own rules.
					got := ids(objs(o, "security_group_rules"))
					want := w.groupRules[str(o, "id")]
					slices.Sort(got)
					want = slices.Sorted(slices.Values(want))
					if !slices.Equal(got, want) {
						t.Errorf("[%s] group %s embeds rules %v, want %v", roleNames[m.role], str(o, "id"), got, want)
					}
				}
			}
		}
		if got, want := m.pageAll(t, k), visibleTargets(w, m.role, k, ""); !slices.Equal(got, want) {
			t.Errorf("[%s] %s paged by one: %v, want %v", roleNames[m.role], k.coll, got, want)
		}
	}
	// Filters, markers and ids of resources the caller cannot see.
	for _, c := range []struct {
		k      *kind
		target string
		seen   [3]bool // visible to admin, member, reader
	}{
		{kNet, "B", [3]bool{true, false, false}}, {kNet, "Bshared", [3]bool{true, true, true}}, {kNet, "Bext", [3]bool{true, true, true}},
		{kSub, "B", [3]bool{true, false, false}}, {kSub, "Bshared", [3]bool{true, true, true}}, {kSub, "Bext", [3]bool{true, false, false}},
		{kPort, "B", [3]bool{true, false, false}}, {kSG, "B", [3]bool{true, false, false}}, {kSG, "Bdefault", [3]bool{true, false, false}},
		{kRule, "B", [3]bool{true, false, false}}, {kAG, "B", [3]bool{true, false, false}},
	} {
		id := w.of(c.k, c.target)
		r := m.e.must(200, "GET", "/v2.0/"+c.k.coll+"?id="+id, nil, h...)
		if got := ids(r.list(t, c.k.plural)); (len(got) == 1) != c.seen[m.role] {
			t.Errorf("[%s] %s?id=%s (%s): %v", roleNames[m.role], c.k.coll, id, c.target, got)
		}
		r = m.e.do("GET", "/v2.0/"+c.k.coll+"?limit=1&marker="+id, nil, h...)
		if c.seen[m.role] {
			if r.Status != 200 {
				t.Errorf("[%s] marker %s (%s): %d %s", roleNames[m.role], id, c.target, r.Status, r.Body)
			}
		} else {
			expectError(t, r, 404, c.k.nfType, fmt.Sprintf(c.k.nfFormat, id))
		}
	}
	// A rule's group: filtering rules by another project's group.
	r := m.e.must(200, "GET", "/v2.0/security-group-rules?security_group_id="+w.of(kSG, "B"), nil, h...)
	if got := len(r.list(t, "security_group_rules")); (got == 3) != (m.role == rAdmin) {
		t.Errorf("[%s] rules of B's group: %d", roleNames[m.role], got)
	}
}

func policyEnv(t *testing.T) (*env, *pworld) {
	e := newEnvWith(t, memberAuth{}, service.DefaultConfig())
	return e, buildPolicyWorld(e)
}

// TestPolicyMatrix runs every cell for each role of project A: lists,
// reads and updates, tags, address-group actions, attribute rules,
// creates and quotas on one world; deletes on another.
func TestPolicyMatrix(t *testing.T) {
	for _, r := range []role{rAdmin, rMember, rReader} {
		t.Run(roleNames[r], func(t *testing.T) {
			t.Parallel()
			e, w := policyEnv(t)
			m := &pmatrix{e: e, w: w, role: r}
			m.before = m.snapshot()
			m.checkLists(t)
			if after := m.snapshot(); after != m.before {
				t.Fatalf("listing changed the state")
			}
			for _, c := range readWriteCells {
				method, path, success, body := c.request(w)
				nk, nid := c.k, w.of(c.k, c.target)
				if c.nfOf != "" {
					nk, nid = createCell{missing: c.nfOf}.missingOf(w)
				}
				res := m.expect(t, c.k.coll+"/"+c.target+" "+c.verb, c.want[r], success, nid, nk, method, path, body)
				if c.verb == "show" && res.Status == 200 && c.k == kPort {
					if _, has := res.obj(t, "port")["binding:vif_type"]; has != (r == rAdmin) {
						t.Errorf("[%s] port %s shows binding:vif_type: %v", roleNames[r], c.target, has)
					}
				}
				if c.verb == "show" && res.Status == 200 && c.k == kSG {
					got := ids(objs(res.obj(t, "security_group"), "security_group_rules"))
					if wantRules := w.groupRules[w.of(kSG, c.target)]; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(wantRules))) {
						t.Errorf("[%s] group %s shows rules %v, want %v", roleNames[r], c.target, got, wantRules)
					}
				}
			}
			for _, c := range createCells {
				items := c.body(w)
				var body any = map[string]any{c.k.singular: items[0]}
				if c.bulk {
					body = map[string]any{c.k.plural: items}
				}
				nk, nid := c.missingOf(w)
				res := m.expect(t, "create "+c.name, c.want[r], 201, nid, nk, "POST", "/v2.0/"+c.k.coll, body)
				if res.Status != 201 {
					continue
				}
				created := []map[string]any{}
				if c.bulk {
					created = res.list(t, c.k.plural)
				} else {
					created = append(created, res.obj(t, c.k.singular))
				}
				wantProject := c.project
				if wantProject == "" {
					wantProject = projA
				}
				for i, o := range created {
					p := wantProject
					if c.bulk {
						if bp, ok := items[i]["project_id"].(string); ok {
							p = bp
						} else {
							p = projA
						}
					}
					if str(o, "project_id") != p || str(o, "tenant_id") != p {
						t.Errorf("[%s] create %s: project_id %q tenant_id %q, want %s", roleNames[r], c.name, str(o, "project_id"), str(o, "tenant_id"), p)
					}
				}
			}
			for _, c := range quotaCells {
				m.expect(t, "quota", c.want[r], c.want[r].status, "", nil, c.method, c.path, c.body)
			}

			// Deletes, on a world of their own.
			e2, w2 := policyEnv(t)
			d := &pmatrix{e: e2, w: w2, role: r}
			d.before = d.snapshot()
			for _, c := range deleteCells {
				method, path, success, body := c.request(w2)
				res := d.expect(t, c.k.coll+"/"+c.target+" delete", c.want[r], success, w2.of(c.k, c.target), c.k, method, path, body)
				if res.Status == 204 {
					expectError(t, e2.do("GET", path, nil, caller(rAdmin, projA)...), 404, c.k.nfType, fmt.Sprintf(c.k.nfFormat, w2.of(c.k, c.target)))
				}
			}
		})
	}
}

// TestPolicyDefaultGroupPerProject: a project's default group is created
// by that project's first use (a list of groups, a port), only for it,
// and never by a refused request.
func TestPolicyDefaultGroupPerProject(t *testing.T) {
	e := newEnvWith(t, memberAuth{}, service.DefaultConfig())
	admin := caller(rAdmin, projB)
	shared := e.create("networks", "network", map[string]any{"name": "pub", "shared": true}, admin...)
	e.create("subnets", "subnet", map[string]any{"network_id": str(shared, "id"), "cidr": "10.9.0.0/24", "ip_version": 4}, admin...)
	groupsOf := func(project string) []map[string]any {
		return e.must(200, "GET", "/v2.0/security-groups?project_id="+project, nil, admin...).list(t, "security_groups")
	}
	const projC, projD, projE = "cccccccccccccccccccccccccccccccc", "dddddddddddddddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

	// A member's first list: exactly its own default group.
	gs := e.must(200, "GET", "/v2.0/security-groups", nil, caller(rMember, projC)...).list(t, "security_groups")
	if len(gs) != 1 || str(gs[0], "name") != "default" || str(gs[0], "project_id") != projC || len(objs(gs[0], "security_group_rules")) != 4 {
		t.Errorf("member's first group list: %s", pretty(gs))
	}
	for _, r := range objs(gs[0], "security_group_rules") {
		if str(r, "project_id") != projC {
			t.Errorf("default rule of another project: %s", pretty(r))
		}
	}
	// Nobody else's was made.
	if got := groupsOf(projD); len(got) != 0 {
		t.Errorf("groups of an untouched project: %s", pretty(got))
	}

	// Refused requests create nothing, not even the default group.
	reader := caller(rReader, projD)
	expectError(t, e.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": str(shared, "id")}}, reader...),
		403, "PolicyNotAuthorized", "rule:create_port is disallowed by policy")
	expectError(t, e.do("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "x"}}, reader...),
		403, "PolicyNotAuthorized", "rule:create_security_group is disallowed by policy")
	member := caller(rMember, projE)
	expectError(t, e.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": str(shared, "id"), "project_id": projD}}, member...),
		foreign.status, foreign.typ, foreign.msg)
	expectError(t, e.do("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "x", "project_id": projD}}, member...),
		foreign.status, foreign.typ, foreign.msg)
	expectError(t, e.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": unknownID}}, member...),
		404, "NetworkNotFound", "Network "+unknownID+" could not be found.")
	for _, p := range []string{projD, projE} {
		if got := groupsOf(p); len(got) != 0 {
			t.Errorf("a refused request created groups of %s: %s", p, pretty(got))
		}
	}
	// A port of the member's own: its default group, in its project.
	port := e.create("ports", "port", map[string]any{"network_id": str(shared, "id")}, member...)
	got := groupsOf(projE)
	if len(got) != 1 || !slices.Equal(strs(port, "security_groups"), []string{str(got[0], "id")}) {
		t.Errorf("member's port groups %v, project groups %s", strs(port, "security_groups"), pretty(got))
	}
	// A reader's list creates its project's default group (as Neutron's
	// does for any caller) and shows only that.
	gs = e.must(200, "GET", "/v2.0/security-groups", nil, reader...).list(t, "security_groups")
	if len(gs) != 1 || str(gs[0], "project_id") != projD {
		t.Errorf("reader's list: %s", pretty(gs))
	}
}

// TestPolicyNoRole: a token with no Neutron role sees only shared
// networks and can change nothing.
func TestPolicyNoRole(t *testing.T) {
	e, w := policyEnv(t)
	h := []string{"X-Project-Id", projA, "X-Roles", "observer"}
	got := ids(e.must(200, "GET", "/v2.0/networks", nil, h...).list(t, "networks"))
	slices.Sort(got)
	want := []string{w.of(kNet, "Bshared"), w.of(kNet, "Bext")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("networks: %v, want %v", got, want)
	}
	for _, k := range []*kind{kPort, kSG, kRule, kAG} {
		if got := e.must(200, "GET", "/v2.0/"+k.coll, nil, h...).list(t, k.plural); len(got) != 0 {
			t.Errorf("%s: %s", k.coll, pretty(got))
		}
	}
	expectError(t, e.do("GET", "/v2.0/ports/"+w.of(kPort, "A"), nil, h...), 404, "PortNotFound", "Port "+w.of(kPort, "A")+" could not be found.")
	expectError(t, e.do("PUT", "/v2.0/networks/"+w.of(kNet, "A"), map[string]any{"network": map[string]any{"name": "x"}}, h...),
		404, "NetworkNotFound", "Network "+w.of(kNet, "A")+" could not be found.")
	expectError(t, e.do("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "x"}}, h...),
		403, "PolicyNotAuthorized", "rule:create_network is disallowed by policy")
}
