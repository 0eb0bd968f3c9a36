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
		a.networkList(), a.showCmd("show", "NETWORK", "Show a network", networkRes, showFields(networkRes)),
		a.networkCreate(), a.networkSet(),
		a.unsetCmd("NETWORK", "Remove tags from a network", networkRes, nil, nil), a.deleteCmd("NETWORK", "Delete networks", networkRes))
}

func (a *app) networkList() *cobra.Command {
	var (
		filter nameProjectFilter
		long   bool
		share  boolPair
	)
	cmd := a.printingCommand("list", "List networks", noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string, o output.Options) error {
		q := filter.query()
		if share.on || share.off {
			q["shared"] = []string{map[bool]string{true: "true", false: "false"}[share.on]}
		}
		return listAndPrint(ctx, c, cmd, o, networkRes, q, longOr(long, networkColumns, networkLongColumns))
	})
	filter.add(cmd, "networks")
	cmd.Flags().BoolVar(&long, "long", false, "more columns")
	share.add(cmd, "share", "no-share", "only shared / only unshared networks")
	return cmd
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
	setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
	n.admin.set(attrs, "admin_state_up")
	n.share.set(attrs, "shared")
	n.portSecurity.set(attrs, "port_security_enabled")
	return attrs
}

func (a *app) networkCreate() *cobra.Command {
	var (
		n       networkFlags
		project string
	)
	cmd := a.printingCommand("create [flags] NAME", "Create a network", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		attrs := n.attrs(cmd)
		attrs["name"] = args[0]
		setNonEmpty(attrs, map[string]string{"project_id": project})
		return createAndShow(ctx, c, cmd, o, networkRes, attrs, n.tags)
	})
	n.add(cmd, false)
	cmd.Flags().StringVar(&project, "project", "", "owning project (ID; admin only)")
	return cmd
}

func (a *app) networkSet() *cobra.Command {
	var n networkFlags
	cmd := a.setCmd("NETWORK", "Change a network", networkRes, &n.tags, func(_ context.Context, _ *gophercloud.ServiceClient, cmd *cobra.Command, _ object) (map[string]any, error) {
		return n.attrs(cmd), nil
	})
	n.add(cmd, true)
	return cmd
}
