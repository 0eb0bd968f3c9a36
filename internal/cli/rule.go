package cli

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// Security group rules in the openstack spelling, and ruleSpec, the rule
// body both spellings build.

var ruleColumns = []column{
	attr("ID", "id"),
	column{"IP Protocol", func(o object) any { return o["protocol"] }},
	attr("Ethertype", "ethertype"),
	column{"IP Range", func(o object) any {
		// A rule without a prefix matches the whole family.
		if o["remote_ip_prefix"] == nil && o["ethertype"] == "IPv6" {
			return "::/0"
		} else if o["remote_ip_prefix"] == nil {
			return "0.0.0.0/0"
		}
		return o["remote_ip_prefix"]
	}},
	column{"Port Range", portRange},
	attr("Direction", "direction"),
	attr("Remote Security Group", "remote_group_id"),
	attr("Remote Address Group", "remote_address_group_id"),
}

var ruleAllColumns = append(append([]column{}, ruleColumns...), attr("Security Group", "security_group_id"))

// portRange shows port_range_min:port_range_max ("" when there is none);
// for ICMP they are the type and code.
func portRange(o object) any {
	lo, hi := o["port_range_min"], o["port_range_max"]
	if lo == nil && hi == nil {
		return ""
	}
	return output.Text(lo) + ":" + output.Text(hi)
}

func (a *app) ruleCmd(use string) *cobra.Command {
	return group(use, "Security group rules: list, show, create, delete (rules cannot be changed)", nil,
		a.ruleList(), a.showCmd("show", "RULE", "Show a security group rule", ruleRes, showFields(ruleRes)),
		a.ruleCreate(), a.deleteCmd("RULE", "Delete security group rules", ruleRes))
}

func (a *app) ruleList() *cobra.Command {
	var (
		protocol, ethertype, proj string
		dir                       boolPair
		long                      bool
	)
	cmd := a.printingCommand("list [GROUP]", "List security group rules (of one group)", func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("%s takes at most one GROUP", cmd.CommandPath())
		}
		return nil
	}, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		q := query{}
		cols := ruleAllColumns
		if len(args) == 1 {
			// Not q.setID: an empty GROUP argument is an error, not "all".
			id, err := groupRes.FindID(ctx, c, args[0])
			if err != nil {
				return err
			}
			q["security_group_id"] = []string{id}
			cols = ruleColumns
		}
		if protocol != "" && protocol != "any" {
			q["protocol"] = []string{strings.ToLower(protocol)}
		}
		if ethertype != "" {
			et, err := normEthertype(ethertype)
			if err != nil {
				return err
			}
			q["ethertype"] = []string{et}
		}
		q.setNonEmpty(map[string]string{"project_id": proj})
		switch {
		case dir.on:
			q["direction"] = []string{"ingress"}
		case dir.off:
			q["direction"] = []string{"egress"}
		}
		if long {
			cols = append(cols, attr("Description", "description"))
		}
		return listAndPrint(ctx, c, cmd, o, ruleRes, q, cols)
	})
	cmd.Flags().StringVar(&protocol, "protocol", "", "only rules for this protocol")
	cmd.Flags().StringVar(&ethertype, "ethertype", "", "only IPv4 or IPv6 rules")
	cmd.Flags().StringVar(&proj, "project", "", "only rules of this project (ID)")
	cmd.Flags().BoolVar(&long, "long", false, "with descriptions")
	dir.add(cmd, "ingress", "egress", "only ingress / only egress rules")
	return cmd
}

func normEthertype(s string) (string, error) {
	switch strings.ToLower(s) {
	case "ipv4":
		return "IPv4", nil
	case "ipv6":
		return "IPv6", nil
	}
	return "", usagef("--ethertype %q: IPv4 or IPv6", s)
}

// ruleSpec is a rule as either CLI describes it, before names are resolved.
type ruleSpec struct {
	group                           string // name or ID
	direction                       string // ingress, egress
	ethertype                       string // "" = from the remote prefix, else IPv4
	protocol                        string // "" = any
	portMin, portMax                *int
	remoteIP, remoteGroup, remoteAG string
	description, project            string
	// anyRemoteIP is the openstack CLI's default: a rule without remote
	// names the whole family as its prefix.
	anyRemoteIP bool
}

// protocolNames are the protocols Neutron knows by name; numbers 0-255 are
// accepted too.
var protocolNames = map[string]bool{"ah": true, "dccp": true, "egp": true, "esp": true, "gre": true, "hopopt": true, "icmp": true,
	"igmp": true, "ipip": true, "ipv6-encap": true, "ipv6-frag": true, "ipv6-icmp": true, "icmpv6": true, "ipv6-nonxt": true,
	"ipv6-opts": true, "ipv6-route": true, "ospf": true, "pgm": true, "rsvp": true, "sctp": true, "tcp": true, "udp": true,
	"udplite": true, "vrrp": true}

func normProtocol(flag, p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	switch {
	case p == "" || p == "any":
		return "", nil
	case protocolNames[p]:
		return p, nil
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return p, nil
	}
	return "", usagef("--%s %q: a protocol name (tcp, udp, icmp, vrrp, ...), a number 0-255 or any", flag, p)
}

