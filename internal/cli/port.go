package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

var portColumns = []column{
	attr("ID", "id"), attr("Name", "name"), attr("MAC Address", "mac_address"),
	attr("Fixed IP Addresses", "fixed_ips"), attr("Status", "status"),
}

var portLongColumns = append(slices.Clone(portColumns),
	attr("Security Groups", "security_groups"), attr("Device Owner", "device_owner"),
	attr("Port Security", "port_security_enabled"), attr("Allowed Address Pairs", "allowed_address_pairs"), attr("Tags", "tags"))

func (a *app) portCmd() *cobra.Command {
	return group("port", "Ports: list, show, create, set, unset, delete", nil,
		a.portList(), a.showCmd("show", "PORT", "Show a port", portRes, showFields(portRes)),
		a.portCreate(), a.portSet(), a.portUnset(), a.deleteCmd("PORT", "Delete ports", portRes))
}

func (a *app) portList() *cobra.Command {
	var (
		network, owner, device, host, mac, name, sg string
		project                                     string
		fixedIPs                                    []string
		long                                        bool
	)
	cmd := a.printingCommand("list", "List ports", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string, o output.Options) error {
		q := query{}
		if err := q.setID(ctx, c, "network_id", networkRes, network); err != nil {
			return err
		}
		if err := q.setID(ctx, c, "security_groups", groupRes, sg); err != nil {
			return err
		}
		q.setNonEmpty(map[string]string{"device_owner": owner, "device_id": device, "binding:host_id": host, "mac_address": mac, "name": name, "project_id": project})
		for _, spec := range fixedIPs {
			fip, err := a.fixedIP(ctx, c, spec)
			if err != nil {
				return err
			}
			for k, v := range fip {
				q["fixed_ips"] = append(q["fixed_ips"], k+"="+str(v))
			}
		}
		return listAndPrint(ctx, c, cmd, o, portRes, q, longOr(long, portColumns, portLongColumns))
	})
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "only ports on this network (name or ID)")
	f.StringVar(&owner, "device-owner", "", "only ports with this device owner")
	f.StringVar(&device, "device-id", "", "only ports of this device")
	f.StringVar(&host, "host", "", "only ports bound to this host")
	f.StringVar(&mac, "mac-address", "", "only the port with this MAC")
	f.StringVar(&name, "name", "", "only ports with this name")
	f.StringVar(&project, "project", "", "only ports of this project (ID)")
	f.StringVar(&sg, "security-group", "", "only ports in this security group (name or ID)")
	f.StringArrayVar(&fixedIPs, "fixed-ip", nil, "only ports with this address: subnet=SUBNET,ip-address=IP (either key)")
	f.BoolVar(&long, "long", false, "more columns (groups, device owner, port security, address pairs, tags)")
	return cmd
}

// portFlags are the attributes port create and port set share.
type portFlags struct {
	name, description, device, owner, mac, host, vnicType string
	project                                               string // create: --project
	fixedIPs, groups, pairs                               []string
	noFixedIP, noGroups, noPairs                          bool
	admin, portSecurity                                   boolPair
	tags                                                  tagFlags
}

func (p *portFlags) add(cmd *cobra.Command, set bool) {
	f := cmd.Flags()
	if set {
		f.StringVar(&p.name, "name", "", "new name")
	}
	f.StringVar(&p.description, "description", "", "description")
	f.StringVar(&p.device, "device", "", "device ID (device_id)")
	f.StringVar(&p.owner, "device-owner", "", "device owner, e.g. compute:nova")
	f.StringVar(&p.mac, "mac-address", "", "MAC address")
	f.StringVar(&p.host, "host", "", "binding host (binding:host_id): the compute host whose agent enforces the port")
	f.StringVar(&p.vnicType, "vnic-type", "", "binding:vnic_type (normal, direct, ...)")
	f.StringArrayVar(&p.fixedIPs, "fixed-ip", nil, "fixed IP: subnet=SUBNET,ip-address=IP (repeatable)")
	f.BoolVar(&p.noFixedIP, "no-fixed-ip", false, "no fixed IPs (set: remove the current ones first)")
	f.StringArrayVar(&p.groups, "security-group", nil, "security group, name or ID (repeatable)")
	f.BoolVar(&p.noGroups, "no-security-group", false, "no security groups (set: remove the current ones first)")
	f.StringArrayVar(&p.pairs, "allowed-address", nil, "allowed address pair: ip-address=IP[/LEN][,mac-address=MAC] (repeatable)")
	p.admin.add(cmd, "enable", "disable", "the port (admin_state_up)")
	p.portSecurity.add(cmd, "enable-port-security", "disable-port-security", "port security (anti-spoofing and security groups)")
	if set {
		f.BoolVar(&p.noPairs, "no-allowed-address", false, "remove the current allowed address pairs first")
	}
	p.tags.addSet(cmd, set)
}

