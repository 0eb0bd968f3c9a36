package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
)

// watchAnswer is the body of GET /v2.0/bulwark/watch.
type watchAnswer struct {
	Resync   bool  `json:"resync"`
	Revision int64 `json:"revision"`
	Changes  []struct {
		Seq      int64  `json:"seq"`
		Resource string `json:"resource"`
		ID       string `json:"id"`
		Op       string `json:"op"`
		Revision int64  `json:"revision"`
	} `json:"changes"`
}

func (w watchAnswer) ids() []string {
	out := []string{}
	for _, c := range w.Changes {
		out = append(out, c.ID)
	}
	return out
}

func (e *env) watch(host string, since int64, timeout string) (watchAnswer, *resp) {
	e.t.Helper()
	r := e.must(200, "GET", fmt.Sprintf("/v2.0/bulwark/watch?host=%s&since=%d&timeout=%s", host, since, timeout), nil)
	var w watchAnswer
	if err := json.Unmarshal(r.Body, &w); err != nil {
		e.t.Fatalf("watch answer %s: %v", r.Body, err)
	}
	return w, r
}

// keepalived is the host-state fixture: a VRRP pair on host A and a third
// member of its group on host B, all in ha-sg, whose rules allow VRRP and
// everything from ha-sg itself (a remote-group rule); A's ports also use
// mgmt-sg (ssh from an address group). Host C has an unrelated port on
// another network; net1 has a DHCP port on the network node.
type keepalived struct {
	net1, net2                  fixture
	haSG, mgmtSG, otherSG, ag   string
	vrrpRule, remoteRule, sshAG string
	a1, a2, b1, c1, dhcp        string
}

func newKeepalived(e *env) *keepalived {
	k := &keepalived{}
	k.net1 = e.newNet("net1", "172.16.200.0/24")
	k.net2 = e.newNet("net2", "10.9.0.0/24")
	k.haSG = str(e.newGroup("ha-sg"), "id")
	k.mgmtSG = str(e.newGroup("mgmt-sg"), "id")
	k.otherSG = str(e.newGroup("other-sg"), "id")
	k.ag = str(e.create("address-groups", "address_group", map[string]any{"name": "admins", "addresses": []string{"192.0.2.0/24"}}), "id")
	rule := func(attrs map[string]any) string {
		return str(e.create("security-group-rules", "security_group_rule", attrs), "id")
	}
	k.vrrpRule = rule(map[string]any{"security_group_id": k.haSG, "direction": "ingress", "protocol": "vrrp"})
	k.remoteRule = rule(map[string]any{"security_group_id": k.haSG, "direction": "ingress", "remote_group_id": k.haSG})
	k.sshAG = rule(map[string]any{"security_group_id": k.mgmtSG, "direction": "ingress", "protocol": "tcp",
		"port_range_min": 22, "port_range_max": 22, "remote_address_group_id": k.ag})
	port := func(f fixture, host, ip string, groups []string, pairs ...string) string {
		ap := []map[string]any{}
		for _, p := range pairs {
			ap = append(ap, map[string]any{"ip_address": p})
		}
		return str(e.newPort(f.net, map[string]any{"binding:host_id": host, "fixed_ips": []map[string]any{{"ip_address": ip}},
			"security_groups": groups, "allowed_address_pairs": ap}), "id")
	}
	k.a1 = port(k.net1, "host-a", "172.16.200.193", []string{k.haSG, k.mgmtSG}, "172.16.200.251")
	k.a2 = port(k.net1, "host-a", "172.16.200.194", []string{k.haSG, k.mgmtSG}, "172.16.200.251")
	k.b1 = port(k.net1, "host-b", "172.16.200.195", []string{k.haSG}, "172.16.200.251", "172.16.200.128/28")
	k.c1 = port(k.net2, "host-c", "10.9.0.10", []string{k.otherSG})
	k.dhcp = str(e.newPort(k.net1.net, map[string]any{"binding:host_id": "net-node", "device_owner": "network:dhcp",
		"fixed_ips": []map[string]any{{"ip_address": "172.16.200.2"}}}), "id")
	return k
}

