package lab

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Status is what `bulwark lab status` shows (and prints with --json).
type Status struct {
	Name        string `json:"name"`
	VIP         string `json:"vip"`
	ClientNetns string `json:"client_netns"`
	HostNetns   string `json:"host_netns"`
	Host        string `json:"host"`
	Server      string `json:"server"`
	// Master is the one VM keepalived reports as MASTER (null when none or
	// when both claim it: SplitBrain).
	Master       *string  `json:"master"`
	SplitBrain   bool     `json:"split_brain"`
	VIPHolders   []string `json:"vip_holders"`
	VIPReachable bool     `json:"vip_reachable"`
	AgentPID     *int     `json:"agent_pid"`
	// VRRPAccepted counts the VRRP packets the agent's security-group
	// rules accepted (iptables counters in the host namespace).
	VRRPAccepted uint64     `json:"vrrp_accepted_by_rules"`
	VMs          []VMStatus `json:"vms"`
}

// VMStatus is one keepalived node.
type VMStatus struct {
	Name          string   `json:"name"`
	Netns         string   `json:"netns"`
	PortID        string   `json:"port_id"`
	IP            string   `json:"ip"`
	MAC           string   `json:"mac"`
	VRRPState     string   `json:"vrrp_state"`
	KeepalivedPID *int     `json:"keepalived_pid"`
	HoldsVIP      bool     `json:"holds_vip"`
	PortStatus    string   `json:"port_status,omitempty"`
	PortSecurity  *bool    `json:"port_security_enabled,omitempty"`
	AddressPairs  []string `json:"allowed_address_pairs"`
	// Adverts counted inside the VM: sent by it, received from its peer.
	AdvertsSent     uint64 `json:"vrrp_adverts_sent"`
	AdvertsFromPeer uint64 `json:"vrrp_adverts_from_peer"`
}

// Status observes the lab now.
func (l *Lab) Status(ctx context.Context) (*Status, error) {
	st := l.State
	s := &Status{Name: st.Name, VIP: VIP, ClientNetns: st.ClientNS, HostNetns: st.HostNS, Host: st.Host, Server: st.Server,
		VIPHolders: []string{}, VMs: []VMStatus{}}
	if pid := readPID(l.agentPIDFile()); aliveAs(pid, l.agentMarker()) {
		s.AgentPID = &pid
	}
	if t, err := filterTable(ctx, st.HostNS); err == nil {
		s.VRRPAccepted = t.vrrpAccepted()
	}
	for _, v := range st.VMs {
		vs := VMStatus{Name: v.Name, Netns: v.NetNS, PortID: v.PortID, IP: v.IP, MAC: v.MAC, VRRPState: l.vrrpState(v.Name),
			HoldsVIP: holdsVIP(ctx, v.NetNS), AddressPairs: []string{}}
		if pid := l.KeepalivedPID(v.Name); pid != 0 {
			vs.KeepalivedPID = &pid
		} else if vs.VRRPState != "UNKNOWN" {
			vs.VRRPState = "STOPPED"
		}
		vs.AdvertsSent, vs.AdvertsFromPeer, _ = vrrpCounts(ctx, v.NetNS)
		if l.nc != nil && v.PortID != "" {
			if p, err := l.getPort(ctx, v.PortID); err == nil {
				vs.PortStatus = p.Status
				ps := p.PortSecurityEnabled
				vs.PortSecurity = &ps
				for _, pr := range p.AllowedAddressPairs {
					vs.AddressPairs = append(vs.AddressPairs, pr.IPAddress)
				}
			}
		}
		if vs.HoldsVIP {
			s.VIPHolders = append(s.VIPHolders, v.Name)
		}
		s.VMs = append(s.VMs, vs)
	}
	var masters []string
	for _, v := range s.VMs {
		if v.VRRPState == "MASTER" {
			masters = append(masters, v.Name)
		}
	}
	if len(masters) == 1 {
		s.Master = &masters[0]
	}
	s.SplitBrain = len(masters) > 1
	s.VIPReachable = ping(ctx, st.ClientNS, VIP)
	return s, nil
}

// Print writes the status for people.
func (s *Status) Print(w io.Writer) {
	master := "none"
	if s.Master != nil {
		master = *s.Master
	}
	if s.SplitBrain {
		master = "SPLIT BRAIN (every node claims MASTER)"
	}
	holders := strings.Join(s.VIPHolders, ", ")
	if holders == "" {
		holders = "nobody"
	}
	reach := "NO"
	if s.VIPReachable {
		reach = "yes"
	}
	fmt.Fprintf(w, "lab %s (server %s, host %s in %s)\n", s.Name, s.Server, s.Host, s.HostNetns)
	fmt.Fprintf(w, "VIP %s: MASTER %s; address on %s; reachable from %s: %s\n", s.VIP, master, holders, s.ClientNetns, reach)
	agent := "NOT RUNNING"
	if s.AgentPID != nil {
		agent = fmt.Sprintf("pid %d", *s.AgentPID)
	}
	fmt.Fprintf(w, "agent: %s; VRRP packets accepted by the security-group rules: %d\n", agent, s.VRRPAccepted)
	fmt.Fprintf(w, "%-13s %-15s %-10s %-10s %-8s %-9s %-14s %s\n", "VM", "IP", "VRRP", "keepalived", "has VIP", "port sec", "address pairs", "adverts sent/from peer")
	for _, v := range s.VMs {
		pid := "-"
		if v.KeepalivedPID != nil {
			pid = fmt.Sprint(*v.KeepalivedPID)
		}
		ps := "?"
		if v.PortSecurity != nil {
			ps = map[bool]string{true: "on", false: "OFF"}[*v.PortSecurity]
		}
		pairs := strings.Join(v.AddressPairs, ",")
		if pairs == "" {
			pairs = "-"
		}
		fmt.Fprintf(w, "%-13s %-15s %-10s %-10s %-8v %-9s %-14s %d/%d\n", v.Name, v.IP, v.VRRPState, pid, v.HoldsVIP, ps, pairs, v.AdvertsSent, v.AdvertsFromPeer)
	}
}