// attrs computes the request body from the flags; cur is the port being
// changed (nil on create): lists given with flags are added to its lists.
func (a *app) portAttrs(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, p *portFlags, cur object) (map[string]any, error) {
	attrs := map[string]any{}
	setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description", "device": "device_id",
		"device-owner": "device_owner", "mac-address": "mac_address", "host": "binding:host_id", "vnic-type": "binding:vnic_type"})
	p.admin.set(attrs, "admin_state_up")
	p.portSecurity.set(attrs, "port_security_enabled")

	if p.noFixedIP && len(p.fixedIPs) > 0 && cur == nil {
		return nil, usagef("--fixed-ip and --no-fixed-ip exclude each other")
	}
	if p.noFixedIP || len(p.fixedIPs) > 0 {
		fips := []any{}
		if cur != nil && !p.noFixedIP {
			fips = append(fips, anyList(cur["fixed_ips"])...)
		}
		fips, err := a.appendFixedIPs(ctx, c, fips, p.fixedIPs)
		if err != nil {
			return nil, err
		}
		attrs["fixed_ips"] = fips
	}

	if p.noGroups && len(p.groups) > 0 && cur == nil {
		return nil, usagef("--security-group and --no-security-group exclude each other")
	}
	if p.noGroups || len(p.groups) > 0 {
		ids := []string{}
		if cur != nil && !p.noGroups {
			ids = strList(cur["security_groups"])
		}
		project := callerProject(c)
		if cur != nil {
			project = str(cur["project_id"])
		} else if p.project != "" {
			project = p.project
		}
		ids, err := appendGroupIDs(ctx, c, ids, p.groups, project)
		if err != nil {
			return nil, err
		}
		attrs["security_groups"] = ids
	}

	if p.noPairs || len(p.pairs) > 0 {
		pairs := []any{}
		if cur != nil && !p.noPairs {
			pairs = append(pairs, anyList(cur["allowed_address_pairs"])...)
		}
		for _, spec := range p.pairs {
			pr, err := parsePair("allowed-address", spec)
			if err != nil {
				return nil, err
			}
			if !containsPair(pairs, pr) {
				pairs = append(pairs, pr.body())
			}
		}
		attrs["allowed_address_pairs"] = pairs
	}
	return attrs, nil
}

// containsPair reports whether pairs holds p.
func containsPair(pairs []any, p pair) bool {
	return slices.ContainsFunc(pairs, p.matches)
}

// appendFixedIPs appends the fixed_ips entries that --fixed-ip specs name.
func (a *app) appendFixedIPs(ctx context.Context, c *gophercloud.ServiceClient, fips []any, specs []string) ([]any, error) {
	for _, spec := range specs {
		fip, err := a.fixedIP(ctx, c, spec)
		if err != nil {
			return nil, err
		}
		fips = append(fips, fip)
	}
	return fips, nil
}

// appendGroupIDs appends the IDs of the named security groups not yet in
// ids; a name that several projects use means project's group.
func appendGroupIDs(ctx context.Context, c *gophercloud.ServiceClient, ids, names []string, project string) ([]string, error) {
	for _, g := range names {
		id, err := groupRes.FindIDIn(ctx, c, g, project)
		if err != nil {
			return nil, err
		}
		ids = appendUnique(ids, id)
	}
	return ids, nil
}

// fixedIP reads subnet=SUBNET,ip-address=IP into the API's fixed_ips entry
// (the subnet resolved to its ID).
func (a *app) fixedIP(ctx context.Context, c *gophercloud.ServiceClient, spec string) (map[string]any, error) {
	kv, err := parseKV("fixed-ip", spec, "subnet", "subnet-id", "ip-address")
	if err != nil {
		return nil, err
	}
	if kv["subnet-id"] != "" {
		kv["subnet"] = kv["subnet-id"]
	}
	out := map[string]any{}
	if ip := kv["ip-address"]; ip != "" {
		out["ip_address"] = ip
	}
	if s := kv["subnet"]; s != "" {
		id, err := subnetRes.FindID(ctx, c, s)
		if err != nil {
			return nil, err
		}
		out["subnet_id"] = id
	}
	if len(out) == 0 {
		return nil, usagef("--fixed-ip %q: give subnet= and/or ip-address=", spec)
	}
	return out, nil
}

