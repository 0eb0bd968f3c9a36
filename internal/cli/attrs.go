package cli

import (
	"context"
	"slices"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// Request bodies built from flags, and the lists they hold.

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

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

// setIDOf puts under key the ID of the resource of kind r that nameOrID
// names (a create's network_id).
func setIDOf(ctx context.Context, c *gophercloud.ServiceClient, attrs map[string]any, key string, r *resource, nameOrID string) error {
	id, err := r.FindID(ctx, c, nameOrID)
	if err != nil {
		return err
	}
	attrs[key] = id
	return nil
}

// setNonEmpty puts each string value that is not empty into attrs under
// its key.
func setNonEmpty(attrs map[string]any, valueOfKey map[string]string) {
	for k, v := range valueOfKey {
		if v != "" {
			attrs[k] = v
		}
	}
}

// setChanged copies the string flags the command line gave into attrs,
// each under its API key.
func setChanged(cmd *cobra.Command, attrs map[string]any, keyOfFlag map[string]string) {
	for flag, key := range keyOfFlag {
		if cmd.Flags().Changed(flag) {
			attrs[key] = cmd.Flags().Lookup(flag).Value.String()
		}
	}
}