func TestHostStateSnapshot(t *testing.T) {
	e, st, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	k := newKeepalived(e)
	haMembers := map[string]any{"ipv4": []any{"172.16.200.128/28", "172.16.200.193", "172.16.200.194", "172.16.200.195", "172.16.200.251"}, "ipv6": []any{}}
	for _, c := range []struct {
		host               string
		ports, groups, ags []string
		remote             map[string]any
		networkPorts       []string
	}{
		{"host-a", []string{k.a1, k.a2}, []string{k.haSG, k.mgmtSG}, []string{k.ag}, map[string]any{k.haSG: haMembers}, []string{k.dhcp}},
		{"host-b", []string{k.b1}, []string{k.haSG}, []string{}, map[string]any{k.haSG: haMembers}, []string{k.dhcp}},
		{"host-c", []string{k.c1}, []string{k.otherSG}, []string{}, map[string]any{}, []string{}},
		{"net-node", []string{k.dhcp}, []string{}, []string{}, map[string]any{}, []string{k.dhcp}},
		{"nowhere", []string{}, []string{}, []string{}, map[string]any{}, []string{}},
	} {
		t.Run(c.host, func(t *testing.T) {
			s := e.must(200, "GET", "/v2.0/bulwark/hosts/"+c.host+"/state", nil).JSON(t)
			if rev := int64(num(s, "revision")); rev != lastSeq(t, st) {
				t.Errorf("revision %d, want the newest change %d", rev, lastSeq(t, st))
			}
			if str(s, "host") != c.host {
				t.Errorf("host %v", s["host"])
			}
			same := func(what string, got, want []string) {
				t.Helper()
				if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
					t.Errorf("%s: %v, want %v", what, got, want)
				}
			}
			ports := objs(s, "ports")
			same("ports", ids(ports), c.ports)
			for _, p := range ports {
				if str(p, "binding:host_id") != c.host || p["binding:profile"] == nil {
					t.Errorf("port %s: not the admin view bound to %s: %v", p["id"], c.host, p)
				}
			}
			groups := objs(s, "security_groups")
			same("security_groups", ids(groups), c.groups)
			for _, g := range groups {
				var want []string
				switch str(g, "id") {
				case k.haSG:
					want = []string{k.vrrpRule, k.remoteRule}
				case k.mgmtSG:
					want = []string{k.sshAG}
				}
				got := ids(objs(g, "security_group_rules"))
				for _, w := range want {
					if !slices.Contains(got, w) {
						t.Errorf("group %s: rules %v lack %s", g["name"], got, w)
					}
				}
				if len(got) != len(want)+2 { // + the two default egress rules
					t.Errorf("group %s: %d rules, want %d", g["name"], len(got), len(want)+2)
				}
			}
			if !reflect.DeepEqual(s["remote_groups"], c.remote) {
				t.Errorf("remote_groups %v\nwant %v", s["remote_groups"], c.remote)
			}
			same("address_groups", ids(objs(s, "address_groups")), c.ags)
			if ags := objs(s, "address_groups"); len(ags) == 1 && !slices.Equal(strs(ags[0], "addresses"), []string{"192.0.2.0/24"}) {
				t.Errorf("address group %v", ags[0])
			}
			same("network_ports", ids(objs(s, "network_ports")), c.networkPorts)
		})
	}
	// An IPv6 member and a port leaving the group.
	sub6 := e.create("subnets", "subnet", map[string]any{"network_id": k.net1.net, "cidr": "2001:db8::/64", "ip_version": 6})
	e.update("ports", "port", k.b1, map[string]any{"fixed_ips": []map[string]any{{"ip_address": "172.16.200.195"}, {"subnet_id": sub6["id"], "ip_address": "2001:db8::5"}},
		"allowed_address_pairs": []map[string]any{{"ip_address": "2001:db8::/120"}}})
	e.update("ports", "port", k.a2, map[string]any{"security_groups": []string{k.mgmtSG}})
	s := e.must(200, "GET", "/v2.0/bulwark/hosts/host-a/state", nil).JSON(t)
	want := map[string]any{k.haSG: map[string]any{"ipv4": []any{"172.16.200.193", "172.16.200.195", "172.16.200.251"}, "ipv6": []any{"2001:db8::/120", "2001:db8::5"}}}
	if !reflect.DeepEqual(s["remote_groups"], want) {
		t.Errorf("remote_groups after the change %v\nwant %v", s["remote_groups"], want)
	}
	expectError(t, e.do("POST", "/v2.0/bulwark/hosts/host-a/state", nil), 405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	expectError(t, e.do("GET", "/v2.0/bulwark/hosts/host-a", nil), 404, "HTTPNotFound", "The resource could not be found.")
}