func (a *app) portCreate() *cobra.Command {
	var (
		p       portFlags
		network string
	)
	cmd := a.printingCommand("create --network NET [flags] NAME", "Create a port", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		attrs, err := a.portAttrs(ctx, c, cmd, &p, nil)
		if err != nil {
			return err
		}
		if err := setIDOf(ctx, c, attrs, "network_id", networkRes, network); err != nil {
			return err
		}
		attrs["name"] = args[0]
		setNonEmpty(attrs, map[string]string{"project_id": p.project})
		return createAndShow(ctx, c, cmd, o, portRes, attrs, p.tags)
	})
	p.add(cmd, false)
	cmd.Flags().StringVar(&network, "network", "", "network (name or ID)")
	cmd.Flags().StringVar(&p.project, "project", "", "owning project (ID; admin only)")
	_ = cmd.MarkFlagRequired("network")
	return cmd
}

func (a *app) portSet() *cobra.Command {
	var p portFlags
	cmd := a.setCmd("PORT", "Change a port (lists given are added to the port's)", portRes, &p.tags, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, cur object) (map[string]any, error) {
		return a.portAttrs(ctx, c, cmd, &p, cur)
	})
	p.add(cmd, true)
	return cmd
}

func (a *app) portUnset() *cobra.Command {
	var (
		fixedIPs, groups, pairs []string
		host                    bool
		rmPairs                 []pair
	)
	// Read before the first request, so a mistake sends nothing.
	parsePairs := func() (err error) {
		rmPairs, err = parseAll(pairs, func(spec string) (pair, error) { return parsePair("allowed-address", spec) })
		return err
	}
	cmd := a.unsetCmd("PORT", "Remove fixed IPs, security groups, allowed address pairs, the binding host or tags from a port", portRes, parsePairs,
		func(ctx context.Context, c *gophercloud.ServiceClient, _ *cobra.Command, port object) (map[string]any, error) {
			attrs := map[string]any{}
			if len(fixedIPs) > 0 {
				cur := anyList(port["fixed_ips"])
				for _, spec := range fixedIPs {
					fip, err := a.fixedIP(ctx, c, spec)
					if err != nil {
						return nil, err
					}
					var found bool
					if cur, found = withoutFirst(cur, func(e any) bool {
						m, _ := e.(map[string]any)
						return (fip["ip_address"] == nil || m["ip_address"] == fip["ip_address"]) && (fip["subnet_id"] == nil || m["subnet_id"] == fip["subnet_id"])
					}); !found {
						return nil, notFoundf("Port does not contain fixed-ip %s", spec)
					}
				}
				attrs["fixed_ips"] = cur
			}
			if len(groups) > 0 {
				cur := strList(port["security_groups"])
				for _, g := range groups {
					id, err := groupRes.FindIDIn(ctx, c, g, str(port["project_id"]))
					if err != nil {
						return nil, err
					}
					var found bool
					if cur, found = withoutFirst(cur, func(e string) bool { return e == id }); !found {
						return nil, notFoundf("Port does not contain security group %s", g)
					}
				}
				attrs["security_groups"] = cur
			}
			if len(rmPairs) > 0 {
				cur := anyList(port["allowed_address_pairs"])
				for _, pr := range rmPairs {
					var found bool
					if cur, found = withoutFirst(cur, pr.matches); !found {
						return nil, notFoundf("Port does not contain allowed-address-pair %s", pairText(pr))
					}
				}
				attrs["allowed_address_pairs"] = cur
			}
			if host {
				attrs["binding:host_id"] = ""
			}
			return attrs, nil
		})
	f := cmd.Flags()
	f.StringArrayVar(&fixedIPs, "fixed-ip", nil, "fixed IP to remove: subnet=SUBNET,ip-address=IP (repeatable)")
	f.StringArrayVar(&groups, "security-group", nil, "security group to remove, name or ID (repeatable)")
	f.StringArrayVar(&pairs, "allowed-address", nil, "allowed address pair to remove: ip-address=IP[,mac-address=MAC] (repeatable)")
	f.BoolVar(&host, "host", false, "clear the binding host")
	return cmd
}

func pairText(p pair) string {
	if p.MAC == "" {
		return "ip-address=" + p.IP
	}
	return fmt.Sprintf("ip-address=%s,mac-address=%s", p.IP, p.MAC)
}
