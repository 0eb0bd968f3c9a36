package policy

import (
	"testing"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

func TestRolesImply(t *testing.T) {
	for _, c := range []struct {
		roles                 []string
		admin, member, reader bool
	}{
		{[]string{"admin"}, true, true, true},
		{[]string{"member"}, false, true, true},
		{[]string{"reader"}, false, false, true},
		{[]string{"observer"}, false, false, false},
		{nil, false, false, false},
	} {
		k := Caller{ProjectID: "p", Roles: c.roles}
		if k.IsAdmin() != c.admin || k.IsMember() != c.member || k.IsReader() != c.reader || k.CanWrite() != c.member {
			t.Errorf("%v: admin %v member %v reader %v", c.roles, k.IsAdmin(), k.IsMember(), k.IsReader())
		}
	}
}

// TestAuthorize: decisions and the rule text of the refusal, printed as
// oslo.policy prints Neutron's match rule.
func TestAuthorize(t *testing.T) {
	admin := Caller{ProjectID: "a", Roles: []string{"admin"}}
	member := Caller{ProjectID: "a", Roles: []string{"member", "reader"}}
	reader := Caller{ProjectID: "a", Roles: []string{"reader"}}
	own := Target{Owner: "a", Network: &Network{Owner: "a"}}
	onShared := Target{Owner: "a", Network: &Network{Owner: "b", Shared: true}}
	foreign := Target{Owner: "b", Network: &Network{Owner: "b"}}
	for _, c := range []struct {
		name   string
		caller Caller
		action string
		target Target
		attrs  []Attr
		denied string // "" = allowed
	}{
		{"member creates a port", member, "create_port", own, nil, ""},
		{"reader creates a port", reader, "create_port", own, nil, "rule:create_port"},
		{"member creates in another project", member, "create_port", foreign, nil, "rule:create_port"},
		{"admin creates in another project", admin, "create_port", foreign, nil, ""},
		{"member shares a network", member, "create_network", own, []Attr{{Name: "shared"}}, "(rule:create_network and rule:create_network:shared)"},
		{"two attributes nest", reader, "create_network", own, []Attr{{Name: "shared"}, {Name: "port_security_enabled"}},
			"((rule:create_network and rule:create_network:shared) and rule:create_network:port_security_enabled)"},
		{"pairs on an own network", member, "create_port", own, []Attr{{Name: "allowed_address_pairs", Keys: []string{"ip_address"}}}, ""},
		{"pairs on a shared network", member, "create_port", onShared, []Attr{{Name: "allowed_address_pairs", Keys: []string{"ip_address", "mac_address"}}},
			"(rule:create_port and (rule:create_port:allowed_address_pairs and (rule:create_port:allowed_address_pairs:ip_address and rule:create_port:allowed_address_pairs:mac_address)))"},
		{"subnet on a shared network", member, "create_port", onShared, []Attr{{Name: "fixed_ips", Keys: []string{"subnet_id"}}}, ""},
		{"address on a shared network", member, "create_port", onShared, []Attr{{Name: "fixed_ips", Keys: []string{"subnet_id", "ip_address"}}},
			"(rule:create_port and (rule:create_port:fixed_ips and (rule:create_port:fixed_ips:subnet_id and rule:create_port:fixed_ips:ip_address)))"},
		{"network device on a shared network", member, "create_port", onShared, []Attr{{Name: "device_owner", Value: "network:dhcp"}},
			"(rule:create_port and rule:create_port:device_owner)"},
		{"compute device on a shared network", member, "create_port", onShared, []Attr{{Name: "device_owner", Value: "compute:nova"}}, ""},
		{"host binding", member, "update_port", own, []Attr{{Name: "binding:host_id"}}, "(rule:update_port and rule:update_port:binding:host_id)"},
		{"unregistered attribute rule is admin or owner", member, "create_network", own, []Attr{{Name: "mtu"}}, ""},
		{"subnet on a shared network", member, "create_subnet", onShared, nil, "rule:create_subnet"},
		{"network owner's subnet of another project", member, "update_subnet", Target{Owner: "b", Network: &Network{Owner: "a"}}, nil, ""},
		{"quotas", member, "update_quota", own, nil, "rule:update_quota"},
	} {
		err := c.caller.Authorize(c.action, c.target, c.attrs...)
		if c.denied == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		e, ok := apierr.As(err)
		if !ok || e.Status != 403 || e.Type != "PolicyNotAuthorized" || e.Message != c.denied+" is disallowed by policy" {
			t.Errorf("%s: got %v, want 403 %q", c.name, err, c.denied)
		}
	}
}

func TestVisibility(t *testing.T) {
	member := Caller{ProjectID: "a", Roles: []string{"member"}}
	none := Caller{ProjectID: "a", Roles: []string{"observer"}}
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"own network", member.CanSeeNetwork("a", false, false), true},
		{"other network", member.CanSeeNetwork("b", false, false), false},
		{"shared network", member.CanSeeNetwork("b", true, false), true},
		{"external network", member.CanSeeNetwork("b", false, true), true},
		{"subnet of a shared network", member.CanSeeSubnet("b", true), true},
		{"other subnet", member.CanSeeSubnet("b", false), false},
		{"own port", member.CanSee("a", false), true},
		{"other port", member.CanSee("b", false), false},
		{"own port without a role", none.CanSee("a", false), false},
		{"shared network without a role", none.CanSeeNetwork("b", true, false), true},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := member.CheckBodyProject("b"); err == nil || err.Error() != "400 HTTPBadRequest: "+ForeignProjectMessage {
		t.Errorf("foreign project: %v", err)
	}
	if err := member.CheckBodyProject("a"); err != nil {
		t.Errorf("own project: %v", err)
	}
	if err := (Caller{ProjectID: "a", Roles: []string{"admin"}}).CheckBodyProject("b"); err != nil {
		t.Errorf("admin: %v", err)
	}
}
