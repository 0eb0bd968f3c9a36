package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// The verbs the resource kinds share, built once for any kind (list, show,
// set, unset, delete), and the create and update steps their verbs take.

// printingCommand is command for a verb that prints (-f/-c): a bad -f is
// a usage error, found once connected and before anything is read.
func (a *app) printingCommand(use, short string, args cobra.PositionalArgs,
	run func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error) *cobra.Command {
	var o output.Options
	cmd := a.command(use, short, args, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if err := o.Validate(); err != nil {
			return usagef("%v", err)
		}
		return run(ctx, c, cmd, args, o)
	})
	output.AddFlags(cmd.Flags(), &o)
	return cmd
}

// nameProjectFilter is the --name and --project filter of a list verb.
type nameProjectFilter struct{ name, project string }

// add registers the flags; what is the plural in their help ("networks").
func (f *nameProjectFilter) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.name, "name", "", "only "+what+" with this name")
	cmd.Flags().StringVar(&f.project, "project", "", "only "+what+" of this project (ID)")
}

func (f nameProjectFilter) query() query {
	q := query{}
	q.setNonEmpty(map[string]string{"name": f.name, "project_id": f.project})
	return q
}

// listCmd is `X list [--name N] [--project P]` for a kind with no other
// filters; what names them in the flags' help ("groups").
func (a *app) listCmd(short, what string, r *resource, cols []column) *cobra.Command {
	var filter nameProjectFilter
	cmd := a.printingCommand("list", short, noArgs, func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, _ []string, o output.Options) error {
		return listAndPrint(ctx, c, cmd, o, r, filter.query(), cols)
	})
	filter.add(cmd, what)
	return cmd
}

// showCmd is `X show ARG`: the resource found by name or ID, printed by
// show (the openstack spelling renames fields, the neutron one does not).
func (a *app) showCmd(use, arg, short string, r *resource, show func(cmd *cobra.Command, o output.Options, obj object) error) *cobra.Command {
	return a.printingCommand(use+" "+arg, short, exactArgs(1, arg), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string, o output.Options) error {
		obj, err := r.Find(ctx, c, args[0])
		if err != nil {
			return err
		}
		return show(cmd, o, obj)
	})
}

// attrsOf computes a set or unset verb's request body from its flags and
// the resource as it is.
type attrsOf func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, cur object) (map[string]any, error)

// setCmd is `X set [flags] ARG`: the attributes, then the tags added; the
// caller registers the flags.
func (a *app) setCmd(arg, short string, r *resource, tags *tagFlags, attrs attrsOf) *cobra.Command {
	return a.command("set [flags] "+arg, short, exactArgs(1, arg), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		obj, err := findAndUpdate(ctx, c, cmd, r, args[0], attrs)
		if err != nil {
			return err
		}
		return tags.applySet(ctx, c, r, obj)
	})
}

// unsetCmd is `X unset [flags] ARG` with --tag/--all-tag: check finds the
// flags' own mistakes before any request, remaining computes the
// attributes without what the flags name; nil for a kind with only tags to
// remove. The caller registers the other flags.
func (a *app) unsetCmd(arg, short string, r *resource, check func() error, remaining attrsOf) *cobra.Command {
	var tags tagFlags
	cmd := a.command("unset [flags] "+arg, short, exactArgs(1, arg), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		obj, err := findAndUpdate(ctx, c, cmd, r, args[0], remaining)
		if err != nil {
			return err
		}
		return tags.applyUnset(ctx, c, r, obj)
	})
	tags.addUnset(cmd)
	return cmd
}

// deleteCmd is `X delete ARG [ARG ...]`.
func (a *app) deleteCmd(arg, short string, r *resource) *cobra.Command {
	many := arg + " [" + arg + " ...]"
	return a.command("delete "+many, short, minArgs(1, many), func(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, args []string) error {
		return deleteAll(ctx, c, cmd.ErrOrStderr(), r, args)
	})
}

// createAndShow creates the resource, tags it (the API takes tags only on
// a resource that exists) and prints it as it then is.
func createAndShow(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, o output.Options, r *resource, attrs map[string]any, tags tagFlags) error {
	obj, err := r.Create(ctx, c, attrs)
	if err != nil {
		return err
	}
	if err := tags.applySet(ctx, c, r, obj); err != nil {
		return err
	}
	if obj, err = reread(ctx, c, r, obj, len(tags.tags) > 0); err != nil {
		return err
	}
	return showObject(cmd.OutOrStdout(), o, r, obj)
}

// findAndUpdate finds the resource nameOrID names and puts on it what
// attrs computes (nothing when attrs is nil), returning it as it then is.
func findAndUpdate(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, r *resource, nameOrID string, attrs attrsOf) (object, error) {
	obj, err := r.Find(ctx, c, nameOrID)
	if err != nil || attrs == nil {
		return obj, err
	}
	body, err := attrs(ctx, c, cmd, obj)
	if err != nil {
		return nil, err
	}
	return updateIfAny(ctx, c, r, obj, body)
}

// updateIfAny puts attrs on obj when there are any and returns the
// resource as it then is.
func updateIfAny(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object, attrs map[string]any) (object, error) {
	if len(attrs) == 0 {
		return obj, nil
	}
	return r.Update(ctx, c, str(obj["id"]), attrs)
}

// deleteAll deletes each named resource, going on after a failure as the
// openstack CLI does, and fails if any failed.
func deleteAll(ctx context.Context, c *gophercloud.ServiceClient, errw io.Writer, r *resource, names []string) error {
	failed, code := 0, ExitOK
	for _, n := range names {
		id, err := r.FindID(ctx, c, n)
		if err == nil {
			err = r.Delete(ctx, c, id)
		}
		if err != nil {
			failed++
			if code == ExitOK || code == ExitCode(err) {
				code = ExitCode(err)
			} else {
				code = ExitError
			}
			if len(names) > 1 {
				fmt.Fprintf(errw, "Failed to delete %s with name or ID '%s': %v\n", strings.ToLower(r.kind), n, err)
			} else {
				return err
			}
		}
	}
	if failed > 0 {
		return &Error{Code: code, Err: fmt.Errorf("%d of %d %ss failed to delete.", failed, len(names), strings.ToLower(r.kind))}
	}
	return nil
}
