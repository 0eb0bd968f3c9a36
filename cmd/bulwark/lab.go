package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/lab"
	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/spf13/cobra"
)

func init() { registered = append(registered, labCmd) }

// labCmd is `bulwark lab`: the keepalived HA scenario in network
// namespaces on this machine (internal/lab).
func labCmd() *cobra.Command {
	var o lab.Options
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run the keepalived HA scenario on this machine: namespaces, a bridge, the agent, real keepalived",
		Long: `bulwark lab builds, inside network namespaces it creates (never touching the root namespace's
firewall, addresses or routes), a compute host with a Linux bridge and a bulwark agent, two VMs
running keepalived for the VIP ` + lab.VIP + `, and a client; the ports, the group and the rules
are made through the Bulwark API. Needs root. Files go to --dir (default var/lab/NAME).`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Name, "name", "demo", "lab name (1-16 lower-case letters and digits); namespaces are bwlab-NAME-*")
	pf.StringVar(&o.Dir, "dir", "", "lab directory: state, configs, pid files, logs (default var/lab/NAME)")
	pf.StringVar(&o.Server, "server", osclient.DefaultURL, "Bulwark server to use if one answers there (OS_* credentials if set); otherwise the lab starts its own")
	pf.BoolVar(&o.Private, "private-server", false, "always start the lab's own noauth server")

	up := &cobra.Command{
		Use:   "up",
		Short: "Build the lab (or repair it) and leave the correct HA setup: VRRP allowed, the VIP a pair of both ports, one MASTER",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			start := time.Now()
			o.Out = cmd.OutOrStdout()
			l, err := lab.Up(ctx, o)
			if err != nil {
				return fmt.Errorf("%w\n(the lab stays as far as it got: 'bulwark lab status' shows it, 'bulwark lab down' removes it)", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s is up in %s\n\n", l.State.Name, time.Since(start).Round(100*time.Millisecond))
			s, err := l.Status(ctx)
			if err != nil {
				return err
			}
			s.Print(cmd.OutOrStdout())
			return nil
		},
	}

	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show who holds the VIP (keepalived's state and the VM addresses), the VRRP adverts seen, and whether the client reaches the VIP",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			l, err := lab.Open(ctx, o)
			if err != nil {
				return err
			}
			s, err := l.Status(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			s.Print(cmd.OutOrStdout())
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var yes bool
	story := &cobra.Command{
		Use:   "story",
		Short: "Walk through the six steps of the keepalived story, one at a time (Enter between steps)",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			o.Out = out
			l, err := lab.Open(ctx, o)
			if err != nil {
				return err
			}
			st, err := lab.NewStory(ctx, l)
			if err != nil {
				return err
			}
			defer st.Close()
			in := bufio.NewReader(cmd.InOrStdin())
			start := time.Now()
			for i, step := range st.Steps() {
				fmt.Fprintf(out, "\n== Step %d: %s ==\n%s\n", i+1, step.Title, step.Why)
				if !yes {
					fmt.Fprint(out, "[Enter to run this step] ")
					if _, err := in.ReadString('\n'); err != nil && err != io.EOF {
						return err
					}
				}
				t0 := time.Now()
				if err := step.Run(ctx); err != nil {
					return fmt.Errorf("step %d (%s): %w", i+1, step.Title, err)
				}
				fmt.Fprintf(out, "step %d done in %s\n", i+1, time.Since(t0).Round(100*time.Millisecond))
			}
			fmt.Fprintf(out, "\nThe story took %s. keepalived01 is stopped and has no address pair now;\n"+
				"'bulwark lab up' puts the HA setup back, 'bulwark lab down' removes the lab.\n", time.Since(start).Round(100*time.Millisecond))
			return nil
		},
	}
	story.Flags().BoolVarP(&yes, "yes", "y", false, "run every step without waiting for Enter")

	down := &cobra.Command{
		Use:   "down",
		Short: "Remove everything the lab made (also after a crash): API objects, processes, namespaces, files",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			o.Out = cmd.OutOrStdout()
			if err := lab.Down(ctx, o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s is down\n", o.Name)
			return nil
		},
	}
	cmd.AddCommand(up, status, story, down)
	return cmd
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