// attrs resolves the groups and returns the request body.
func (s ruleSpec) attrs(ctx context.Context, c *gophercloud.ServiceClient) (map[string]any, error) {
	attrs := map[string]any{"direction": s.direction}
	if s.remoteIP != "" && s.remoteGroup != "" {
		return nil, usagef("give a remote IP prefix or a remote group, not both")
	}
	et := s.ethertype
	if s.remoteIP != "" {
		p, err := netip.ParsePrefix(s.remoteIP)
		if err != nil {
			a, aerr := netip.ParseAddr(s.remoteIP)
			if aerr != nil {
				return nil, usagef("remote IP %q is not a CIDR", s.remoteIP)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		fam := "IPv4"
		if p.Addr().Is6() && !p.Addr().Is4In6() {
			fam = "IPv6"
		}
		if et != "" && et != fam {
			return nil, usagef("remote IP %s is %s but the ethertype is %s", s.remoteIP, fam, et)
		}
		et = fam
		attrs["remote_ip_prefix"] = s.remoteIP
	}
	if et == "" {
		et = "IPv4"
	}
	attrs["ethertype"] = et
	if s.remoteIP == "" && s.remoteGroup == "" && s.remoteAG == "" && s.anyRemoteIP {
		attrs["remote_ip_prefix"] = map[string]string{"IPv4": "0.0.0.0/0", "IPv6": "::/0"}[et]
	}
	if s.protocol != "" {
		attrs["protocol"] = s.protocol
	}
	if s.portMin != nil {
		attrs["port_range_min"] = *s.portMin
	}
	if s.portMax != nil {
		attrs["port_range_max"] = *s.portMax
	}
	if s.description != "" {
		attrs["description"] = s.description
	}
	if s.project != "" {
		attrs["project_id"] = s.project
	}
	project := s.project
	if project == "" {
		project = callerProject(c)
	}
	gid, err := groupRes.FindIDIn(ctx, c, s.group, project)
	if err != nil {
		return nil, err
	}
	attrs["security_group_id"] = gid
	if s.remoteGroup != "" {
		rid, err := groupRes.FindIDIn(ctx, c, s.remoteGroup, project)
		if err != nil {
			return nil, fmt.Errorf("remote group: %w", err)
		}
		attrs["remote_group_id"] = rid
	}
	if s.remoteAG != "" {
		rid, err := addressGroupRes.FindID(ctx, c, s.remoteAG)
		if err != nil {
			return nil, fmt.Errorf("remote address group: %w", err)
		}
		attrs["remote_address_group_id"] = rid
	}
	return attrs, nil
}

func (a *app) ruleCreate() *cobra.Command {
	var (
		protocol, dstPort, remoteIP, remoteGroup, remoteAG, ethertype string
		icmpType, icmpCode                                            int
		description, project                                          string
		dir                                                           boolPair
	)
	cmd := a.printingCommand("create [flags] GROUP", "Create a security group rule", exactArgs(1, "GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		s := ruleSpec{group: args[0], direction: "ingress", remoteIP: remoteIP, remoteGroup: remoteGroup, remoteAG: remoteAG,
			description: description, project: project, anyRemoteIP: true}
		if dir.off {
			s.direction = "egress"
		}
		var err error
		if s.protocol, err = normProtocol("protocol", protocol); err != nil {
			return err
		}
		if ethertype != "" {
			if s.ethertype, err = normEthertype(ethertype); err != nil {
				return err
			}
		}
		changed := cmd.Flags().Changed
		isICMP := s.protocol == "icmp" || s.protocol == "ipv6-icmp" || s.protocol == "icmpv6" || s.protocol == "1" || s.protocol == "58"
		if dstPort != "" {
			if s.protocol != "tcp" && s.protocol != "udp" && s.protocol != "sctp" && s.protocol != "udplite" && s.protocol != "dccp" && s.protocol != "6" && s.protocol != "17" && s.protocol != "132" {
				return usagef("--dst-port needs --protocol tcp, udp, sctp, dccp or udplite")
			}
			lo, hi, err := parsePortRange("dst-port", dstPort)
			if err != nil {
				return err
			}
			s.portMin, s.portMax = &lo, &hi
		}
		if changed("icmp-type") || changed("icmp-code") {
			if !isICMP {
				return usagef("--icmp-type and --icmp-code need --protocol icmp or ipv6-icmp")
			}
			if changed("icmp-code") && !changed("icmp-type") {
				return usagef("--icmp-code needs --icmp-type")
			}
			if icmpType < 0 || icmpType > 255 || icmpCode < 0 || icmpCode > 255 {
				return usagef("--icmp-type and --icmp-code are 0-255")
			}
			s.portMin = &icmpType
			if changed("icmp-code") {
				s.portMax = &icmpCode
			}
		}
		attrs, err := s.attrs(ctx, c)
		if err != nil {
			return err
		}
		return createAndShow(ctx, c, cmd, o, ruleRes, attrs, tagFlags{})
	})
	f := cmd.Flags()
	f.StringVar(&protocol, "protocol", "", "IP protocol: tcp, udp, icmp, vrrp, 112, any, ... (default any)")
	f.StringVar(&dstPort, "dst-port", "", "destination port or range N:M (tcp, udp, ...)")
	f.IntVar(&icmpType, "icmp-type", 0, "ICMP type")
	f.IntVar(&icmpCode, "icmp-code", 0, "ICMP code")
	f.StringVar(&remoteIP, "remote-ip", "", "remote CIDR (default: the whole family, unless a remote group is given)")
	f.StringVar(&remoteGroup, "remote-group", "", "remote security group (name or ID)")
	f.StringVar(&remoteAG, "remote-address-group", "", "remote address group (name or ID)")
	f.StringVar(&ethertype, "ethertype", "", "IPv4 or IPv6 (default: the family of --remote-ip, else IPv4)")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&project, "project", "", "owning project (ID; admin only)")
	dir.add(cmd, "ingress", "egress", "")
	f.Lookup("ingress").Usage = "rule for incoming traffic (default)"
	f.Lookup("egress").Usage = "rule for outgoing traffic"
	cmd.MarkFlagsMutuallyExclusive("remote-ip", "remote-group", "remote-address-group")
	return cmd
}
