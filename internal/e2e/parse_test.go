//go:build linux

package e2e

import (
	"slices"
	"testing"
)

// The parsers on tables as the neutron CLI 8.1.0 prints them (from the
// reference transcript, steps 05 and 14).
func TestTableParsers(t *testing.T) {
	c := &cli{t: t}
	show := result{stdout: `Created a new security_group:
+----------------------+------------------------------------------------------------------+
| Field                | Value                                                            |
+----------------------+------------------------------------------------------------------+
| description          |                                                                  |
| id                   | 68cc7ec8-9aab-4295-ae6d-7d60c32757ea                             |
| name                 | ha-sg                                                            |
| security_group_rules | {"id": "f9ce", "direction": "egress", "protocol": null}          |
|                      | {"id": "5171", "direction": "egress", "port_range_min": 22}      |
| tags                 |                                                                  |
+----------------------+------------------------------------------------------------------+
`}
	m := c.fieldTable(show)
	if m["id"] != "68cc7ec8-9aab-4295-ae6d-7d60c32757ea" || m["name"] != "ha-sg" || m["description"] != "" || m["tags"] != "" {
		t.Errorf("fieldTable: %q", m)
	}
	rules := c.jsonLines(show, "security_group_rules", m["security_group_rules"])
	if len(rules) != 2 || str(rules[0]["id"]) != "f9ce" || str(rules[0]["protocol"]) != "" || str(rules[1]["port_range_min"]) != "22" {
		t.Errorf("jsonLines: %v", rules)
	}

	list := result{stdout: `+--------------------------------------+----------------+-----------+-----------+---------------+-----------------+
| id                                   | security_group | direction | ethertype | port/protocol | remote          |
+--------------------------------------+----------------+-----------+-----------+---------------+-----------------+
| 1eb252f0-9561-49d0-a174-b9c1af625eae | default        | egress    | IPv6      | any           | any             |
| 2043ff33-7339-4fa6-9b6e-b02371ef042a | default        | ingress   | IPv4      | any           | default (group) |
+--------------------------------------+----------------+-----------+-----------+---------------+-----------------+
`}
	rows := c.listTable(list)
	if len(rows) != 2 || rows[1]["remote"] != "default (group)" || rows[0]["port/protocol"] != "any" || rows[1]["id"] != "2043ff33-7339-4fa6-9b6e-b02371ef042a" {
		t.Errorf("listTable: %q", rows)
	}

	if got := strs([]any{"a", 1.0, nil}); !slices.Equal(got, []string{"a", "1", ""}) {
		t.Errorf("strs: %q", got)
	}
	if got := pairs([]any{map[string]any{"ip_address": "10.0.0.1", "mac_address": "fa:16:3e:00:00:01"}}); !slices.Equal(got, []string{"10.0.0.1,fa:16:3e:00:00:01"}) {
		t.Errorf("pairs: %q", got)
	}
	if got := shellJoin([]string{"neutron", "port-update", "--port_security_enabled=False", "a b", "it's"}); got != `neutron port-update --port_security_enabled=False 'a b' 'it'\''s'` {
		t.Errorf("shellJoin: %s", got)
	}
}
