package cli

import (
	"context"
	"io"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// List tables: a kind's columns and the printing of a list under them.

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

// listAndPrint prints the resources of kind r that q selects under cols.
func listAndPrint(ctx context.Context, c *gophercloud.ServiceClient, cmd *cobra.Command, o output.Options, r *resource, q query, cols []column) error {
	objs, err := r.List(ctx, c, q)
	if err != nil {
		return err
	}
	return printList(cmd.OutOrStdout(), o, cols, objs)
}

// longOr is longCols with --long, else cols.
func longOr(long bool, cols, longCols []column) []column {
	if long {
		return longCols
	}
	return cols
}
