package agent_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/agent"
	"github.com/bulwark-net/bulwark/internal/firewall"
)

// TestPatchedStateMatchesSnapshot drives a server through a long series of
// changes — scripted ones, then random ones — and after each checks that
// what the agent applied (its last snapshot patched with the watch
// answers' documents) renders exactly like a fresh snapshot of the host
// compiled from scratch. The scripted changes that must not cost a host
// snapshot are counted. Two servers share the store, as several servers
// share a PostgreSQL database.
func TestPatchedStateMatchesSnapshot(t *testing.T) {
	// Two servers on one store, requests alternating between them: each
	// has its own caches of interests and documents (as servers on one
	// PostgreSQL database do), and the agent's revision often comes from
	// the other one.
	e := newHostEnv(t, 2)
	call, do, snapshots := e.call, e.do, &e.snapshots
	id := func(m map[string]any) string { return m["id"].(string) }

	net1 := id(do("POST", "networks", `{"network":{"name":"n1"}}`, "network"))
	do("POST", "subnets", `{"subnet":{"network_id":"`+net1+`","cidr":"10.9.0.0/24","ip_version":4}}`, "subnet")
	do("POST", "subnets", `{"subnet":{"network_id":"`+net1+`","cidr":"fd00:9::/64","ip_version":6}}`, "subnet")
	net2 := id(do("POST", "networks", `{"network":{"name":"n2"}}`, "network"))
	do("POST", "subnets", `{"subnet":{"network_id":"`+net2+`","cidr":"10.8.0.0/24","ip_version":4}}`, "subnet")
	web := id(do("POST", "security-groups", `{"security_group":{"name":"web"}}`, "security_group"))
	db := id(do("POST", "security-groups", `{"security_group":{"name":"db"}}`, "security_group"))
	ag := id(do("POST", "address-groups", `{"address_group":{"name":"ops","addresses":["192.0.2.0/28"]}}`, "address_group"))
	// web admits its own members and db's: both are remote groups of h1.
	do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+web+`","direction":"ingress","ethertype":"IPv4","remote_group_id":"`+web+`"}}`, "")
	do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+web+`","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":5432,"port_range_max":5432,"remote_group_id":"`+db+`"}}`, "")
	newPort := func(net, host, groups string) string {
		return id(do("POST", "ports", `{"port":{"network_id":"`+net+`","binding:host_id":"`+host+`","security_groups":[`+groups+`]}}`, "port"))
	}
	q := func(s string) string { return `"` + s + `"` }
	local := newPort(net1, "h1", q(web))
	remoteWeb := newPort(net1, "h2", q(web))
	remoteDB := newPort(net1, "h2", q(db))
	// cache has a member on h2 but no rule of h1's groups names it yet.
	cache := id(do("POST", "security-groups", `{"security_group":{"name":"cache"}}`, "security_group"))
	newPort(net1, "h2", q(cache))

	e.startAgent()
	rec := e.rec

	// want renders a fresh snapshot of h1 compiled from scratch.
	want := func() string {
		_, raw := call("GET", "bulwark/hosts/h1/state", "")
		b, _ := json.Marshal(raw)
		var snap agent.Snapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			t.Fatal(err)
		}
		r := firewall.Render(firewall.Compile(snap.HostState("h1", map[string]uint16{}, map[string]string{})))
		return r.IPSets + r.IPv4 + r.IPv6
	}
	got := func() string {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.last == nil {
			return ""
		}
		r := firewall.Render(rec.last)
		return r.IPSets + r.IPv4 + r.IPv6
	}
	converge := func(step string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			w, g := want(), got()
			if w == g {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s the agent's rules differ from a fresh snapshot's:\n%s", step, lineDiff(w, g))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	converge("the first sync")
	// Wait for the agent's own ACTIVE report to go round the feed.
	time.Sleep(300 * time.Millisecond)
	converge("the status report")
	base := snapshots.Load()

	// Changes an agent must apply from the watch answer alone.
	// members: only remote groups' member lists change, which must take
	// the path that rebuilds just their sets.
	noSnapshot := []struct {
		name    string
		run     func()
		members bool
	}{
		{"rule added to web", func() {
			do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+web+`","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":80,"port_range_max":80}}`, "")
		}, false},
		{"rule in web naming a group new to h1 (its members come along)", func() {
			do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+web+`","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":6379,"port_range_max":6379,"remote_group_id":"`+cache+`"}}`, "")
		}, false},
		{"address pair on the local port", func() {
			do("PUT", "ports/"+local, `{"port":{"allowed_address_pairs":[{"ip_address":"10.9.0.250"}]}}`, "")
		}, false},
		{"address pair on a remote member (h2)", func() {
			do("PUT", "ports/"+remoteWeb, `{"port":{"allowed_address_pairs":[{"ip_address":"10.9.0.251"}]}}`, "")
		}, true},
		{"db member's fixed IP changed", func() {
			do("PUT", "ports/"+remoteDB, `{"port":{"fixed_ips":[{"ip_address":"10.9.0.77"}]}}`, "")
		}, true},
		{"new port on h1 in web", func() { newPort(net1, "h1", q(web)) }, false},
		{"new db member on h2", func() { newPort(net1, "h2", q(db)) }, true},
		{"local port's port security off", func() {
			do("PUT", "ports/"+local, `{"port":{"security_groups":[],"allowed_address_pairs":[],"port_security_enabled":false}}`, "")
		}, false},
		{"local port back under web", func() {
			do("PUT", "ports/"+local, `{"port":{"port_security_enabled":true,"security_groups":["`+web+`"]}}`, "")
		}, false},
		{"remote member deleted", func() { do("DELETE", "ports/"+remoteWeb, "", "") }, true},
		{"web renamed", func() {
			do("PUT", "security-groups/"+web, `{"security_group":{"name":"web2"}}`, "")
		}, false},
	}
	for _, step := range noSnapshot {
		patches := agent.MemberPatches(e.agent)
		step.run()
		converge(step.name)
		if n := snapshots.Load() - base; n != 0 {
			t.Fatalf("%s cost %d host snapshot(s); the watch answer should carry what changed", step.name, n)
		}
		if n := agent.MemberPatches(e.agent) - patches; step.members != (n > 0) {
			t.Fatalf("%s: applied as a member-list change %d time(s), want %v", step.name, n, step.members)
		}
	}

	// Random changes, some of which need a snapshot (new groups, new
	// networks, address groups); the rules must match either way.
	rng := rand.New(rand.NewPCG(7, 11))
	ports := []string{local}
	groups := []string{web, db}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for i := range 60 {
		var name string
		switch rng.IntN(9) {
		case 0:
			g := id(do("POST", "security-groups", fmt.Sprintf(`{"security_group":{"name":"g%d"}}`, i), "security_group"))
			groups = append(groups, g)
			name = "new group"
		case 1:
			remote := ""
			switch rng.IntN(3) {
			case 0:
				remote = `,"remote_group_id":"` + pick(groups) + `"`
			case 1:
				remote = `,"remote_address_group_id":"` + ag + `"`
			}
			do("POST", "security-group-rules", fmt.Sprintf(`{"security_group_rule":{"security_group_id":"%s","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":%d,"port_range_max":%d%s}}`, pick(groups), 1000+i, 1000+i, remote), "")
			name = "rule added"
		case 2:
			host := pick([]string{"h1", "h2", "h3"})
			net := pick([]string{net1, net2})
			ports = append(ports, newPort(net, host, q(pick(groups))))
			name = "port created on " + host
		case 3:
			p := pick(ports)
			do("PUT", "ports/"+p, fmt.Sprintf(`{"port":{"allowed_address_pairs":[{"ip_address":"10.77.%d.%d"}]}}`, i/200, i%200+1), "")
			name = "address pair"
		case 4:
			p := pick(ports)
			do("PUT", "ports/"+p, `{"port":{"binding:host_id":"`+pick([]string{"h1", "h2"})+`"}}`, "")
			name = "port moved"
		case 5:
			p := pick(ports)
			g1, g2 := pick(groups), pick(groups)
			list := q(g1)
			if g2 != g1 {
				list += "," + q(g2)
			}
			do("PUT", "ports/"+p, `{"port":{"security_groups":[`+list+`]}}`, "")
			name = "port's groups changed"
		case 6:
			if len(ports) > 1 {
				j := 1 + rng.IntN(len(ports)-1)
				do("DELETE", "ports/"+ports[j], "", "")
				ports = append(ports[:j], ports[j+1:]...)
				name = "port deleted"
			}
		case 7:
			do("PUT", "address-groups/"+ag+"/add_addresses", fmt.Sprintf(`{"addresses":["198.51.100.%d/32"]}`, i+1), "")
			name = "address group grew"
		case 8:
			do("POST", "ports", `{"port":{"network_id":"`+pick([]string{net1, net2})+`","device_owner":"network:dhcp"}}`, "")
			name = "DHCP port created"
		}
		if name != "" {
			converge(fmt.Sprintf("random step %d (%s)", i, name))
		}
	}
	t.Logf("host snapshots: %d for the %d scripted changes, %d in all", 0, len(noSnapshot), snapshots.Load())
}

// lineDiff lists the lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for l, n := range count {
		switch {
		case n > 0:
			fmt.Fprintf(&b, "- %s\n", l)
		case n < 0:
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
