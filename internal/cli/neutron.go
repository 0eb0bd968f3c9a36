package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// The neutron CLI's spellings (python-neutronclient), as operators'
// runbooks contain them. Unlike `port set`, neutron's port-update replaces
// the lists it is given (security groups, address pairs, fixed IPs).

func (a *app) neutronCmds() []*cobra.Command {
	return []*cobra.Command{
		a.nList("net-list", networkRes, neutronNetColumns), a.nShow("net-show", networkRes), a.nNetCreate(), a.nNetUpdate(), a.nDelete("net-delete", networkRes),
		a.nList("subnet-list", subnetRes, neutronSubnetColumns), a.nShow("subnet-show", subnetRes), a.nSubnetCreate(), a.nDelete("subnet-delete", subnetRes),
		a.nList("port-list", portRes, neutronPortColumns), a.nShow("port-show", portRes), a.nPortCreate(), a.nPortUpdate(), a.nDelete("port-delete", portRes),
		a.nList("security-group-list", groupRes, neutronGroupColumns), a.nShow("security-group-show", groupRes), a.nGroupCreate(), a.nGroupUpdate(),
		a.nDelete("security-group-delete", groupRes),
		a.nList("security-group-rule-list", ruleRes, neutronRuleColumns), a.nShow("security-group-rule-show", ruleRes), a.nRuleCreate(),
		a.nDelete("security-group-rule-delete", ruleRes),
	}
}

// neutronJSON shows a list of objects one JSON object per line, as the
// neutron CLI shows fixed_ips and allowed_address_pairs.
func neutronJSON(key string) column {
	return column{name: key, value: func(o object) any {
		l, ok := o[key].([]any)
		if !ok {
			return o[key]
		}
		lines := make([]string, len(l))
		for i, e := range l {
			b, _ := json.Marshal(e)
			lines[i] = string(b)
		}
		return strings.Join(lines, "\n")
	}}
}

var (
	neutronNetColumns    = []column{attr("id", "id"), attr("name", "name"), attr("tenant_id", "tenant_id"), attr("subnets", "subnets")}
	neutronSubnetColumns = []column{attr("id", "id"), attr("name", "name"), attr("tenant_id", "tenant_id"), attr("cidr", "cidr"),
		neutronJSON("allocation_pools")}
	neutronPortColumns  = []column{attr("id", "id"), attr("name", "name"), attr("tenant_id", "tenant_id"), attr("mac_address", "mac_address"), neutronJSON("fixed_ips")}
	neutronGroupColumns = []column{attr("id", "id"), attr("name", "name"), attr("tenant_id", "tenant_id"), attr("description", "description")}
	neutronRuleColumns  = []column{attr("id", "id"), attr("security_group", "security_group_id"), attr("direction", "direction"),
		attr("ethertype", "ethertype"), column{"port/protocol", func(o object) any {
			p := output.Text(o["protocol"])
			if o["protocol"] == nil {
				p = "any"
			}
			if r := output.Text(portRange(o)); r != "" {
				return r + "/" + p
			}
			return p
		}}, column{"remote", func(o object) any {
			switch {
			case o["remote_group_id"] != nil:
				return str(o["remote_group_id"]) + " (group)"
			case o["remote_address_group_id"] != nil:
				return str(o["remote_address_group_id"]) + " (address group)"
			case o["remote_ip_prefix"] != nil:
				return o["remote_ip_prefix"]
			}
			return "any"
		}}}
)

func (a *app) nList(use string, r *resource, cols []column) *cobra.Command {
	var name string
	cmd := a.printingCommand(use, "List "+strings.ReplaceAll(r.plural, "-", " ")+" (neutron CLI spelling)", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string, o output.Options) error {
		q := query{}
		q.setNonEmpty(map[string]string{"name": name})
		return listAndPrint(ctx, c, cmd, o, r, q, cols)
	})
	if r != ruleRes {
		cmd.Flags().StringVar(&name, "name", "", "only those with this name")
	}
	return cmd
}

// nShow prints the API's attribute names, as the neutron CLI does.
func (a *app) nShow(use string, r *resource) *cobra.Command {
	upper := strings.ToUpper(strings.ReplaceAll(r.key, "security_group_", ""))
	return a.showCmd(use, upper, "Show a "+strings.ReplaceAll(r.key, "_", " ")+" (neutron CLI spelling)", r,
		func(cmd *cobra.Command, o output.Options, obj object) error {
			return o.PrintMap(cmd.OutOrStdout(), obj)
		})
}

func (a *app) nDelete(use string, r *resource) *cobra.Command {
	return a.command(use+" ID [ID ...]", "Delete "+strings.ReplaceAll(r.plural, "-", " ")+" (neutron CLI spelling)", minArgs(1, "ID [ID ...]"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := deleteAll(ctx, c, cmd.ErrOrStderr(), r, args); err != nil {
			return err
		}
		for _, n := range args {
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s: %s\n", r.key, n)
		}
		return nil
	})
}

