package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/addressgroups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// object is one resource as the API returned it (decoded JSON).
type object = map[string]any

// resource ties a Neutron resource to the gophercloud package that speaks
// it. Request bodies are plain maps (body) rather than the packages' typed
// options: the typed options drop values the CLI must be able to send
// (port 0, an empty list, null, binding:host_id, port_security_enabled).
type resource struct {
	kind   string // in messages: "Port"
	key    string // JSON key of one: "port"
	plural string // JSON key of a list and URL collection: "ports"

	get    func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result
	list   func(c *gophercloud.ServiceClient, q query) pagination.Pager
	create func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result
	update func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result
	del    func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult
}

var (
	networkRes = &resource{kind: "Network", key: "network", plural: "networks",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return networks.Get(ctx, c, id).Result
		},
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return networks.List(c, q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return networks.Create(ctx, c, b).Result
		},
		update: func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result {
			return networks.Update(ctx, c, id, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return networks.Delete(ctx, c, id).ErrResult
		},
	}
	subnetRes = &resource{kind: "Subnet", key: "subnet", plural: "subnets",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return subnets.Get(ctx, c, id).Result
		},
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return subnets.List(c, q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return subnets.Create(ctx, c, b).Result
		},
		update: func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result {
			return subnets.Update(ctx, c, id, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return subnets.Delete(ctx, c, id).ErrResult
		},
	}
	portRes = &resource{kind: "Port", key: "port", plural: "ports",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return ports.Get(ctx, c, id).Result
		},
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return ports.List(c, q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return ports.Create(ctx, c, b).Result
		},
		update: func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result {
			return ports.Update(ctx, c, id, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return ports.Delete(ctx, c, id).ErrResult
		},
	}
	groupRes = &resource{kind: "SecurityGroup", key: "security_group", plural: "security-groups",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return groups.Get(ctx, c, id).Result
		},
		// groups.List takes its typed options only: the query goes through
		// a list of the same URL.
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return listAt(c, "security-groups", q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return groups.Create(ctx, c, b).Result
		},
		update: func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result {
			return groups.Update(ctx, c, id, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return groups.Delete(ctx, c, id).ErrResult
		},
	}
	ruleRes = &resource{kind: "SecurityGroupRule", key: "security_group_rule", plural: "security-group-rules",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return rules.Get(ctx, c, id).Result
		},
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return rules.List(c, q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return rules.Create(ctx, c, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return rules.Delete(ctx, c, id).ErrResult
		},
	}
	addressGroupRes = &resource{kind: "AddressGroup", key: "address_group", plural: "address-groups",
		get: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.Result {
			return addressgroups.Get(ctx, c, id).Result
		},
		list: func(c *gophercloud.ServiceClient, q query) pagination.Pager { return addressgroups.List(c, q) },
		create: func(ctx context.Context, c *gophercloud.ServiceClient, b body) gophercloud.Result {
			return addressgroups.Create(ctx, c, b).Result
		},
		update: func(ctx context.Context, c *gophercloud.ServiceClient, id string, b body) gophercloud.Result {
			return addressgroups.Update(ctx, c, id, b).Result
		},
		del: func(ctx context.Context, c *gophercloud.ServiceClient, id string) gophercloud.ErrResult {
			return addressgroups.Delete(ctx, c, id).ErrResult
		},
	}
)

// listAt lists a collection with an arbitrary query, with the page type of
// a package whose List accepts only its typed options.
func listAt(c *gophercloud.ServiceClient, collection string, q query) pagination.Pager {
	qs, _ := q.encode()
	return pagination.NewPager(c, c.ServiceURL(collection)+qs, func(r pagination.PageResult) pagination.Page {
		return groups.SecGroupPage{LinkedPageBase: pagination.LinkedPageBase{PageResult: r}}
	})
}

// body is a request body: the attributes under the resource's key. It
// satisfies every Create/Update options interface of the packages above.
type body struct {
	key   string
	attrs map[string]any
}

func (b body) wrap() (map[string]any, error) { return map[string]any{b.key: b.attrs}, nil }

func (b body) ToNetworkCreateMap() (map[string]any, error)      { return b.wrap() }
func (b body) ToNetworkUpdateMap() (map[string]any, error)      { return b.wrap() }
func (b body) ToSubnetCreateMap() (map[string]any, error)       { return b.wrap() }
func (b body) ToSubnetUpdateMap() (map[string]any, error)       { return b.wrap() }
func (b body) ToPortCreateMap() (map[string]any, error)         { return b.wrap() }
func (b body) ToPortUpdateMap() (map[string]any, error)         { return b.wrap() }
func (b body) ToSecGroupCreateMap() (map[string]any, error)     { return b.wrap() }
func (b body) ToSecGroupUpdateMap() (map[string]any, error)     { return b.wrap() }
func (b body) ToSecGroupRuleCreateMap() (map[string]any, error) { return b.wrap() }
func (b body) ToAddressGroupCreateMap() (map[string]any, error) { return b.wrap() }
func (b body) ToAddressGroupUpdateMap() (map[string]any, error) { return b.wrap() }

// query is a list filter (?name=x&network_id=y); it satisfies every List
// options interface of the packages above.
type query url.Values

func (q query) encode() (string, error) {
	if len(q) == 0 {
		return "", nil
	}
	return "?" + url.Values(q).Encode(), nil
}

// setNonEmpty puts each value that is not empty under its key.
func (q query) setNonEmpty(valueOfKey map[string]string) {
	for k, v := range valueOfKey {
		if v != "" {
			q[k] = []string{v}
		}
	}
}

