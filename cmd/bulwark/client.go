package main

import (
	"github.com/bulwark-net/bulwark/internal/cli"
	"github.com/spf13/cobra"
)

// The client verbs (openstack and neutron CLI spellings) live in
// internal/cli; each is a top-level verb of the binary.
func init() {
	for _, c := range cli.Commands() {
		registered = append(registered, func() *cobra.Command { return c })
	}
}

// exitCode is the process exit status for an error from any verb
// (docs/cli.md: 1 error, 2 usage, 3 not found, 4 conflict, 5 auth).
func exitCode(err error) int { return cli.ExitCode(err) }
