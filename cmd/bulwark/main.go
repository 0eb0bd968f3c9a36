// Command bulwark is the one Bulwark binary: the API server now, the
// agent, the lab and the client verbs as they land.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// registered holds the constructors of verbs that live in their own files
// (client verbs, doctor, lab): each file appends in its init, so adding a
// verb never edits this file.
var registered []func() *cobra.Command

func main() {
	root := &cobra.Command{
		Use:           "bulwark",
		Short:         "Neutron-compatible security groups, port security and allowed address pairs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd(), agentCmd(), traceCmd())
	for _, mk := range registered {
		root.AddCommand(mk())
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bulwark:", err)
		os.Exit(exitCode(err))
	}
}
