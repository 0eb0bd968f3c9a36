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
		a.agList(), a.agShow(), a.agCreate(), a.agSet(), a.agUnset(), a.agDelete())
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

func (a *app) agList() *cobra.Command {
	var (
		o             output.Options
		name, project string
	)
	cmd := a.command("list", "List address groups", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		q := query{}
		if name != "" {
			q["name"] = []string{name}
		}
		if project != "" {
			q["project_id"] = []string{project}
		}
		ags, err := addressGroupRes.List(ctx, c, q)
		if err != nil {
			return err
		}
		return printList(cmd.OutOrStdout(), o, addressGroupColumns, ags)
	})
	cmd.Flags().StringVar(&name, "name", "", "only address groups with this name")
	cmd.Flags().StringVar(&project, "project", "", "only address groups of this project (ID)")
	return formatted(cmd, &o)
}

func (a *app) agShow() *cobra.Command {
	var o output.Options
	cmd := a.command("show ADDRESS_GROUP", "Show an address group", exactArgs(1, "ADDRESS_GROUP"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		g, err := addressGroupRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		return showObject(cmd.OutOrStdout(), o, addressGroupRes, g)
	})
	return formatted(cmd, &o)
}

func (a *app) agCreate() *cobra.Command {
	var (
		o                    output.Options
		addrs                []string
		description, project string
	)
	cmd := a.command("create [--address IP/CIDR]... NAME", "Create an address group", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		if err := checkAddresses(addrs); err != nil {
			return err
		}
		attrs := map[string]any{"name": args[0], "addresses": append([]string{}, addrs...)}
		if cmd.Flags().Changed("description") {
			attrs["description"] = description
		}
		if project != "" {
			attrs["project_id"] = project
		}
		g, err := addressGroupRes.Create(ctx, c, attrs)
		if err != nil {
			return err
		}
		return showObject(cmd.OutOrStdout(), o, addressGroupRes, g)
	})
	cmd.Flags().StringArrayVar(&addrs, "address", nil, "IP address or CIDR (repeatable)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&project, "project", "", "owning project (ID; admin only)")
	return formatted(cmd, &o)
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
		if cmd.Flags().Changed("name") {
			attrs["name"] = name
		}
		if cmd.Flags().Changed("description") {
			attrs["description"] = description
		}
		if len(attrs) > 0 {
			if _, err := addressGroupRes.Update(ctx, c, id, attrs); err != nil {
				return err
			}
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

func (a *app) agDelete() *cobra.Command {
	return a.command("delete ADDRESS_GROUP [ADDRESS_GROUP ...]", "Delete address groups", minArgs(1, "ADDRESS_GROUP [ADDRESS_GROUP ...]"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		return deleteAll(ctx, c, cmd.ErrOrStderr(), addressGroupRes, args)
	})
}
