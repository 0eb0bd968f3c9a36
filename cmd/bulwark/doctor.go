package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/doctor"
	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/spf13/cobra"
)

// doctorProblems is the exit status of `doctor` when it found an error;
// 0 means no error (warnings may remain), 1 that the cloud could not be
// queried or the arguments were wrong.
const doctorProblems = 3

// doctorExit ends the process with doctorProblems; tests replace it.
var doctorExit = os.Exit

func init() { registered = append(registered, doctorCmd) }

func doctorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check an HA setup against the cloud's ports and security groups",
	}
	cmd.AddCommand(doctorVIPCmd())
	return cmd
}

type doctorVIPOptions struct {
	network, format, cloud, region, url string
	ports                               []string
	timeout                             time.Duration
}

func doctorVIPCmd() *cobra.Command {
	var o doctorVIPOptions
	cmd := &cobra.Command{
		Use:   "vip VIP",
		Short: "Explain what keeps a keepalived/VRRP virtual IP from working, with the commands that fix it",
		Long: `Looks at the ports that share VIP — the ones given with --ports, else every port that
holds VIP in its allowed address pairs (or as a VM's fixed IP) — with their security groups,
rules, port security, networks and subnets, and reports what breaks failover: VRRP not
allowed both ways (split brain), the VIP missing from a peer's address pairs, port security
off, over-wide address pairs, peers on different networks, a VIP outside the subnet or
held by another port, fewer than two peers. Each finding carries the openstack commands
that fix it, to be run in the order printed.

It only reads (GET), so a reader role on any OpenStack cloud is enough. Credentials as for
the openstack CLI: --os-cloud / $OS_CLOUD (clouds.yaml), else the OS_* variables, else a
noauth Bulwark server at --os-url ($BULWARK_URL).

Exit status: 0 no error found (warnings may remain), 3 errors found, 1 the cloud could
not be queried.`,
		Example: `  bulwark doctor vip 172.16.200.251
  bulwark doctor vip 172.16.200.251 --network net1 --ports keepalived01,keepalived02 -f json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := runDoctorVIP(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.format == "json" {
				err = doctor.PrintJSON(out, rep)
			} else {
				err = doctor.PrintText(out, rep)
			}
			if err != nil {
				return err
			}
			if rep.HasErrors() {
				doctorExit(doctorProblems)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.network, "network", "", "only peers on this network (name or id)")
	f.StringSliceVar(&o.ports, "ports", nil, "the peer ports, comma separated (names or ids); default: every port holding the VIP")
	f.StringVarP(&o.format, "format", "f", "table", "output: table or json")
	f.StringVar(&o.cloud, "os-cloud", "", "clouds.yaml entry (default $OS_CLOUD)")
	f.StringVar(&o.region, "os-region-name", "", "region (default $OS_REGION_NAME)")
	f.StringVar(&o.url, "os-url", "", "Networking endpoint: overrides the catalog; without credentials a noauth server (default $BULWARK_URL, else "+osclient.DefaultURL+")")
	f.StringVar(&o.url, "url", "", "same as --os-url")
	f.DurationVar(&o.timeout, "timeout", 90*time.Second, "bound on each request")
	return cmd
}

func runDoctorVIP(ctx context.Context, vip string, o doctorVIPOptions) (doctor.Report, error) {
	switch o.format {
	case "table", "json":
	default:
		return doctor.Report{}, fmt.Errorf("-f %q: choose table or json", o.format)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	url := o.url
	if url == "" {
		url = os.Getenv("BULWARK_URL") // as the client verbs
	}
	nc, err := osclient.Network(ctx, osclient.Options{Cloud: o.cloud, URL: url, Region: o.region, Timeout: o.timeout})
	if err != nil {
		return doctor.Report{}, err
	}
	var peers []string
	for _, p := range o.ports {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	in, err := doctor.Fetch(ctx, nc, doctor.Query{VIP: vip, Network: o.network, Ports: peers})
	if err != nil {
		return doctor.Report{}, err
	}
	return doctor.Analyze(in)
}
