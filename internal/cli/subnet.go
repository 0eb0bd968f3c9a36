package cli

import (
	"context"
	"net/netip"
	"slices"
	"strconv"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

var subnetColumns = []column{attr("ID", "id"), attr("Name", "name"), attr("Network", "network_id"), attr("Subnet", "cidr")}

var subnetLongColumns = append(slices.Clone(subnetColumns), attr("Project", "project_id"), attr("DHCP", "enable_dhcp"),
	attr("Name Servers", "dns_nameservers"), attr("Allocation Pools", "allocation_pools"), attr("IP Version", "ip_version"),
	attr("Gateway", "gateway_ip"), attr("Tags", "tags"))

func (a *app) subnetCmd() *cobra.Command {
	return group("subnet", "Subnets: list, show, create, set, unset, delete", nil,
		a.subnetList(), a.showCmd("show", "SUBNET", "Show a subnet", subnetRes, showFields(subnetRes)),
		a.subnetCreate(), a.subnetSet(), a.subnetUnset(), a.deleteCmd("SUBNET", "Delete subnets", subnetRes))
}

func (a *app) subnetList() *cobra.Command {
	var (
		network, name, project, cidr string
		ipVersion                    int
		long                         bool
	)
	cmd := a.printingCommand("list", "List subnets", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string, o output.Options) error {
		if ipVersion != 0 && ipVersion != 4 && ipVersion != 6 {
			return usagef("--ip-version must be 4 or 6")
		}
		q := query{}
		if err := q.setID(ctx, c, "network_id", networkRes, network); err != nil {
			return err
		}
		q.setNonEmpty(map[string]string{"name": name, "project_id": project, "cidr": cidr})
		if ipVersion != 0 {
			q["ip_version"] = []string{strconv.Itoa(ipVersion)}
		}
		return listAndPrint(ctx, c, cmd, o, subnetRes, q, longOr(long, subnetColumns, subnetLongColumns))
	})
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "only subnets of this network (name or ID)")
	f.StringVar(&name, "name", "", "only subnets with this name")
	f.StringVar(&project, "project", "", "only subnets of this project (ID)")
	f.StringVar(&cidr, "subnet-range", "", "only the subnet with this CIDR")
	f.IntVar(&ipVersion, "ip-version", 0, "only IPv4 (4) or IPv6 (6) subnets")
	f.BoolVar(&long, "long", false, "more columns")
	return cmd
}

type subnetFlags struct {
	name, description, gateway string
	pools, dns                 []string
	noPools, noDNS             bool
	dhcp                       boolPair
	tags                       tagFlags
}

func (s *subnetFlags) add(cmd *cobra.Command, set bool) {
	f := cmd.Flags()
	if set {
		f.StringVar(&s.name, "name", "", "new name")
		f.BoolVar(&s.noPools, "no-allocation-pool", false, "remove the current allocation pools first")
		f.BoolVar(&s.noDNS, "no-dns-nameservers", false, "remove the current DNS servers first")
	}
	f.StringVar(&s.description, "description", "", "description")
	f.StringVar(&s.gateway, "gateway", "", "gateway address, or none (no gateway); create also takes auto (the first address, the default)")
	f.StringArrayVar(&s.pools, "allocation-pool", nil, "allocation pool start=IP,end=IP (repeatable)")
	f.StringArrayVar(&s.dns, "dns-nameserver", nil, "DNS server (repeatable)")
	s.dhcp.add(cmd, "dhcp", "no-dhcp", "DHCP")
	s.tags.addSet(cmd, set)
}

func parsePool(spec string) (map[string]any, error) {
	kv, err := parseKV("allocation-pool", spec, "start", "end")
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"start", "end"} {
		if _, err := netip.ParseAddr(kv[k]); err != nil {
			return nil, usagef("--allocation-pool %q: %s must be an IP address", spec, k)
		}
	}
	return map[string]any{"start": kv["start"], "end": kv["end"]}, nil
}

func (s *subnetFlags) attrs(cmd *cobra.Command, cur object) (map[string]any, error) {
	attrs := map[string]any{}
	setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
	if cmd.Flags().Changed("gateway") {
		switch s.gateway {
		case "none":
			attrs["gateway_ip"] = nil
		case "auto":
			if cur != nil {
				return nil, usagef("--gateway auto is for subnet create only")
			}
		default:
			if _, err := netip.ParseAddr(s.gateway); err != nil {
				return nil, usagef("--gateway %q: an IP address, none or auto", s.gateway)
			}
			attrs["gateway_ip"] = s.gateway
		}
	}
	if s.noPools || len(s.pools) > 0 {
		pools := []any{}
		if cur != nil && !s.noPools {
			pools = append(pools, anyList(cur["allocation_pools"])...)
		}
		for _, spec := range s.pools {
			p, err := parsePool(spec)
			if err != nil {
				return nil, err
			}
			pools = append(pools, p)
		}
		attrs["allocation_pools"] = pools
	}
	if s.noDNS || len(s.dns) > 0 {
		dns := []string{}
		if cur != nil && !s.noDNS {
			dns = strList(cur["dns_nameservers"])
		}
		for _, d := range s.dns {
			if _, err := netip.ParseAddr(d); err != nil {
				return nil, usagef("--dns-nameserver %q is not an IP address", d)
			}
		}
		attrs["dns_nameservers"] = appendUnique(dns, s.dns...)
	}
	s.dhcp.set(attrs, "enable_dhcp")
	return attrs, nil
}