// nCreate creates the resource and prints it as the neutron CLI does.
func nCreate(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, o output.Options, r *resource, attrs map[string]any) error {
	obj, err := r.Create(ctx, c, attrs)
	if err != nil {
		return err
	}
	if o.Format == "table" || o.Format == "" {
		fmt.Fprintf(cmd.OutOrStdout(), "Created a new %s:\n", r.key)
	}
	return o.PrintMap(cmd.OutOrStdout(), obj)
}

// nUpdate puts attrs on the resource nameOrID names and says so, as the
// neutron CLI's update verbs do.
func nUpdate(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, r *resource, nameOrID string, attrs map[string]any) error {
	id, err := r.FindID(ctx, c, nameOrID)
	if err != nil {
		return err
	}
	if _, err := r.Update(ctx, c, id, attrs); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Updated %s: %s\n", r.key, nameOrID)
	return nil
}

// optBool is a neutron-style "--flag True|False" (also --flag=False and the
// underscore spelling).
type optBool struct {
	s   string
	set bool
}

func (b *optBool) add(cmd *cobra.Command, name, usage string) {
	cmd.Flags().StringVar(&b.s, name, "", usage+" (True or False)")
}

func (b *optBool) get(cmd *cobra.Command, name string) (bool, bool, error) {
	if !cmd.Flags().Changed(name) {
		return false, false, nil
	}
	v, err := parseBool(name, b.s)
	return v, true, err
}

// setOptBools puts the True/False flags the command line gave into attrs,
// each under its flag's name spelled with underscores.
func setOptBools(cmd *cobra.Command, attrs map[string]any, flags map[string]*optBool) error {
	for flag, b := range flags {
		v, ok, err := b.get(cmd, flag)
		if err != nil {
			return err
		}
		if ok {
			attrs[strings.ReplaceAll(flag, "-", "_")] = v
		}
	}
	return nil
}

func (a *app) nNetCreate() *cobra.Command {
	var (
		shared, adminDown bool
		portSec           optBool
		description, proj string
	)
	cmd := a.printingCommand("net-create NAME", "Create a network (neutron CLI spelling)", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		attrs := map[string]any{"name": args[0]}
		if shared {
			attrs["shared"] = true
		}
		if adminDown {
			attrs["admin_state_up"] = false
		}
		if v, ok, err := portSec.get(cmd, "port-security-enabled"); err != nil {
			return err
		} else if ok {
			attrs["port_security_enabled"] = v
		}
		setNonEmpty(attrs, map[string]string{"description": description, "project_id": proj})
		return nCreate(ctx, c, cmd, o, networkRes, attrs)
	})
	f := cmd.Flags()
	f.BoolVar(&shared, "shared", false, "share with every project")
	f.BoolVar(&adminDown, "admin-state-down", false, "create it administratively down")
	portSec.add(cmd, "port-security-enabled", "port security for the network's new ports")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&proj, "tenant-id", "", "owning project (admin only)")
	f.StringVar(&proj, "project-id", "", "owning project (admin only)")
	return cmd
}

func (a *app) nNetUpdate() *cobra.Command {
	var (
		name, description string
		portSec, adminUp  optBool
		shared            optBool
	)
	cmd := a.command("net-update NETWORK", "Change a network (neutron CLI spelling)", exactArgs(1, "NETWORK"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		attrs := map[string]any{}
		if err := setOptBools(cmd, attrs, map[string]*optBool{"port-security-enabled": &portSec, "admin-state-up": &adminUp, "shared": &shared}); err != nil {
			return err
		}
		setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
		return nUpdate(ctx, c, cmd, networkRes, args[0], attrs)
	})
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "description")
	portSec.add(cmd, "port-security-enabled", "port security for the network's new ports")
	adminUp.add(cmd, "admin-state-up", "administrative state")
	shared.add(cmd, "shared", "sharing with every project")
	return cmd
}