// TestWatchLongPoll: a waiting watch returns as soon as a change that
// concerns its host commits, and keeps waiting through one that does not.
func TestWatchLongPoll(t *testing.T) {
	e, st, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	k := newKeepalived(e)
	rev := int64(num(e.must(200, "GET", "/v2.0/bulwark/hosts/host-a/state", nil).JSON(t), "revision"))

	// B's port gets another address pair: a member of ha-sg, which A's
	// rules name as remote group, changed.
	type result struct {
		w       watchAnswer
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		w, _ := e.watch("host-a", rev, "10")
		done <- result{w, time.Since(start)}
	}()
	time.Sleep(100 * time.Millisecond) // let it block (not required for correctness)
	e.update("ports", "port", k.b1, map[string]any{"allowed_address_pairs": []map[string]any{{"ip_address": "172.16.200.251"}, {"ip_address": "172.16.200.252"}}})
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not return after a relevant change")
	}
	if r.elapsed > 2*time.Second {
		t.Errorf("watch returned after %v, want well under 2 s", r.elapsed)
	}
	b1 := e.get("ports", "port", k.b1)
	if len(r.w.Changes) != 1 || r.w.Resync || r.w.Revision != lastSeq(t, st) {
		t.Fatalf("watch answer %+v", r.w)
	}
	if c := r.w.Changes[0]; c.Seq != r.w.Revision || c.Resource != "port" || c.ID != k.b1 || c.Op != "update" || c.Revision != int64(num(b1, "revision_number")) {
		t.Errorf("change %+v", c)
	}

	// A change on host C alone: A's watch waits out its timeout and
	// reports the position it examined.
	rev = r.w.Revision
	start = time.Now()
	go func() {
		w, resp := e.watch("host-a", rev, "1")
		if !strings.Contains(string(resp.Body), `"changes":[]`) {
			t.Errorf("empty answer %s", resp.Body)
		}
		done <- result{w, time.Since(start)}
	}()
	time.Sleep(100 * time.Millisecond)
	e.update("ports", "port", k.c1, map[string]any{"name": "renamed"})
	irrelevant := lastSeq(t, st)
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watch with timeout=1 did not return")
	}
	if len(r.w.Changes) != 0 || r.w.Resync || r.w.Revision != irrelevant {
		t.Errorf("after an irrelevant change: %+v, want no changes at revision %d", r.w, irrelevant)
	}
	if r.elapsed < 900*time.Millisecond {
		t.Errorf("watch returned after %v, before its timeout", r.elapsed)
	}
	// host-c's watch from the same position sees it at once.
	if w, _ := e.watch("host-c", rev, "0"); !slices.Equal(w.ids(), []string{k.c1}) {
		t.Errorf("host-c: %+v", w)
	}
	// A watch that already has something to report does not wait.
	start = time.Now()
	if w, _ := e.watch("host-b", 0, "30"); len(w.Changes) == 0 || time.Since(start) > 2*time.Second {
		t.Errorf("watch from 0: %+v after %v", w, time.Since(start))
	}
}