// setID puts under key the ID of the resource of kind r that nameOrID
// names, when one is given.
func (q query) setID(ctx context.Context, c *gophercloud.ServiceClient, key string, r *resource, nameOrID string) error {
	if nameOrID == "" {
		return nil
	}
	id, err := r.FindID(ctx, c, nameOrID)
	if err != nil {
		return err
	}
	q[key] = []string{id}
	return nil
}

func (q query) ToNetworkListQuery() (string, error)      { return q.encode() }
func (q query) ToSubnetListQuery() (string, error)       { return q.encode() }
func (q query) ToPortListQuery() (string, error)         { return q.encode() }
func (q query) ToSecGroupListQuery() (string, error)     { return q.encode() }
func (q query) ToSecGroupRuleListQuery() (string, error) { return q.encode() }
func (q query) ToAddressGroupListQuery() (string, error) { return q.encode() }

// Get reads one resource by id.
func (r *resource) Get(ctx context.Context, c *gophercloud.ServiceClient, id string) (object, error) {
	return r.one(r.get(ctx, c, id))
}

// Create posts attrs.
func (r *resource) Create(ctx context.Context, c *gophercloud.ServiceClient, attrs map[string]any) (object, error) {
	return r.one(r.create(ctx, c, body{key: r.key, attrs: attrs}))
}

// Update puts attrs on id.
func (r *resource) Update(ctx context.Context, c *gophercloud.ServiceClient, id string, attrs map[string]any) (object, error) {
	if r.update == nil {
		return nil, fmt.Errorf("a %s cannot be updated", r.kind)
	}
	return r.one(r.update(ctx, c, id, body{key: r.key, attrs: attrs}))
}

// Delete deletes id.
func (r *resource) Delete(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
	return apiError(r.del(ctx, c, id).ExtractErr())
}

func (r *resource) one(res gophercloud.Result) (object, error) {
	if res.Err != nil {
		return nil, apiError(res.Err)
	}
	var wrapped map[string]object
	if err := res.ExtractInto(&wrapped); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.key, err)
	}
	o, ok := wrapped[r.key]
	if !ok || o == nil {
		return nil, fmt.Errorf("decode %s: the answer holds no %q object", r.key, r.key)
	}
	return o, nil
}

// List reads every page of the collection filtered by q.
func (r *resource) List(ctx context.Context, c *gophercloud.ServiceClient, q query) ([]object, error) {
	var out []object
	err := r.list(c, q).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		var items []object
		ex, ok := p.(interface{ ExtractIntoSlicePtr(any, string) error })
		if !ok {
			return false, fmt.Errorf("list %s: unexpected page type %T", r.plural, p)
		}
		if err := ex.ExtractIntoSlicePtr(&items, strings.ReplaceAll(r.plural, "-", "_")); err != nil {
			return false, fmt.Errorf("decode %s: %w", r.plural, err)
		}
		out = append(out, items...)
		return true, nil
	})
	if err != nil {
		return nil, apiError(err)
	}
	return out, nil
}

// Find resolves a name or id as the openstack CLI does: an id is read
// directly, otherwise (or if no resource has that id) the name must match
// exactly one resource.
func (r *resource) Find(ctx context.Context, c *gophercloud.ServiceClient, nameOrID string) (object, error) {
	if nameOrID == "" {
		return nil, usagef("empty %s name or id", r.kind)
	}
	if _, err := uuid.Parse(nameOrID); err == nil {
		o, err := r.Get(ctx, c, nameOrID)
		if err == nil {
			return o, nil
		}
		if ExitCode(err) != ExitNotFound {
			return nil, err
		}
	}
	if r == ruleRes { // rules have no names
		return nil, notFoundf("No %s found for %s", r.kind, nameOrID)
	}
	found, err := r.List(ctx, c, query{"name": {nameOrID}})
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, notFoundf("No %s found for %s", r.kind, nameOrID)
	case 1:
		return found[0], nil
	}
	return nil, &Error{Code: ExitError, Err: fmt.Errorf("More than one %s exists with the name '%s'.", r.kind, nameOrID)}
}

// FindIn is Find preferring, among several resources with the name, the
// one in project: every project has a group named default, and an admin
// sees them all.
func (r *resource) FindIn(ctx context.Context, c *gophercloud.ServiceClient, nameOrID, project string) (object, error) {
	o, err := r.Find(ctx, c, nameOrID)
	if err == nil || project == "" || ExitCode(err) != ExitError || !strings.HasPrefix(err.Error(), "More than one") {
		return o, err
	}
	found, lerr := r.List(ctx, c, query{"name": {nameOrID}, "project_id": {project}})
	if lerr != nil || len(found) != 1 {
		return nil, err
	}
	return found[0], nil
}

// FindIDIn is FindIn returning only the id.
func (r *resource) FindIDIn(ctx context.Context, c *gophercloud.ServiceClient, nameOrID, project string) (string, error) {
	o, err := r.FindIn(ctx, c, nameOrID, project)
	if err != nil {
		return "", err
	}
	return str(o["id"]), nil
}

// callerProject is the project of the token (keystone), or "" (noauth).
func callerProject(c *gophercloud.ServiceClient) string {
	res, ok := c.ProviderClient.GetAuthResult().(interface {
		ExtractProject() (*tokens.Project, error)
	})
	if !ok {
		return ""
	}
	p, err := res.ExtractProject()
	if err != nil || p == nil {
		return ""
	}
	return p.ID
}

// FindID is Find returning only the id.
func (r *resource) FindID(ctx context.Context, c *gophercloud.ServiceClient, nameOrID string) (string, error) {
	o, err := r.Find(ctx, c, nameOrID)
	if err != nil {
		return "", err
	}
	return str(o["id"]), nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
