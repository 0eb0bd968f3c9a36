// Command bulwark is the one Bulwark binary: the API server now, the
// agent, the lab and the client verbs as they land.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "bulwark",
		Short:         "Neutron-compatible security groups, port security and allowed address pairs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd(), agentCmd(), traceCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bulwark:", err)
		os.Exit(1)
	}
}