// TestWatchRelevance: which hosts each kind of change reaches.
func TestWatchRelevance(t *testing.T) {
	e, _, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	k := newKeepalived(e)
	hosts := []string{"host-a", "host-b", "host-c"}
	cursor := map[string]int64{}
	for _, h := range hosts {
		cursor[h] = int64(num(e.must(200, "GET", "/v2.0/bulwark/hosts/"+h+"/state", nil).JSON(t), "revision"))
	}
	var mgmtRule string
	for _, c := range []struct {
		what  string
		op    func() string // returns the id the change must name
		hosts []string
	}{
		{"rule added to ha-sg (used on A and B)", func() string {
			return str(e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": k.haSG, "direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}), "id")
		}, []string{"host-a", "host-b"}},
		{"rule added to mgmt-sg (used on A)", func() string {
			mgmtRule = str(e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": k.mgmtSG, "direction": "ingress", "protocol": "icmp"}), "id")
			return mgmtRule
		}, []string{"host-a"}},
		{"address group named by mgmt-sg's rule", func() string {
			e.must(200, "PUT", "/v2.0/address-groups/"+k.ag+"/add_addresses", map[string]any{"addresses": []string{"198.51.100.0/24"}})
			return k.ag
		}, []string{"host-a"}},
		{"group description of ha-sg", func() string {
			e.update("security-groups", "security_group", k.haSG, map[string]any{"description": "VRRP pair"})
			return k.haSG
		}, []string{"host-a", "host-b"}},
		{"rule added to other-sg (used on C)", func() string {
			return str(e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": k.otherSG, "direction": "ingress", "protocol": "udp"}), "id")
		}, []string{"host-c"}},
		{"network renamed", func() string {
			e.update("networks", "network", k.net2.net, map[string]any{"name": "renamed"})
			return k.net2.net
		}, nil},
		{"C's port joins ha-sg (a remote group of A and B)", func() string {
			e.update("ports", "port", k.c1, map[string]any{"security_groups": []string{k.otherSG, k.haSG}})
			return k.c1
		}, hosts},
		{"C's port leaves ha-sg", func() string {
			e.update("ports", "port", k.c1, map[string]any{"security_groups": []string{k.otherSG}})
			return k.c1
		}, hosts},
		{"A2 moves to host C", func() string {
			e.update("ports", "port", k.a2, map[string]any{"binding:host_id": "host-c"})
			return k.a2
		}, hosts},
		{"DHCP port of net1 (A, B, now C have ports there)", func() string {
			e.update("ports", "port", k.dhcp, map[string]any{"name": "dhcp"})
			return k.dhcp
		}, hosts},
		{"B's port status set by its agent", func() string {
			e.must(200, "PUT", "/v2.0/bulwark/hosts/host-b/ports/"+k.b1+"/status", map[string]any{"status": "ACTIVE"})
			return k.b1
		}, hosts},
		{"unbound port in the default group", func() string {
			return str(e.newPort(k.net2.net, nil), "id")
		}, nil},
		{"B's port deleted", func() string {
			e.must(204, "DELETE", "/v2.0/ports/"+k.b1, nil)
			return k.b1
		}, hosts},
		{"rule of mgmt-sg deleted (A1 on A, A2 on C use it)", func() string {
			e.must(204, "DELETE", "/v2.0/security-group-rules/"+mgmtRule, nil)
			return mgmtRule
		}, []string{"host-a", "host-c"}},
		{"C's unrelated port deleted", func() string {
			e.must(204, "DELETE", "/v2.0/ports/"+k.c1, nil)
			return k.c1
		}, []string{"host-c"}},
	} {
		id := c.op()
		for _, h := range hosts {
			w, _ := e.watch(h, cursor[h], "0")
			if w.Resync || w.Revision < cursor[h] {
				t.Fatalf("%s: %s: %+v", c.what, h, w)
			}
			cursor[h] = w.Revision
			if want := slices.Contains(c.hosts, h); slices.Contains(w.ids(), id) != want || (len(w.Changes) > 0) != want {
				t.Errorf("%s: %s got %v (want it: %v)", c.what, h, w.Changes, want)
			}
		}
	}
}

