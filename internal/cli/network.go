package cli

import (
	"context"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

var networkColumns = []column{attr("ID", "id"), attr("Name", "name"), attr("Subnets", "subnets")}

var networkLongColumns = []column{attr("ID", "id"), attr("Name", "name"), attr("Status", "status"), attr("Project", "project_id"),
	column{"State", func(o object) any { return adminState(o["admin_state_up"]) }}, attr("Shared", "shared"), attr("Subnets", "subnets"),
	attr("Port Security", "port_security_enabled"), attr("Tags", "tags")}

func adminState(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return "UP"
		}
		return "DOWN"
	}
	return v
}

func (a *app) networkCmd() *cobra.Command {
	return group("network", "Networks: list, show, create, set, unset, delete", nil,
		a.networkList(), a.networkShow(), a.networkCreate(), a.networkSet(), a.networkUnset(), a.networkDelete())
}

func (a *app) networkList() *cobra.Command {
	var (
		o             output.Options
		name, project string
		long          bool
		share         boolPair
	)
	cmd := a.command("list", "List networks", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string) error {
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
		if share.on || share.off {
			q["shared"] = []string{map[bool]string{true: "true", false: "false"}[share.on]}
		}
		nets, err := networkRes.List(ctx, c, q)
		if err != nil {
			return err
		}
		cols := networkColumns
		if long {
			cols = networkLongColumns
		}
		return printList(cmd.OutOrStdout(), o, cols, nets)
	})
	cmd.Flags().StringVar(&name, "name", "", "only networks with this name")
	cmd.Flags().StringVar(&project, "project", "", "only networks of this project (ID)")
	cmd.Flags().BoolVar(&long, "long", false, "more columns")
	share.add(cmd, "share", "no-share", "only shared / only unshared networks")
	return formatted(cmd, &o)
}

func (a *app) networkShow() *cobra.Command {
	var o output.Options
	cmd := a.command("show NETWORK", "Show a network", exactArgs(1, "NETWORK"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		n, err := networkRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		return showObject(cmd.OutOrStdout(), o, networkRes, n)
	})
	return formatted(cmd, &o)
}

type networkFlags struct {
	name, description          string
	admin, share, portSecurity boolPair
	tags                       tagFlags
}

func (n *networkFlags) add(cmd *cobra.Command, set bool) {
	if set {
		cmd.Flags().StringVar(&n.name, "name", "", "new name")
	}
	cmd.Flags().StringVar(&n.description, "description", "", "description")
	n.admin.add(cmd, "enable", "disable", "the network (admin_state_up)")
	n.share.add(cmd, "share", "no-share", "sharing with every project")
	n.portSecurity.add(cmd, "enable-port-security", "disable-port-security", "port security for the network's new ports")
	n.tags.addSet(cmd, set)
}

func (n *networkFlags) attrs(cmd *cobra.Command) map[string]any {
	attrs := map[string]any{}
	if cmd.Flags().Changed("name") {
		attrs["name"] = n.name
	}
	if cmd.Flags().Changed("description") {
		attrs["description"] = n.description
	}
	n.admin.set(attrs, "admin_state_up")
	n.share.set(attrs, "shared")
	n.portSecurity.set(attrs, "port_security_enabled")
	return attrs
}

func (a *app) networkCreate() *cobra.Command {
	var (
		o       output.Options
		n       networkFlags
		project string
	)
	cmd := a.command("create [flags] NAME", "Create a network", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		attrs := n.attrs(cmd)
		attrs["name"] = args[0]
		if project != "" {
			attrs["project_id"] = project
		}
		net, err := networkRes.Create(ctx, c, attrs)
		if err != nil {
			return err
		}
		if err := n.tags.applySet(ctx, c, networkRes, net); err != nil {
			return err
		}
		if net, err = reread(ctx, c, networkRes, net, len(n.tags.tags) > 0); err != nil {
			return err
		}
		return showObject(cmd.OutOrStdout(), o, networkRes, net)
	})
	n.add(cmd, false)
	cmd.Flags().StringVar(&project, "project", "", "owning project (ID; admin only)")
	return formatted(cmd, &o)
}

func (a *app) networkSet() *cobra.Command {
	var n networkFlags
	cmd := a.command("set [flags] NETWORK", "Change a network", exactArgs(1, "NETWORK"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		net, err := networkRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		if attrs := n.attrs(cmd); len(attrs) > 0 {
			if net, err = networkRes.Update(ctx, c, str(net["id"]), attrs); err != nil {
				return err
			}
		}
		return n.tags.applySet(ctx, c, networkRes, net)
	})
	n.add(cmd, true)
	return cmd
}

func (a *app) networkUnset() *cobra.Command {
	var tags tagFlags
	cmd := a.command("unset [flags] NETWORK", "Remove tags from a network", exactArgs(1, "NETWORK"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		net, err := networkRes.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		return tags.applyUnset(ctx, c, networkRes, net)
	})
	tags.addUnset(cmd)
	return cmd
}

func (a *app) networkDelete() *cobra.Command {
	return a.command("delete NETWORK [NETWORK ...]", "Delete networks", minArgs(1, "NETWORK [NETWORK ...]"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		return deleteAll(ctx, c, cmd.ErrOrStderr(), networkRes, args)
	})
}
