package cli

import (
	"context"
	"slices"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/spf13/cobra"
)

// Tags: --tag, --no-tag and --all-tag, applied after a create or update
// (the API takes them on their own URL).

// tagFlags are --tag/--no-tag (create, set) and --tag/--all-tag (unset).
type tagFlags struct {
	tags  []string
	clear bool // --no-tag on set, --all-tag on unset
}

func (t *tagFlags) addSet(cmd *cobra.Command, withClear bool) {
	cmd.Flags().StringArrayVar(&t.tags, "tag", nil, "tag to add (repeatable)")
	if withClear {
		cmd.Flags().BoolVar(&t.clear, "no-tag", false, "remove every tag first")
	}
}

func (t *tagFlags) addUnset(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&t.tags, "tag", nil, "tag to remove (repeatable)")
	cmd.Flags().BoolVar(&t.clear, "all-tag", false, "remove every tag")
}

// applySet adds the tags (after clearing them with --no-tag).
func (t *tagFlags) applySet(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object) error {
	return t.apply(ctx, c, r, obj, func(cur []string) []string {
		next := []string{}
		if !t.clear {
			next = append(next, cur...)
		}
		return appendUnique(next, t.tags...)
	})
}

// applyUnset removes the tags (all with --all-tag).
func (t *tagFlags) applyUnset(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object) error {
	return t.apply(ctx, c, r, obj, func(cur []string) []string {
		next := []string{}
		if !t.clear {
			for _, tag := range cur {
				if !slices.Contains(t.tags, tag) {
					next = append(next, tag)
				}
			}
		}
		return next
	})
}

// apply replaces obj's tags with what next makes of them, when the flags
// name any; it writes only when something changes.
func (t *tagFlags) apply(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object, next func(cur []string) []string) error {
	if len(t.tags) == 0 && !t.clear {
		return nil
	}
	cur := strList(obj["tags"])
	return replaceTags(ctx, c, r, str(obj["id"]), cur, next(cur))
}

func replaceTags(ctx context.Context, c *gophercloud.ServiceClient, r *resource, id string, cur, next []string) error {
	if slices.Equal(cur, next) {
		return nil
	}
	_, err := attributestags.ReplaceAll(ctx, c, r.plural, id, attributestags.ReplaceAllOpts{Tags: next}).Extract()
	if err != nil {
		return errorf("set tags of %s %s: %w", r.key, id, apiError(err))
	}
	return nil
}

// reread fetches obj again after a tag change so that show output is current.
func reread(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object, changed bool) (object, error) {
	if !changed {
		return obj, nil
	}
	return r.Get(ctx, c, str(obj["id"]))
}