func TestWatchResyncAndParameters(t *testing.T) {
	e, st, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	// An empty log: position 0 is current.
	if w, r := e.watch("h", 0, "0"); w.Resync || w.Revision != 0 || !strings.Contains(string(r.Body), `"changes":[]`) {
		t.Errorf("empty log: %s", r.Body)
	}
	if w, r := e.watch("h", 1, "0"); !w.Resync || w.Revision != 0 || strings.Contains(string(r.Body), "changes") {
		t.Errorf("future position on an empty log: %s", r.Body)
	}
	k := newKeepalived(e)
	newest := lastSeq(t, st)
	// A position in the future: resync at once, even with a long timeout.
	start := time.Now()
	if w, _ := e.watch("host-a", newest+1, "30"); !w.Resync || w.Revision != newest || w.Changes != nil {
		t.Errorf("future position: %+v", w)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("resync waited")
	}
	// Compaction: positions before the compacted ones must resync.
	if err := st.CompactChanges(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since  int64
		resync bool
	}{{0, true}, {9, true}, {10, false}, {11, false}, {newest, false}, {newest + 1, true}} {
		w, _ := e.watch("host-a", c.since, "0")
		if w.Resync != c.resync || (c.resync && w.Revision != newest) {
			t.Errorf("since %d after compacting through 10: %+v (want resync %v)", c.since, w, c.resync)
		}
	}
	if cs, err := st.Changes(context.Background(), 0, 5); err != nil || len(cs) == 0 || cs[0].Seq != 11 {
		t.Errorf("changes after compaction start at %+v %v", cs, err)
	}
	// Compacting everything keeps the position: watching from it is fine.
	if err := st.CompactChanges(context.Background(), newest+100); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.watch("host-a", newest, "0"); w.Resync || w.Revision != newest {
		t.Errorf("after compacting everything: %+v", w)
	}
	e.update("ports", "port", k.a1, map[string]any{"name": "a1"})
	if w, _ := e.watch("host-a", newest, "0"); w.Resync || !slices.Equal(w.ids(), []string{k.a1}) || w.Revision != newest+1 {
		t.Errorf("a change after compacting everything: %+v", w)
	}
	if s := e.must(200, "GET", "/v2.0/bulwark/hosts/host-a/state", nil).JSON(t); int64(num(s, "revision")) != newest+1 {
		t.Errorf("snapshot revision %v after compaction", s["revision"])
	}

	for _, c := range []struct {
		query, msg string
	}{
		{"host=h", "Failed to parse request. Required query parameter 'since' not specified"},
		{"host=h&since=-1", "Invalid since '-1': a change-log position is an integer 0 or greater"},
		{"host=h&since=x", "Invalid since 'x': a change-log position is an integer 0 or greater"},
		{"since=0", "Failed to parse request. Required query parameter 'host' not specified"},
		{"host=h&since=0&timeout=soon", "Invalid timeout 'soon': seconds, 0 to 60"},
		{"host=h&since=0&timeout=-1", "Invalid timeout '-1': seconds, 0 to 60"},
		{"host=h&since=0&bogus=1", "[bogus] is invalid attribute for filtering"},
	} {
		expectError(t, e.do("GET", "/v2.0/bulwark/watch?"+c.query, nil), 400, "HTTPBadRequest", c.msg)
	}
	expectError(t, e.do("POST", "/v2.0/bulwark/watch?host=h&since=0", nil), 405, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	expectError(t, e.do("GET", "/v2.0/bulwark/nothing", nil), 404, "HTTPNotFound", "The resource could not be found.")
}

// TestWatchClientGone: a long poll whose client hangs up ends without an
// error answer (and without holding anything).
func TestWatchClientGone(t *testing.T) {
	e, _, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v2.0/bulwark/watch?host=h&since=0&timeout=30", nil)
	if _, err := e.srv.Client().Do(req); err == nil {
		t.Error("request outlived its context")
	}
	// The server is still answering (and the recorder saw no 5xx).
	e.must(200, "GET", "/v2.0/bulwark/watch?host=h&since=0&timeout=0", nil)
}

// TestWatchDocuments: an answer with changes carries the current documents
// of what they touched, as far as they concern the host: its groups with
// their rules, its ports (a port gone or moved away absent or bound
// elsewhere), the members of its remote groups.
func TestWatchDocuments(t *testing.T) {
	e, _, _ := newAgentEnv(t, api.NoAuth{DefaultProject: defaultProject})
	k := newKeepalived(e)
	cursor := map[string]int64{}
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		cursor[h] = int64(num(e.must(200, "GET", "/v2.0/bulwark/hosts/"+h+"/state", nil).JSON(t), "revision"))
	}
	type docs struct {
		SecurityGroups []struct {
			ID    string `json:"id"`
			Rules []struct {
				ID string `json:"id"`
			} `json:"security_group_rules"`
		} `json:"security_groups"`
		Ports []struct {
			ID   string `json:"id"`
			Host string `json:"binding:host_id"`
		} `json:"ports"`
		RemoteGroups map[string]struct {
			IPv4 []string `json:"ipv4"`
		} `json:"remote_groups"`
	}
	answer := func(host string) docs {
		t.Helper()
		r := e.must(200, "GET", fmt.Sprintf("/v2.0/bulwark/watch?host=%s&since=%d&timeout=0", host, cursor[host]), nil)
		var body struct {
			Revision  int64 `json:"revision"`
			Documents *docs `json:"documents"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Documents == nil {
			t.Fatalf("%s: no documents in %s (%v)", host, r.Body, err)
		}
		cursor[host] = body.Revision
		return *body.Documents
	}

	rule := str(e.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": k.haSG,
		"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}), "id")
	for _, h := range []string{"host-a", "host-b"} {
		d := answer(h)
		if len(d.SecurityGroups) != 1 || d.SecurityGroups[0].ID != k.haSG || len(d.Ports) != 0 || len(d.RemoteGroups) != 0 {
			t.Fatalf("rule added, %s: documents %+v, want ha-sg alone", h, d)
		}
		if !slices.ContainsFunc(d.SecurityGroups[0].Rules, func(r struct {
			ID string `json:"id"`
		}) bool {
			return r.ID == rule
		}) {
			t.Errorf("rule added, %s: ha-sg's document lacks the new rule", h)
		}
	}

	e.update("ports", "port", k.c1, map[string]any{"security_groups": []string{k.otherSG, k.haSG}})
	d := answer("host-a")
	if m, ok := d.RemoteGroups[k.haSG]; !ok || !slices.Contains(m.IPv4, "10.9.0.10") || len(d.Ports) != 0 {
		t.Errorf("C's port joins ha-sg, host-a: documents %+v, want ha-sg's members with 10.9.0.10 and no port", d)
	}
	d = answer("host-c")
	if len(d.Ports) != 1 || d.Ports[0].ID != k.c1 {
		t.Errorf("C's port joins ha-sg, host-c: documents %+v, want its port", d)
	}

	e.update("ports", "port", k.a2, map[string]any{"binding:host_id": "host-c"})
	d = answer("host-a")
	if len(d.Ports) != 1 || d.Ports[0].ID != k.a2 || d.Ports[0].Host != "host-c" {
		t.Errorf("A2 moved to C, host-a: documents %+v, want A2 bound to host-c", d)
	}

	e.must(204, "DELETE", "/v2.0/ports/"+k.b1, nil)
	d = answer("host-b")
	if len(d.Ports) != 0 {
		t.Errorf("B's port deleted, host-b: documents %+v, want no port", d)
	}
	if m := d.RemoteGroups[k.haSG]; slices.Contains(m.IPv4, "172.16.200.195") {
		t.Errorf("B's port deleted, host-b: ha-sg's members still hold its address: %v", m.IPv4)
	}
}