func (a *app) nSubnetCreate() *cobra.Command {
	var (
		name, gateway, description, proj string
		noGateway, enableDHCP, noDHCP    bool
		ipVersion                        int
		pools, dns                       []string
	)
	cmd := a.printingCommand("subnet-create NETWORK CIDR", "Create a subnet (neutron CLI spelling)", exactArgs(2, "NETWORK", "CIDR"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		prefix, err := netip.ParsePrefix(args[1])
		if err != nil {
			return usagef("%q is not a CIDR", args[1])
		}
		if !cmd.Flags().Changed("ip-version") && prefix.Addr().Is6() {
			ipVersion = 6
		}
		if ipVersion != 4 && ipVersion != 6 {
			return usagef("--ip-version must be 4 or 6")
		}
		attrs := map[string]any{"cidr": args[1], "ip_version": ipVersion}
		setNonEmpty(attrs, map[string]string{"name": name, "description": description, "project_id": proj})
		switch {
		case noGateway && gateway != "":
			return usagef("--gateway and --no-gateway exclude each other")
		case noGateway:
			attrs["gateway_ip"] = nil
		case gateway != "":
			if _, err := netip.ParseAddr(gateway); err != nil {
				return usagef("--gateway %q is not an IP address", gateway)
			}
			attrs["gateway_ip"] = gateway
		}
		if enableDHCP && noDHCP {
			return usagef("--enable-dhcp and --disable-dhcp exclude each other")
		}
		if enableDHCP || noDHCP {
			attrs["enable_dhcp"] = enableDHCP
		}
		if len(pools) > 0 {
			ps, err := parseAll(pools, parsePool)
			if err != nil {
				return err
			}
			attrs["allocation_pools"] = ps
		}
		if len(dns) > 0 {
			attrs["dns_nameservers"] = dns
		}
		if err := setIDOf(ctx, c, attrs, "network_id", networkRes, args[0]); err != nil {
			return err
		}
		return nCreate(ctx, c, cmd, o, subnetRes, attrs)
	})
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&gateway, "gateway", "", "gateway address (default: the first address)")
	f.BoolVar(&noGateway, "no-gateway", false, "no gateway")
	f.BoolVar(&enableDHCP, "enable-dhcp", false, "enable DHCP")
	f.BoolVar(&noDHCP, "disable-dhcp", false, "disable DHCP")
	f.IntVar(&ipVersion, "ip-version", 4, "4 or 6 (default: the CIDR's family)")
	f.StringArrayVar(&pools, "allocation-pool", nil, "start=IP,end=IP (repeatable)")
	f.StringArrayVar(&dns, "dns-nameserver", nil, "DNS server (repeatable)")
	f.StringVar(&proj, "tenant-id", "", "owning project (admin only)")
	return cmd
}

func (a *app) nGroupCreate() *cobra.Command {
	var description, proj string
	cmd := a.printingCommand("security-group-create NAME", "Create a security group (neutron CLI spelling)", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		attrs := map[string]any{"name": args[0]}
		setNonEmpty(attrs, map[string]string{"description": description, "project_id": proj})
		return nCreate(ctx, c, cmd, o, groupRes, attrs)
	})
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&proj, "tenant-id", "", "owning project (admin only)")
	return cmd
}

func (a *app) nGroupUpdate() *cobra.Command {
	var name, description string
	cmd := a.command("security-group-update GROUP", "Rename a security group (neutron CLI spelling)", exactArgs(1, "GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		attrs := map[string]any{}
		setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
		return nUpdate(ctx, c, cmd, groupRes, args[0], attrs)
	})
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "description")
	return cmd
}

func (a *app) nRuleCreate() *cobra.Command {
	var (
		direction, ethertype, protocol, remoteIP, remoteGrp string
		portMin, portMax                                    string
		description, proj                                   string
	)
	cmd := a.printingCommand("security-group-rule-create GROUP", "Create a security group rule (neutron CLI spelling)", exactArgs(1, "GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		s := ruleSpec{group: args[0], remoteIP: remoteIP, remoteGroup: remoteGrp, description: description, project: proj}
		switch strings.ToLower(direction) {
		case "ingress", "egress":
			s.direction = strings.ToLower(direction)
		default:
			return usagef("--direction %q: ingress or egress", direction)
		}
		var err error
		if cmd.Flags().Changed("ethertype") {
			if s.ethertype, err = normEthertype(ethertype); err != nil {
				return err
			}
		}
		if s.protocol, err = normProtocol("protocol", protocol); err != nil {
			return err
		}
		if portMin != "" {
			n, err := atoiFlag("port-range-min", portMin, 65535)
			if err != nil {
				return err
			}
			s.portMin = &n
		}
		if portMax != "" {
			n, err := atoiFlag("port-range-max", portMax, 65535)
			if err != nil {
				return err
			}
			s.portMax = &n
		}
		if (s.portMin != nil || s.portMax != nil) && s.protocol == "" {
			return usagef("--port-range-min/--port-range-max need --protocol")
		}
		attrs, err := s.attrs(ctx, c)
		if err != nil {
			return err
		}
		return nCreate(ctx, c, cmd, o, ruleRes, attrs)
	})
	f := cmd.Flags()
	f.StringVar(&direction, "direction", "ingress", "ingress or egress")
	f.StringVar(&ethertype, "ethertype", "IPv4", "IPv4 or IPv6")
	f.StringVar(&protocol, "protocol", "", "protocol name or number (tcp, udp, icmp, vrrp, 112, ...); default any")
	f.StringVar(&portMin, "port-range-min", "", "first port (ICMP: type)")
	f.StringVar(&portMax, "port-range-max", "", "last port (ICMP: code)")
	f.StringVar(&remoteIP, "remote-ip-prefix", "", "remote CIDR")
	f.StringVar(&remoteGrp, "remote-group-id", "", "remote security group (name or ID)")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&proj, "tenant-id", "", "owning project (admin only)")
	cmd.MarkFlagsMutuallyExclusive("remote-ip-prefix", "remote-group-id")
	return cmd
}
