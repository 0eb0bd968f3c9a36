package cli

import (
	"context"
	"io"
	"os"
	"slices"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/spf13/cobra"
)

// envURL is the endpoint override from the environment.
func envURL() string { return os.Getenv("BULWARK_URL") }

// column is one column of a list table.
type column struct {
	name  string
	value func(object) any
}

// attr is a column showing one attribute as is.
func attr(name, key string) column {
	return column{name: name, value: func(o object) any { return o[key] }}
}

func printList(w io.Writer, o output.Options, cols []column, objs []object) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	rows := make([][]any, len(objs))
	for i, obj := range objs {
		row := make([]any, len(cols))
		for j, c := range cols {
			row[j] = c.value(obj)
		}
		rows[i] = row
	}
	return o.PrintList(w, names, rows)
}

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

// applySet adds the tags (after clearing them with --no-tag); it writes
// only when something changes.
func (t *tagFlags) applySet(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object) error {
	if len(t.tags) == 0 && !t.clear {
		return nil
	}
	cur := strList(obj["tags"])
	next := []string{}
	if !t.clear {
		next = append(next, cur...)
	}
	for _, tag := range t.tags {
		if !slices.Contains(next, tag) {
			next = append(next, tag)
		}
	}
	return replaceTags(ctx, c, r, str(obj["id"]), cur, next)
}

// applyUnset removes the tags (all with --all-tag).
func (t *tagFlags) applyUnset(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object) error {
	if len(t.tags) == 0 && !t.clear {
		return nil
	}
	cur := strList(obj["tags"])
	next := []string{}
	if !t.clear {
		for _, tag := range cur {
			if !slices.Contains(t.tags, tag) {
				next = append(next, tag)
			}
		}
	}
	return replaceTags(ctx, c, r, str(obj["id"]), cur, next)
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

// boolPair is an --enable-x/--disable-x (or --x/--no-x) pair of flags.
type boolPair struct{ on, off bool }

func (b *boolPair) add(cmd *cobra.Command, on, off, what string) {
	cmd.Flags().BoolVar(&b.on, on, false, "enable "+what)
	cmd.Flags().BoolVar(&b.off, off, false, "disable "+what)
	cmd.MarkFlagsMutuallyExclusive(on, off)
}

// set puts the choice into attrs under key, if one was made.
func (b boolPair) set(attrs map[string]any, key string) {
	switch {
	case b.on:
		attrs[key] = true
	case b.off:
		attrs[key] = false
	}
}

// appendUnique appends the items of add not yet in list.
func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// withoutFirst is a copy of list less its first element that match
// accepts; found is false, and list returned as is, when none does. Every
// removal leaves a non-nil list, so the body holds [] and not null.
func withoutFirst[T any](list []T, match func(T) bool) (_ []T, found bool) {
	i := slices.IndexFunc(list, match)
	if i < 0 {
		return list, false
	}
	return slices.Delete(slices.Clone(list), i, i+1), true
}

func strList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			out = append(out, str(e))
		}
	}
	return out
}

// reread fetches obj again after a tag change so that show output is current.
func reread(ctx context.Context, c *gophercloud.ServiceClient, r *resource, obj object, changed bool) (object, error) {
	if !changed {
		return obj, nil
	}
	return r.Get(ctx, c, str(obj["id"]))
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}
