package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/agent"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/spf13/cobra"
)

func agentCmd() *cobra.Command {
	var server, host, backend, netns string
	var once, allowNoBrNf bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Enforce the security groups of the ports bound to this host with iptables and ipset",
		Long: `Runs on a compute host (as root). Follows the server's watch feed for --host and keeps
iptables/ipset rules on the host's tap devices in line with the ports bound to it.
Against a keystone-mode server it authenticates with the standard OS_* variables (an admin);
against a noauth server --server is all it needs.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if backend != "iptables" {
				return fmt.Errorf("--backend %q is not supported (iptables)", backend)
			}
			if host == "" {
				h, err := os.Hostname()
				if err != nil {
					return err
				}
				host = h
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			client, err := networkClient(ctx, server)
			if err != nil {
				return err
			}
			ap := &iptables.Applier{Log: log}
			readFile := os.ReadFile
			var devices agent.Devices = agent.SysDevices{}
			if netns != "" {
				ap.Exec = iptables.InNetns(netns)
				readFile = func(path string) ([]byte, error) {
					return exec.CommandContext(ctx, "ip", "netns", "exec", netns, "cat", path).Output()
				}
				devices = netnsDevices(netns)
			}
			brnf := agent.BridgeNetfilter(readFile)
			if brnf != nil && !allowNoBrNf {
				return fmt.Errorf("refusing to run: %w", brnf)
			}
			a := agent.New(agent.Config{Host: host, Client: client, Applier: ap, Devices: devices, Log: log,
				Pruner:  &iptables.Conntrack{NetNS: netns},
				Configs: map[string]any{"backend": backend, "br_netfilter": brnf == nil, "netns": netns}})
			if once {
				rev, err := a.SyncOnce(ctx)
				if err == nil {
					log.Info("applied", "host", host, "revision", rev)
				}
				return err
			}
			return a.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "Bulwark server URL (default: the network endpoint of the OS_* catalog, else http://127.0.0.1:9696)")
	f.StringVar(&host, "host", "", "this host's name as in binding:host_id (default: hostname)")
	f.StringVar(&backend, "backend", "iptables", "dataplane backend")
	f.StringVar(&netns, "netns", "", "apply inside this network namespace (the lab and tests)")
	f.BoolVar(&once, "once", false, "sync once and exit")
	f.BoolVar(&allowNoBrNf, "allow-no-br-netfilter", false, "run even though bridged traffic bypasses iptables (rules then protect nothing bridged)")
	return cmd
}

// networkClient authenticates from OS_* when OS_AUTH_URL is set, else
// talks to a noauth server.
func networkClient(ctx context.Context, server string) (*gophercloud.ServiceClient, error) {
	if os.Getenv("OS_AUTH_URL") != "" {
		opts, err := authOptionsFromEnv()
		if err != nil {
			return nil, err
		}
		provider, err := openstack.AuthenticatedClient(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		sc, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")})
		if err != nil {
			return nil, err
		}
		if server != "" {
			sc.Endpoint = strings.TrimRight(server, "/") + "/"
			sc.ResourceBase = sc.Endpoint + "v2.0/"
		}
		return sc, nil
	}
	if server == "" {
		server = "http://127.0.0.1:9696"
	}
	base := strings.TrimRight(server, "/") + "/"
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 90 * time.Second}}
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: base, ResourceBase: base + "v2.0/"}, nil
}

// authOptionsFromEnv reads the variables an openrc sets, including the
// user and project domains (gophercloud's own reader knows only
// OS_DOMAIN_*).
func authOptionsFromEnv() (gophercloud.AuthOptions, error) {
	env := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: env("OS_AUTH_URL"),
		Username:         env("OS_USERNAME"),
		UserID:           env("OS_USER_ID", "OS_USERID"),
		Password:         env("OS_PASSWORD"),
		DomainName:       env("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		DomainID:         env("OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"),
		AllowReauth:      true, // renew the token before it expires
	}
	if ao.Username == "" && ao.UserID == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_USERNAME or OS_USER_ID is needed")
	}
	if ao.Password == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_PASSWORD is needed")
	}
	if ao.Username != "" && ao.DomainName == "" && ao.DomainID == "" {
		ao.DomainID = "default"
	}
	scope := &gophercloud.AuthScope{ProjectID: env("OS_PROJECT_ID", "OS_TENANT_ID"), ProjectName: env("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		DomainName: env("OS_PROJECT_DOMAIN_NAME"), DomainID: env("OS_PROJECT_DOMAIN_ID")}
	if scope.ProjectID == "" && scope.ProjectName == "" {
		return ao, fmt.Errorf("credentials from OS_*: OS_PROJECT_NAME or OS_PROJECT_ID is needed (an admin project)")
	}
	if scope.ProjectName != "" && scope.DomainName == "" && scope.DomainID == "" {
		scope.DomainName, scope.DomainID = ao.DomainName, ao.DomainID
	}
	ao.Scope = scope
	return ao, nil
}

type netnsDevices string

func (n netnsDevices) Exists(name string) bool {
	return exec.Command("ip", "-n", string(n), "link", "show", "dev", name).Run() == nil
}

// Bridge reads "master BRIDGE" from ip link's answer.
func (n netnsDevices) Bridge(name string) string {
	out, err := exec.Command("ip", "-n", string(n), "-o", "link", "show", "dev", name).Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "master" {
			return f[i+1]
		}
	}
	return ""
}
