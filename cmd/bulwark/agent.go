package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bulwark-net/bulwark/internal/agent"
	"github.com/bulwark-net/bulwark/internal/firewall/bridgefilter"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/spf13/cobra"
)

func agentCmd() *cobra.Command {
	var server, host, backend, netns string
	var once, allowNoBrNf, linkFilter bool
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
			agent.TuneMemory()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			client, err := osclient.Network(ctx, osclient.Options{URL: server})
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
			var bf agent.BridgeFilter
			if linkFilter {
				if _, err := exec.LookPath("nft"); err != nil {
					return fmt.Errorf("refusing to run: nft not found (install nftables) for the link-layer checks; --bridge-filter=false runs without them")
				}
				bf = &bridgefilter.Syncer{NFT: bridgefilter.NewCommand(netns)}
			}
			a := agent.New(agent.Config{Host: host, Client: client, Applier: ap, Devices: devices, Log: log, BridgeFilter: bf,
				Pruner:  &iptables.Conntrack{NetNS: netns},
				Configs: map[string]any{"backend": backend, "br_netfilter": brnf == nil, "netns": netns, "bridge_filter": linkFilter}})
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
	f.BoolVar(&linkFilter, "bridge-filter", true, "check source MACs, ARP senders, ND targets and VLAN tags of VM frames (nftables table bridge bulwark)")
	f.BoolVar(&allowNoBrNf, "allow-no-br-netfilter", false, "run even though bridged traffic bypasses iptables (rules then protect nothing bridged)")
	return cmd
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
