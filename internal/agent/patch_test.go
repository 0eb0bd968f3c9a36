package agent_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// recordingApplier keeps the last ruleset instead of touching a kernel.
type recordingApplier struct {
	mu   sync.Mutex
	last *firewall.Ruleset
}

func (r *recordingApplier) Apply(_ context.Context, rs *firewall.Ruleset) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = rs
	return nil
}

func (r *recordingApplier) Zones(context.Context) (map[string]uint16, error) {
	return map[string]uint16{}, nil
}

// hasComment reports whether the last ruleset holds a rule with comment c.
func (r *recordingApplier) hasComment(c string) bool {
	return r.hasCommentPrefix(c, false)
}

// hasCommentPrefix: a rule whose comment is c, or starts with it (prefix).
func (r *recordingApplier) hasCommentPrefix(c string, prefix bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return false
	}
	for _, byTable := range r.last.Tables {
		for _, t := range byTable {
			for _, ch := range t.Chains {
				for _, rule := range ch.Rules {
					if rule.Comment == c || (prefix && strings.HasPrefix(rule.Comment, c)) {
						return true
					}
				}
			}
		}
	}
	return false
}

// hasSetMember reports whether a set of the last ruleset holds member m
// (a port's address pairs are members of its pair set).
func (r *recordingApplier) hasSetMember(m string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return false
	}
	for _, s := range r.last.Sets {
		if slices.Contains(s.Members, m) {
			return true
		}
	}
	return false
}

// TestGroupChangeWithoutSnapshot: a rule added to or removed from a group
// the host enforces, or a local port's address pair, is applied from the
// watch answer (no host snapshot); a rule naming a remote group whose
// members the agent lacks takes a full snapshot.
func TestGroupChangeWithoutSnapshot(t *testing.T) {
	e := newHostEnv(t, 1)
	do, waitFor, snapshots := e.do, e.waitFor, &e.snapshots
	net := do("POST", "networks", `{"network":{"name":"n"}}`, "network")["id"].(string)
	do("POST", "subnets", `{"subnet":{"network_id":"`+net+`","cidr":"10.9.0.0/24","ip_version":4}}`, "subnet")
	sg := do("POST", "security-groups", `{"security_group":{"name":"web"}}`, "security_group")["id"].(string)
	other := do("POST", "security-groups", `{"security_group":{"name":"other"}}`, "security_group")["id"].(string)
	port := do("POST", "ports", `{"port":{"network_id":"`+net+`","binding:host_id":"h1","security_groups":["`+sg+`"]}}`, "port")
	e.startAgent()
	rec := e.rec

	waitFor("the first sync", func() bool { return rec.hasComment("sg:" + sg) })
	if n := snapshots.Load(); n != 1 {
		t.Fatalf("snapshots after start = %d, want 1", n)
	}

	rule := do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+sg+`","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":8443,"port_range_max":8443}}`, "security_group_rule")["id"].(string)
	waitFor("the added rule", func() bool { return rec.hasComment("sg-rule:" + rule) })
	do("DELETE", "security-group-rules/"+rule, "", "")
	waitFor("the removed rule to go", func() bool { return !rec.hasComment("sg-rule:" + rule) })
	if n := snapshots.Load(); n != 1 {
		t.Fatalf("snapshots after a rule add and remove = %d, want 1 (the group alone should be read)", n)
	}

	remote := do("POST", "security-group-rules", `{"security_group_rule":{"security_group_id":"`+sg+`","direction":"ingress","ethertype":"IPv4","remote_group_id":"`+other+`"}}`, "security_group_rule")["id"].(string)
	waitFor("the remote-group rule", func() bool { return rec.hasComment("sg-rule:" + remote) })
	if n := snapshots.Load(); n != 1 {
		t.Fatalf("snapshots after a rule naming a new remote group = %d, want 1 (its members come with the watch answer)", n)
	}

	// An address pair of a local port: the port's document comes with the
	// watch answer, no snapshot.
	do("PUT", "ports/"+port["id"].(string), `{"port":{"allowed_address_pairs":[{"ip_address":"10.9.0.250"}]}}`, "port")
	waitFor("the address pair", func() bool { return rec.hasSetMember("10.9.0.250") })
	if n := snapshots.Load(); n != 1 {
		t.Fatalf("snapshots after an address-pair change = %d, want 1", n)
	}
}