func (a *app) subnetCreate() *cobra.Command {
	var (
		s                      subnetFlags
		network, cidr, project string
		raMode, addressMode    string
		ipVersion              int
	)
	cmd := a.printingCommand("create --network NET --subnet-range CIDR [flags] NAME", "Create a subnet", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			return usagef("--subnet-range %q is not a CIDR", cidr)
		}
		if !cmd.Flags().Changed("ip-version") {
			ipVersion = 4
			if prefix.Addr().Is6() {
				ipVersion = 6
			}
		}
		if ipVersion != 4 && ipVersion != 6 {
			return usagef("--ip-version must be 4 or 6")
		}
		attrs, err := s.attrs(cmd, nil)
		if err != nil {
			return err
		}
		if err := setIDOf(ctx, c, attrs, "network_id", networkRes, network); err != nil {
			return err
		}
		attrs["name"] = args[0]
		attrs["cidr"] = cidr
		attrs["ip_version"] = ipVersion
		setNonEmpty(attrs, map[string]string{"project_id": project, "ipv6_ra_mode": raMode, "ipv6_address_mode": addressMode})
		return createAndShow(ctx, c, cmd, o, subnetRes, attrs, s.tags)
	})
	s.add(cmd, false)
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "network (name or ID)")
	f.StringVar(&cidr, "subnet-range", "", "the subnet's CIDR")
	f.IntVar(&ipVersion, "ip-version", 4, "4 or 6 (default: the family of --subnet-range)")
	f.StringVar(&project, "project", "", "owning project (ID; admin only)")
	f.StringVar(&raMode, "ipv6-ra-mode", "", "IPv6 RA mode (dhcpv6-stateful, dhcpv6-stateless, slaac)")
	f.StringVar(&addressMode, "ipv6-address-mode", "", "IPv6 address mode (dhcpv6-stateful, dhcpv6-stateless, slaac)")
	_ = cmd.MarkFlagRequired("network")
	_ = cmd.MarkFlagRequired("subnet-range")
	return cmd
}

func (a *app) subnetSet() *cobra.Command {
	var s subnetFlags
	cmd := a.setCmd("SUBNET", "Change a subnet (pools and DNS servers given are added)", subnetRes, &s.tags, func(_ context.Context, _ *gophercloud.ServiceClient, cmd *cobra.Command, cur object) (map[string]any, error) {
		return s.attrs(cmd, cur)
	})
	s.add(cmd, true)
	return cmd
}

func (a *app) subnetUnset() *cobra.Command {
	var (
		pools, dns []string
		gateway    bool
		rmPools    []map[string]any
	)
	// Read before the first request, so a mistake sends nothing.
	parsePools := func() (err error) {
		rmPools, err = parseAll(pools, parsePool)
		return err
	}
	cmd := a.unsetCmd("SUBNET", "Remove allocation pools, DNS servers, the gateway or tags from a subnet", subnetRes, parsePools, func(_ context.Context, _ *gophercloud.ServiceClient, _ *cobra.Command, sub object) (map[string]any, error) {
		attrs := map[string]any{}
		if len(rmPools) > 0 {
			cur := anyList(sub["allocation_pools"])
			for _, p := range rmPools {
				var found bool
				if cur, found = withoutFirst(cur, func(e any) bool {
					m, _ := e.(map[string]any)
					return m["start"] == p["start"] && m["end"] == p["end"]
				}); !found {
					return nil, notFoundf("Subnet does not contain allocation pool start=%s,end=%s", p["start"], p["end"])
				}
			}
			attrs["allocation_pools"] = cur
		}
		if len(dns) > 0 {
			cur := strList(sub["dns_nameservers"])
			for _, d := range dns {
				var found bool
				if cur, found = withoutFirst(cur, func(e string) bool { return e == d }); !found {
					return nil, notFoundf("Subnet does not contain DNS server %s", d)
				}
			}
			attrs["dns_nameservers"] = cur
		}
		if gateway {
			attrs["gateway_ip"] = nil
		}
		return attrs, nil
	})
	f := cmd.Flags()
	f.StringArrayVar(&pools, "allocation-pool", nil, "allocation pool to remove: start=IP,end=IP (repeatable)")
	f.StringArrayVar(&dns, "dns-nameserver", nil, "DNS server to remove (repeatable)")
	f.BoolVar(&gateway, "gateway", false, "remove the gateway")
	return cmd
}
