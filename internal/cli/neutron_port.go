package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// The neutron CLI's port-create and port-update, whose address pair
// values may stand among the positional words.

// neutronPortFlags are what port-create and port-update share.
type neutronPortFlags struct {
	name, description, deviceID, deviceOwner, mac, host string
	fixedIPs, groups, pairs                             []string
	noGroups, noPairs                                   bool
	portSec, adminUp                                    optBool
}

func (p *neutronPortFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.name, "name", "", "name")
	f.StringVar(&p.description, "description", "", "description")
	f.StringVar(&p.deviceID, "device-id", "", "device ID")
	f.StringVar(&p.deviceOwner, "device-owner", "", "device owner")
	f.StringVar(&p.host, "binding:host-id", "", "binding host (also --binding:host_id)")
	f.StringArrayVar(&p.fixedIPs, "fixed-ip", nil, "subnet_id=SUBNET,ip_address=IP (repeatable)")
	f.StringArrayVar(&p.groups, "security-group", nil, "security group, name or ID (repeatable)")
	f.BoolVar(&p.noGroups, "no-security-groups", false, "no security groups")
	f.StringArrayVar(&p.pairs, "allowed-address-pairs", nil, "type=dict list=true ip_address=IP[,mac_address=MAC] [ip_address=...]; action=clear empties them")
	f.BoolVar(&p.noPairs, "no-allowed-address-pairs", false, "no allowed address pairs")
	f.StringVar(&p.mac, "mac-address", "", "MAC address")
	p.portSec.add(cmd, "port-security-enabled", "port security")
}

// neutronPairTokens takes the address pair values out of the positional
// arguments: the neutron CLI reads `--allowed-address-pairs type=dict
// list=true ip_address=X ip_address=Y`, which pflag sees as one flag value
// and then positional words.
func neutronPairTokens(args []string) (positional, tokens []string) {
	for _, a := range args {
		k, _, ok := strings.Cut(a, "=")
		if ok && slices.Contains([]string{"type", "list", "action", "ip_address", "ip-address", "mac_address", "mac-address"}, strings.SplitN(k, ",", 2)[0]) {
			tokens = append(tokens, a)
			continue
		}
		positional = append(positional, a)
	}
	return positional, tokens
}

// neutronPairs reads the tokens of --allowed-address-pairs; clear is
// action=clear.
func neutronPairs(tokens []string) (pairs []any, clear bool, err error) {
	pairs = []any{}
	for _, t := range tokens {
		switch strings.ReplaceAll(strings.ToLower(t), " ", "") {
		case "type=dict", "list=true":
			continue
		case "action=clear":
			clear = true
			continue
		}
		pr, err := parsePair("allowed-address-pairs", t)
		if err != nil {
			return nil, false, err
		}
		pairs = append(pairs, pr.body())
	}
	if clear && len(pairs) > 0 {
		return nil, false, usagef("--allowed-address-pairs action=clear takes no addresses")
	}
	return pairs, clear, nil
}

// neutronPortAttrs builds the body from the flags and pairTokens, the
// address pair values found among the positional words.
func (a *app) neutronPortAttrs(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, p *neutronPortFlags, pairTokens []string) (map[string]any, error) {
	attrs := map[string]any{}
	changed := cmd.Flags().Changed
	setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description", "device-id": "device_id",
		"device-owner": "device_owner", "mac-address": "mac_address", "binding:host-id": "binding:host_id"})
	if err := setOptBools(cmd, attrs, map[string]*optBool{"port-security-enabled": &p.portSec, "admin-state-up": &p.adminUp}); err != nil {
		return nil, err
	}
	if len(pairTokens) > 0 && !changed("allowed-address-pairs") {
		return nil, usagef("%q: address pair values need --allowed-address-pairs before them", pairTokens[0])
	}
	if changed("allowed-address-pairs") {
		if p.noPairs {
			return nil, usagef("--allowed-address-pairs and --no-allowed-address-pairs exclude each other")
		}
		pairs, _, err := neutronPairs(append(slices.Clone(p.pairs), pairTokens...))
		if err != nil {
			return nil, err
		}
		attrs["allowed_address_pairs"] = pairs
	} else if p.noPairs {
		attrs["allowed_address_pairs"] = []any{}
	}
	if p.noGroups && len(p.groups) > 0 {
		return nil, usagef("--security-group and --no-security-groups exclude each other")
	}
	if p.noGroups {
		attrs["security_groups"] = []string{}
	}
	if len(p.groups) > 0 {
		ids, err := appendGroupIDs(ctx, c, []string{}, p.groups, callerProject(c))
		if err != nil {
			return nil, err
		}
		attrs["security_groups"] = ids
	}
	if len(p.fixedIPs) > 0 {
		fips, err := a.appendFixedIPs(ctx, c, []any{}, p.fixedIPs)
		if err != nil {
			return nil, err
		}
		attrs["fixed_ips"] = fips
	}
	return attrs, nil
}

// neutronPortBody reads the words after port-create or port-update: one
// positional word (arg names it: NETWORK, PORT) among the address pair
// values, and the body the flags and those values make.
func (a *app) neutronPortBody(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, p *neutronPortFlags, args []string, arg string) (string, map[string]any, error) {
	positional, tokens := neutronPairTokens(args)
	if len(positional) != 1 {
		return "", nil, usagef("%s takes one %s (got %q)", cmd.Name(), arg, strings.Join(positional, " "))
	}
	attrs, err := a.neutronPortAttrs(ctx, c, cmd, p, tokens)
	return positional[0], attrs, err
}

func (a *app) nPortCreate() *cobra.Command {
	var (
		p         neutronPortFlags
		adminDown bool
		proj      string
	)
	cmd := a.printingCommand("port-create NETWORK", "Create a port (neutron CLI spelling)", cobra.ArbitraryArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		network, attrs, err := a.neutronPortBody(ctx, c, cmd, &p, args, "NETWORK")
		if err != nil {
			return err
		}
		if adminDown {
			attrs["admin_state_up"] = false
		}
		setNonEmpty(attrs, map[string]string{"project_id": proj})
		if err := setIDOf(ctx, c, attrs, "network_id", networkRes, network); err != nil {
			return err
		}
		return nCreate(ctx, c, cmd, o, portRes, attrs)
	})
	p.add(cmd)
	cmd.Flags().BoolVar(&adminDown, "admin-state-down", false, "create it administratively down")
	cmd.Flags().StringVar(&proj, "tenant-id", "", "owning project (admin only)")
	return cmd
}

func (a *app) nPortUpdate() *cobra.Command {
	var p neutronPortFlags
	cmd := a.command("port-update PORT", "Change a port (neutron CLI spelling; lists given replace the port's)", cobra.ArbitraryArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		port, attrs, err := a.neutronPortBody(ctx, c, cmd, &p, args, "PORT")
		if err != nil {
			return err
		}
		return nUpdate(ctx, c, cmd, portRes, port, attrs)
	})
	p.add(cmd)
	p.adminUp.add(cmd, "admin-state-up", "administrative state")
	return cmd
}
