package api

// extension is one entry of GET /v2.0/extensions.
type extension struct {
	Name        string   `json:"name"`
	Alias       string   `json:"alias"`
	Description string   `json:"description"`
	Updated     string   `json:"updated"`
	Links       []string `json:"links"`
}

// extensions lists only what Bulwark implements, so that clients probing
// for a feature get a truthful answer. Names, aliases and dates match
// Neutron 21's; descriptions are Bulwark's own.
var extensions = []extension{
	{"Address group", "address-group", "Named sets of CIDRs usable as a rule's remote.", "2020-07-15T10:00:00-00:00", []string{}},
	{"agent", "agent", "Agents (bulwark-agent on each compute host) and their heartbeats.", "2013-02-03T10:00:00-00:00", []string{}},
	{"Allowed Address Pairs", "allowed-address-pairs", "Extra MAC/IP pairs a port may send from (VIPs).", "2013-07-23T10:00:00-00:00", []string{}},
	{"Port Binding", "binding", "Host binding attributes of ports.", "2014-02-03T10:00:00-00:00", []string{}},
	{"Empty String Filtering Extension", "empty-string-filtering", "Filtering on empty string values.", "2018-05-01T10:00:00-00:00", []string{}},
	{"Neutron external network", "external-net", "The router:external network attribute.", "2013-01-14T10:00:00-00:00", []string{}},
	{"Neutron Extra DHCP options", "extra_dhcp_opt", "Extra DHCP options stored on ports.", "2013-03-17T12:00:00-00:00", []string{}},
	{"Filter parameters validation", "filter-validation", "Unknown filter attributes are rejected.", "2018-07-04T10:00:00-00:00", []string{}},
	{"IP address substring filtering", "ip-substring-filtering", "fixed_ips=ip_address_substr=... filtering.", "2017-11-28T09:00:00-00:00", []string{}},
	{"Network MTU", "net-mtu", "The network mtu attribute.", "2015-03-25T10:00:00-00:00", []string{}},
	{"Network MTU (writable)", "net-mtu-writable", "The network mtu attribute can be set.", "2017-07-12T00:00:00-00:00", []string{}},
	{"Pagination support", "pagination", "limit, marker and page_reverse on collections.", "2016-06-12T00:00:00-00:00", []string{}},
	{"Port Security", "port-security", "Per-network and per-port port_security_enabled.", "2012-07-23T10:00:00-00:00", []string{}},
	{"project_id field enabled", "project-id", "project_id beside tenant_id.", "2016-09-09T09:09:09-09:09", []string{}},
	{"Quota management support", "quotas", "Per-project quotas.", "2012-07-29T10:00:00-00:00", []string{}},
	{"Quota details management support", "quota_details", "Quota limits with current usage.", "2017-02-10T10:00:00-00:00", []string{}},
	{"If-Match constraints based on revision_number", "revision-if-match", "Compare-and-swap updates with If-Match: revision_number=N.", "2016-12-11T00:00:00-00:00", []string{}},
	{"Resource revision numbers", "standard-attr-revisions", "revision_number on every resource.", "2016-04-11T10:00:00-00:00", []string{}},
	{"Normalized CIDR field for security group rules", "security-groups-normalized-cidr", "normalized_cidr on rules.", "2020-07-28T10:00:00-00:00", []string{}},
	{"Port filtering on security groups", "port-security-groups-filtering", "Filter ports by security_groups.", "2018-01-09T09:00:00-00:00", []string{}},
	{"Remote address group id field for security group rules", "security-groups-remote-address-group", "remote_address_group_id on rules.", "2020-08-25T10:00:00-00:00", []string{}},
	{"security-group", "security-group", "Security groups and their rules.", "2012-10-05T10:00:00-00:00", []string{}},
	{"Sorting support", "sorting", "sort_key and sort_dir on collections.", "2016-06-12T00:00:00-00:00", []string{}},
	{"standard-attr-description", "standard-attr-description", "description on every resource.", "2016-02-10T10:00:00-00:00", []string{}},
	{"Stateful security group", "stateful-security-group", "Stateless security groups (stateful=false).", "2019-11-26T09:00:00-00:00", []string{}},
	{"Tag support for resources with standard attribute: port, subnet, network, security_group", "standard-attr-tag", "Tags on ports, subnets, networks and security groups.", "2017-01-01T00:00:00-00:00", []string{}},
	{"Resource timestamps", "standard-attr-timestamp", "created_at and updated_at on every resource.", "2016-09-12T10:00:00-00:00", []string{}},
}
