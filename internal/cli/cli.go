// Package cli holds Bulwark's client verbs: the openstack CLI's resource
// commands (network, subnet, port, security group and rule, address group)
// and the neutron CLI spellings that runbooks contain, all on gophercloud
// with credentials from internal/osclient.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is the state shared by every client verb of one invocation.
type app struct {
	opts   osclient.Options
	client *gophercloud.ServiceClient
}

// Commands returns the top-level client verbs, to be added to the root
// command.
func Commands() []*cobra.Command {
	a := &app{}
	cmds := []*cobra.Command{
		a.networkCmd(), a.subnetCmd(), a.portCmd(),
		a.securityGroupCmd("security-group"), a.ruleCmd("security-group-rule"), a.addressGroupCmd("address-group"),
		a.securityCmd(), a.addressCmd(),
	}
	cmds = append(cmds, a.neutronCmds()...)
	for _, c := range cmds {
		a.addGlobalFlags(c)
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &Error{Code: ExitUsage, Err: err} })
	}
	return cmds
}

// addGlobalFlags adds the openstack CLI's connection flags to a top-level
// verb (they then work anywhere after the verb's name).
func (a *app) addGlobalFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVar(&a.opts.Cloud, "os-cloud", "", "cloud name in clouds.yaml (default $OS_CLOUD)")
	f.StringVar(&a.opts.Region, "os-region-name", "", "region (default $OS_REGION_NAME)")
	f.StringVar(&a.opts.URL, "os-url", "", "networking endpoint: overrides the catalog; without credentials the noauth server (default $BULWARK_URL, else "+osclient.DefaultURL+")")
	f.StringVar(&a.opts.URL, "url", "", "same as --os-url")
	c.SetGlobalNormalizationFunc(normalizeFlag)
}

// normalizeFlag lets the neutron CLI's underscore spellings
// (--port_security_enabled) name the same flags as the dashed ones.
func normalizeFlag(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
}

// connect authenticates once per invocation.
func (a *app) connect(ctx context.Context) (*gophercloud.ServiceClient, error) {
	if a.client != nil {
		return a.client, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	o := a.opts
	if o.URL == "" {
		o.URL = envURL()
	}
	c, err := osclient.Network(ctx, o)
	if err != nil {
		var e *Error
		if ae := apiError(err); errors.As(ae, &e) {
			return nil, &Error{Code: e.Code, Err: fmt.Errorf("authentication failed: %w", e.Err)}
		}
		return nil, err
	}
	a.client = c
	return c, nil
}

// command builds a leaf verb whose RunE gets a connected client.
func (a *app) command(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			c, err := a.connect(ctx)
			if err != nil {
				return err
			}
			return run(ctx, c, cmd, args)
		},
	}
}

// group is a verb that only holds subcommands.
func group(use, short string, aliases []string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Aliases: aliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return usagef("%q needs a subcommand: %s", cmd.CommandPath(), subNames(cmd))
		}}
	c.AddCommand(subs...)
	return c
}

func subNames(c *cobra.Command) string {
	var n []string
	for _, s := range c.Commands() {
		n = append(n, s.Name())
	}
	return strings.Join(n, ", ")
}

// Argument checks that fail with a usage error (exit 2).
func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments); see --help", cmd.CommandPath(), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s takes %s; see --help", cmd.CommandPath(), names)
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments (got %q)", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// envURL is the endpoint override from the environment.
func envURL() string { return os.Getenv("BULWARK_URL") }
