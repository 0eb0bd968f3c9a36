// Package policy holds who is calling and the one place that decides what
// they may see and change. The auth middleware (noauth, or Keystone
// tokens) puts a Caller in the request context; everything below asks
// this package, never the roles directly.
//
// The rules are Neutron's "secure RBAC" defaults (the Zed policy-in-code
// with enforce_new_defaults, with the later corrections that give admin
// every project and require the member role of network owners): admin
// sees and changes everything; member changes its own project's
// resources; reader only reads; shared (and external) networks are
// visible to everyone. Actions and attribute rules carry Neutron's names
// (create_port, create_port:binding:host_id, ...) so a refusal reads
// exactly like Neutron's: 403 PolicyNotAuthorized "<rule> is disallowed
// by policy".
//
// The service decides in this order, as Neutron's API controller does:
// body validation (400, including a foreign project_id), visibility (the
// resource's own 404 — another project's resource is never 403), then
// Authorize (403), then the operation's own checks (409, ...).
package policy

import (
	"context"
	"slices"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// Caller is the authenticated identity of a request.
type Caller struct {
	ProjectID string
	UserID    string
	Roles     []string
}

func (c Caller) has(role string) bool { return slices.Contains(c.Roles, role) }

// IsAdmin reports whether the caller holds the admin role.
func (c Caller) IsAdmin() bool { return c.has("admin") }

// IsMember reports whether the caller holds member (admin implies it).
func (c Caller) IsMember() bool { return c.IsAdmin() || c.has("member") }

// IsReader reports whether the caller may read its project's resources
// (reader, or a role that implies it).
func (c Caller) IsReader() bool { return c.IsMember() || c.has("reader") }

// CanWrite reports whether the caller may change anything at all:
// readers and callers without a known role may not.
func (c Caller) CanWrite() bool { return c.IsMember() }

// CanSee reports whether a project-scoped resource owned by owner (or
// shared with everyone) is visible. Invisible resources are reported as
// not found, as Neutron does.
func (c Caller) CanSee(owner string, shared bool) bool {
	return c.IsAdmin() || shared || (c.IsReader() && owner == c.ProjectID)
}

// CanSeeNetwork is get_network: own project's, shared and external
// networks.
func (c Caller) CanSeeNetwork(owner string, shared, external bool) bool {
	return c.allowed("get_network", Target{Owner: owner, Network: &Network{Owner: owner, Shared: shared, External: external}}, Attr{})
}

// CanSeeSubnet is get_subnet: own project's subnets and those of shared
// networks (not of external ones).
func (c Caller) CanSeeSubnet(owner string, networkShared bool) bool {
	return c.allowed("get_subnet", Target{Owner: owner, Network: &Network{Shared: networkShared}}, Attr{})
}

// Owns reports whether the caller administers or belongs to owner's
// project (not whether it may write: see Authorize).
func (c Caller) Owns(owner string) bool { return c.IsAdmin() || owner == c.ProjectID }

// MayActFor reports whether the caller may name project in a request
// body (only admins may name another project).
func (c Caller) MayActFor(project string) bool { return c.IsAdmin() || project == c.ProjectID }

// ForeignProjectMessage is neutron-lib's refusal of a body naming another
// project (400 HTTPBadRequest, checked before anything else of the body).
const ForeignProjectMessage = "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges"

// CheckBodyProject refuses a request body whose project_id/tenant_id
// (present, given as project) names another project, unless the caller
// is an admin.
func (c Caller) CheckBodyProject(project string) error {
	if c.MayActFor(project) {
		return nil
	}
	return apierr.BadRequest(ForeignProjectMessage)
}

// Network is what the rules need to know about the network a network,
// subnet or port belongs to.
type Network struct {
	Owner            string
	Shared, External bool
}

// Target is the resource an action applies to.
type Target struct {
	// Owner is the project the resource belongs to, or is created in.
	Owner string
	// Network is the resource's network (networks, subnets, ports).
	Network *Network
}

// Attr is an attribute a request sets explicitly that has its own rule
// (Neutron's enforce_policy attributes): on create, one sent with a
// value other than its default; on update, any one sent.
type Attr struct {
	Name string
	// Keys, for a list of objects (fixed_ips, allowed_address_pairs),
	// are the keys of each element in order; each has its own rule
	// ("create_port:fixed_ips:ip_address").
	Keys []string
	// Value is the attribute's value where a rule looks at it
	// (device_owner).
	Value string
}

// Authorize decides action on t, with the attribute rules of attrs, and
// returns nil or Neutron's 403. The refusal names every rule that was
// checked, nested as oslo.policy prints them: "rule:create_port", or
// "(rule:create_network and rule:create_network:shared)".
func (c Caller) Authorize(action string, t Target, attrs ...Attr) error {
	ok := c.allowed(action, t, Attr{})
	text := "rule:" + action
	for _, a := range attrs {
		name := action + ":" + a.Name
		ok = c.allowed(name, t, a) && ok
		attrText := "rule:" + name
		if len(a.Keys) > 0 {
			subs := make([]string, len(a.Keys))
			for i, k := range a.Keys {
				ok = c.allowed(name+":"+k, t, a) && ok
				subs[i] = "rule:" + name + ":" + k
			}
			attrText = "(" + attrText + " and (" + strings.Join(subs, " and ") + "))"
		}
		text = "(" + text + " and " + attrText + ")"
	}
	if ok {
		return nil
	}
	return Denied(text)
}

// Denied is Neutron's refusal of a policy rule (rule text as printed by
// oslo.policy).
func Denied(rule string) error {
	return apierr.New(403, "PolicyNotAuthorized", "%s is disallowed by policy", rule)
}

// Allowed reports whether the named rule passes (for reads that filter
// rather than fail).
func (c Caller) Allowed(rule string, t Target) bool { return c.allowed(rule, t, Attr{}) }

func (c Caller) allowed(name string, t Target, a Attr) bool {
	r, ok := Rules[name]
	if !ok {
		r = adminOrOwner // Neutron's "default" rule
	}
	return r.check(c, t, a)
}

// Rule is one named policy rule: Check decides, Text documents it.
type Rule struct {
	Text  string
	check func(c Caller, t Target, a Attr) bool
}

func either(rs ...Rule) Rule {
	texts := make([]string, len(rs))
	for i, r := range rs {
		texts[i] = r.Text
	}
	return Rule{Text: strings.Join(texts, " or "), check: func(c Caller, t Target, a Attr) bool {
		for _, r := range rs {
			if r.check(c, t, a) {
				return true
			}
		}
		return false
	}}
}

// The building blocks of the rules (Neutron's names in Text).
var (
	admin         = Rule{"admin", func(c Caller, _ Target, _ Attr) bool { return c.IsAdmin() }}
	projectMember = Rule{"project member", func(c Caller, t Target, _ Attr) bool { return c.IsMember() && t.Owner == c.ProjectID }}
	projectReader = Rule{"project reader", func(c Caller, t Target, _ Attr) bool { return c.IsReader() && t.Owner == c.ProjectID }}
	owner         = Rule{"owner", func(c Caller, t Target, _ Attr) bool { return t.Owner == c.ProjectID }}
	netOwner      = Rule{"network owner", func(c Caller, t Target, _ Attr) bool {
		return t.Network != nil && t.Network.Owner == c.ProjectID
	}}
	netOwnerMember = Rule{"network owner member", func(c Caller, t Target, a Attr) bool { return c.IsMember() && netOwner.check(c, t, a) }}
	shared         = Rule{"shared network", func(_ Caller, t Target, _ Attr) bool { return t.Network != nil && t.Network.Shared }}
	external       = Rule{"external network", func(_ Caller, t Target, _ Attr) bool { return t.Network != nil && t.Network.External }}
	notNetDevice   = Rule{"not network:* device_owner", func(_ Caller, _ Target, a Attr) bool { return !strings.HasPrefix(a.Value, "network:") }}

	adminOrOwner         = either(admin, owner)
	adminOrProjectMember = either(admin, projectMember)
	adminOrProjectReader = either(admin, projectReader)
	adminOrNetOwner      = either(admin, netOwner)
)

// Rules is the policy table, by Neutron rule name. A name that is not
// here falls back to Neutron's "default" rule (admin or owner).
var Rules = map[string]Rule{
	"get_network":                                   either(admin, projectReader, shared, external),
	"create_network":                                adminOrProjectMember,
	"update_network":                                adminOrProjectMember,
	"delete_network":                                adminOrProjectMember,
	"create_network:shared":                         admin,
	"update_network:shared":                         admin,
	"create_network:router:external":                admin,
	"update_network:router:external":                admin,
	"create_network:port_security_enabled":          adminOrProjectMember,
	"update_network:port_security_enabled":          adminOrProjectMember,
	"get_subnet":                                    either(admin, projectReader, shared),
	"create_subnet":                                 either(admin, netOwnerMember),
	"update_subnet":                                 either(admin, projectMember, netOwnerMember),
	"delete_subnet":                                 either(admin, projectMember, netOwnerMember),
	"get_port":                                      adminOrProjectReader,
	"create_port":                                   adminOrProjectMember,
	"update_port":                                   adminOrProjectMember,
	"delete_port":                                   adminOrProjectMember,
	"create_port:device_owner":                      either(notNetDevice, admin, netOwner),
	"update_port:device_owner":                      either(notNetDevice, admin, netOwner),
	"create_port:mac_address":                       adminOrNetOwner,
	"update_port:mac_address":                       admin,
	"create_port:fixed_ips":                         either(admin, netOwner, shared),
	"update_port:fixed_ips":                         either(admin, netOwner, shared),
	"create_port:fixed_ips:subnet_id":               either(admin, netOwner, shared),
	"update_port:fixed_ips:subnet_id":               either(admin, netOwner, shared),
	"create_port:fixed_ips:ip_address":              adminOrNetOwner,
	"update_port:fixed_ips:ip_address":              adminOrNetOwner,
	"create_port:port_security_enabled":             adminOrNetOwner,
	"update_port:port_security_enabled":             adminOrNetOwner,
	"create_port:binding:host_id":                   admin,
	"update_port:binding:host_id":                   admin,
	"create_port:binding:profile":                   admin,
	"update_port:binding:profile":                   admin,
	"create_port:binding:vnic_type":                 adminOrProjectMember,
	"update_port:binding:vnic_type":                 adminOrProjectMember,
	"create_port:allowed_address_pairs":             adminOrNetOwner,
	"update_port:allowed_address_pairs":             adminOrNetOwner,
	"create_port:allowed_address_pairs:mac_address": adminOrNetOwner,
	"update_port:allowed_address_pairs:mac_address": adminOrNetOwner,
	"create_port:allowed_address_pairs:ip_address":  adminOrNetOwner,
	"update_port:allowed_address_pairs:ip_address":  adminOrNetOwner,
	"get_security_group":                            adminOrProjectReader,
	"create_security_group":                         adminOrProjectMember,
	"update_security_group":                         adminOrProjectMember,
	"delete_security_group":                         adminOrProjectMember,
	"get_security_group_rule":                       adminOrProjectReader,
	"create_security_group_rule":                    adminOrProjectMember,
	"update_security_group_rule":                    adminOrProjectMember,
	"delete_security_group_rule":                    adminOrProjectMember,
	"get_address_group":                             adminOrProjectReader,
	"create_address_group":                          adminOrProjectMember,
	"update_address_group":                          adminOrProjectMember,
	"delete_address_group":                          adminOrProjectMember,
	"add_addresses":                                 adminOrProjectMember,
	"remove_addresses":                              adminOrProjectMember,
	"update_network:tags":                           adminOrProjectMember,
	"delete_network:tags":                           adminOrProjectMember,
	"update_subnet:tags":                            adminOrProjectMember,
	"delete_subnet:tags":                            adminOrProjectMember,
	"update_port:tags":                              adminOrProjectMember,
	"delete_port:tags":                              adminOrProjectMember,
	"update_security_group:tags":                    adminOrProjectMember,
	"delete_security_group:tags":                    adminOrProjectMember,
	"get_quota":                                     admin,
	"update_quota":                                  admin,
	"delete_quota":                                  admin,
	"get_agent":                                     admin,
	"update_agent":                                  admin,
	"delete_agent":                                  admin,
	// Bulwark's agent channel (not Neutron rules): what an agent's service
	// user does. Admin only, like Neutron's agent RPC.
	"bulwark_report_state":       admin,
	"bulwark_get_host_state":     admin,
	"bulwark_watch":              admin,
	"bulwark_update_port_status": admin,
}

type ctxKey struct{}

// WithCaller returns a context carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the request's caller (zero Caller if none).
func FromContext(ctx context.Context) Caller {
	c, _ := ctx.Value(ctxKey{}).(Caller)
	return c
}
