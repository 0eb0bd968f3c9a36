package cli

import (
	"context"
	"net/netip"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/addressgroups"
	"github.com/spf13/cobra"
)

var addressGroupColumns = []column{attr("ID", "id"), attr("Name", "name"), attr("Description", "description"),
	attr("Project", "project_id"), attr("Addresses", "addresses")}

func (a *app) addressGroupCmd(use string) *cobra.Command {
	return group(use, "Address groups: list, show, create, set, unset, delete", nil,
		a.listCmd("List address groups", "address groups", addressGroupRes, addressGroupColumns),
		a.showCmd("show", "ADDRESS_GROUP", "Show an address group", addressGroupRes, showFields(addressGroupRes)),
		a.agCreate(), a.agSet(), a.agUnset(),
		a.deleteCmd("ADDRESS_GROUP", "Delete address groups", addressGroupRes))
}

// checkAddresses rejects what is neither an address nor a CIDR before
// anything is sent, and writes a bare address as the host CIDR the API
// requires (10.0.0.5 → 10.0.0.5/32), as the openstack CLI does.
func checkAddresses(addrs []string) error {
	for i, s := range addrs {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return usagef("--address %q is not an IP address or CIDR", s)
		}
		addrs[i] = netip.PrefixFrom(a, a.BitLen()).String()
	}
	return nil
}

func (a *app) agCreate() *cobra.Command {
	var (
		addrs                []string
		description, project string
	)
	cmd := a.printingCommand("create [--address IP/CIDR]... NAME", "Create an address group", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		if err := checkAddresses(addrs); err != nil {
			return err
		}
		attrs := map[string]any{"name": args[0], "addresses": append([]string{}, addrs...)}
		setChanged(cmd, attrs, map[string]string{"description": "description"})
		setNonEmpty(attrs, map[string]string{"project_id": project})
		return createAndShow(ctx, c, cmd, o, addressGroupRes, attrs, tagFlags{})
	})
	cmd.Flags().StringArrayVar(&addrs, "address", nil, "IP address or CIDR (repeatable)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&project, "project", "", "owning project (ID; admin only)")
	return cmd
}

func (a *app) agSet() *cobra.Command {
	var (
		name, description string
		addrs             []string
	)
	cmd := a.command("set [flags] ADDRESS_GROUP", "Rename an address group or add addresses to it", exactArgs(1, "ADDRESS_GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := checkAddresses(addrs); err != nil {
			return err
		}
		g, err := addressGroupRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		id := str(g["id"])
		attrs := map[string]any{}
		setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
		if _, err := updateIfAny(ctx, c, addressGroupRes, g, attrs); err != nil {
			return err
		}
		if len(addrs) > 0 {
			_, err := addressgroups.AddAddresses(ctx, c, id, addressgroups.UpdateAddressesOpts{Addresses: addrs}).Extract()
			if err != nil {
				return apiError(err)
			}
		}
		return nil
	})
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringArrayVar(&addrs, "address", nil, "IP address or CIDR to add (repeatable)")
	return cmd
}

func (a *app) agUnset() *cobra.Command {
	var addrs []string
	cmd := a.command("unset --address IP/CIDR... ADDRESS_GROUP", "Remove addresses from an address group", exactArgs(1, "ADDRESS_GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := checkAddresses(addrs); err != nil {
			return err
		}
		g, err := addressGroupRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		if len(addrs) == 0 {
			return nil
		}
		_, err = addressgroups.RemoveAddresses(ctx, c, str(g["id"]), addressgroups.UpdateAddressesOpts{Addresses: addrs}).Extract()
		return apiError(err)
	})
	cmd.Flags().StringArrayVar(&addrs, "address", nil, "IP address or CIDR to remove (repeatable)")
	return cmd
}
