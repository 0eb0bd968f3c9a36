package cli

import (
	"context"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

var groupColumns = []column{attr("ID", "id"), attr("Name", "name"), attr("Description", "description"), attr("Project", "project_id"), attr("Tags", "tags")}

// securityCmd and addressCmd give the openstack CLI's spaced spellings:
// `security group rule create`, `address group list`.
func (a *app) securityCmd() *cobra.Command {
	return group("security", "Security groups and rules, spelled as the openstack CLI does (security group ..., security group rule ...)", nil, a.securityGroupCmd("group"))
}

func (a *app) addressCmd() *cobra.Command {
	return group("address", "Address groups, spelled as the openstack CLI does (address group ...)", nil, a.addressGroupCmd("group"))
}

// securityGroupCmd is `security-group` or `security group`; its `rule`
// subcommand is the same as security-group-rule.
func (a *app) securityGroupCmd(use string) *cobra.Command {
	return group(use, "Security groups: list, show, create, set, unset, delete, and their rules", nil,
		a.listCmd("List security groups", "groups", groupRes, groupColumns),
		a.showCmd("show", "GROUP", "Show a security group with its rules", groupRes, showFields(groupRes)),
		a.groupCreate(), a.groupSet(),
		a.unsetCmd("GROUP", "Remove tags from a security group", groupRes, nil, nil), a.deleteCmd("GROUP", "Delete security groups", groupRes),
		a.ruleCmd("rule"))
}

func (a *app) groupCreate() *cobra.Command {
	var (
		description, project string
		stateful             boolPair
		tags                 tagFlags
	)
	cmd := a.printingCommand("create [flags] NAME", "Create a security group", exactArgs(1, "NAME"), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		attrs := map[string]any{"name": args[0]}
		setChanged(cmd, attrs, map[string]string{"description": "description"})
		setNonEmpty(attrs, map[string]string{"project_id": project})
		stateful.set(attrs, "stateful")
		return createAndShow(ctx, c, cmd, o, groupRes, attrs, tags)
	})
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&project, "project", "", "owning project (ID; admin only)")
	stateful.add(cmd, "stateful", "stateless", "connection tracking")
	tags.addSet(cmd, false)
	return cmd
}

func (a *app) groupSet() *cobra.Command {
	var (
		name, description string
		stateful          boolPair
		tags              tagFlags
	)
	cmd := a.setCmd("GROUP", "Change a security group", groupRes, &tags, func(_ context.Context, _ *gophercloud.ServiceClient, cmd *cobra.Command, _ object) (map[string]any, error) {
		attrs := map[string]any{}
		setChanged(cmd, attrs, map[string]string{"name": "name", "description": "description"})
		stateful.set(attrs, "stateful")
		return attrs, nil
	})
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "description")
	stateful.add(cmd, "stateful", "stateless", "connection tracking")
	tags.addSet(cmd, true)
	return cmd
}
