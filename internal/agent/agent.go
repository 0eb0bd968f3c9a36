// Package agent is the compute-host side of Bulwark: it follows the
// server's watch feed for one host, compiles what that host must enforce
// (firewall.Compile, pure), hands it to the applier (the only code that
// touches the kernel), reports port status and heartbeats.
//
// The loop is deliberately simple and fail-closed: on start, on a gap and
// on any reported change it cannot patch in (see applyChanges) it takes a
// fresh snapshot of the host's state; either way it compiles the whole
// ruleset (memoized) and lets the applier write only the chains and sets
// that differ. If the server is unreachable the last applied rules stay in
// place and the agent retries with backoff.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/bridgefilter"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/gophercloud/gophercloud/v2"
)

// Applier is what the agent needs from a backend.
type Applier interface {
	Apply(ctx context.Context, rs *firewall.Ruleset) error
	Zones(ctx context.Context) (map[string]uint16, error)
}

// BridgeFilter is what the agent needs from the link-layer filter
// (*bridgefilter.Syncer).
type BridgeFilter interface {
	Sync(ctx context.Context, f *bridgefilter.Filter) error
}

// Devices reports which VM-facing devices exist on this host and which
// bridge each is plugged into.
type Devices interface {
	Exists(name string) bool
	// Bridge returns the bridge a device is enslaved to ("" if none or
	// unknown).
	Bridge(name string) string
}

// Config configures an Agent.
type Config struct {
	Host    string
	Client  *gophercloud.ServiceClient // the network endpoint (root URL)
	Applier Applier
	Devices Devices
	Pruner  Pruner // nil: connections are not ended on rule removal
	// BridgeFilter keeps the link-layer checks (source MAC, ARP, ND
	// target, VLAN tags) of the filtered ports; nil: none.
	BridgeFilter BridgeFilter
	Log          *slog.Logger
	Heartbeat    time.Duration // default 30 s
	WatchWait    time.Duration // long-poll timeout, default 25 s
	Configs      map[string]any
	RetryFloor   time.Duration // first backoff step, default 500 ms
}

// Agent runs the sync loop for one host.
type Agent struct {
	cfg      Config
	revision int64
	status   map[string]string // port id -> status last reported
	started  time.Time
	// compiler is kept across syncs: it reuses the chains of everything
	// that did not change.
	compiler firewall.Compiler
	// snap is the state last applied; most changes are applied by
	// patching it (see applyChanges). hs is what it compiled to.
	snap *Snapshot
	hs   *firewall.HostState
	// memberPatches counts batches applied as member-list changes only
	// (applyMembers, some member list changed): what tests check the cheap
	// path was taken.
	memberPatches atomic.Int64
}

// New returns an Agent.
func New(cfg Config) *Agent {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.WatchWait <= 0 {
		cfg.WatchWait = 25 * time.Second
	}
	if cfg.RetryFloor <= 0 {
		cfg.RetryFloor = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Agent{cfg: cfg, status: map[string]string{}, started: time.Now().UTC()}
}

// Snapshot is the server's /v2.0/bulwark/hosts/{host}/state answer.
type Snapshot struct {
	Revision       int64                    `json:"revision"`
	Ports          []model.Port             `json:"ports"`
	SecurityGroups []model.SecurityGroup    `json:"security_groups"`
	RemoteGroups   map[string]SnapshotAddrs `json:"remote_groups"`
	AddressGroups  []model.AddressGroup     `json:"address_groups"`
	NetworkPorts   []model.Port             `json:"network_ports"`
}

// SnapshotAddrs are a remote group's member addresses.
type SnapshotAddrs struct {
	IPv4 []string `json:"ipv4"`
	IPv6 []string `json:"ipv6"`
}

// list is the member list of HostState.Members: both families.
func (m SnapshotAddrs) list() []string {
	switch {
	case len(m.IPv6) == 0:
		return m.IPv4 // shared: nobody writes into members
	case len(m.IPv4) == 0:
		return m.IPv6
	default:
		return append(slices.Clip(m.IPv4), m.IPv6...)
	}
}

func (m SnapshotAddrs) equal(o SnapshotAddrs) bool {
	return slices.Equal(m.IPv4, o.IPv4) && slices.Equal(m.IPv6, o.IPv6)
}

// HostState turns a snapshot into the compiler's input. Members come from
// the server (which sees ports on every host), not from the local ports.
func (s *Snapshot) HostState(host string, zones map[string]uint16, bridges map[string]string) *firewall.HostState {
	members := make(map[string][]string, len(s.RemoteGroups))
	for id, m := range s.RemoteGroups {
		members[id] = m.list()
	}
	inv := &firewall.Inventory{Ports: s.Ports, SecurityGroups: s.SecurityGroups, AddressGroups: s.AddressGroups,
		NetworkPorts: s.NetworkPorts, Members: members}
	return firewall.BuildHostState(host, inv, bridges, zones)
}

func (a *Agent) url(parts ...string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = url.PathEscape(p)
	}
	return a.cfg.Client.ServiceURL(append([]string{"bulwark"}, esc...)...)
}

// Snapshot fetches the host's state.
func (a *Agent) Snapshot(ctx context.Context) (*Snapshot, error) {
	var s Snapshot
	_, err := a.cfg.Client.Get(ctx, a.url("hosts", a.cfg.Host, "state"), &s, nil)
	if err != nil {
		return nil, fmt.Errorf("agent: snapshot: %w", err)
	}
	return &s, nil
}

// SyncOnce takes a snapshot, compiles it, applies it and reports port
// status. It returns the snapshot's revision.
func (a *Agent) SyncOnce(ctx context.Context) (int64, error) {
	snap, err := a.Snapshot(ctx)
	if err != nil {
		return 0, err
	}
	if err := a.applySnapshot(ctx, snap); err != nil {
		return 0, err
	}
	return snap.Revision, nil
}

// applySnapshot makes the host enforce snap: compile, apply, link-layer
// filter, end the connections that lost their allowance, port status.
func (a *Agent) applySnapshot(ctx context.Context, snap *Snapshot) error {
	zones, err := a.cfg.Applier.Zones(ctx)
	if err != nil {
		return fmt.Errorf("agent: read zones: %w", err)
	}
	hs := snap.HostState(a.cfg.Host, zones, a.bridges(snap))
	rs := a.compiler.Compile(hs)
	before := writes(a.cfg.Applier)
	if err := a.cfg.Applier.Apply(ctx, rs); err != nil {
		a.snap, a.hs = nil, nil
		return fmt.Errorf("agent: apply: %w", err)
	}
	a.snap, a.hs = snap, hs
	if a.cfg.BridgeFilter != nil {
		if err := a.cfg.BridgeFilter.Sync(ctx, bridgefilter.Build(hs)); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	if a.cfg.Pruner != nil && (before < 0 || writes(a.cfg.Applier) != before) {
		if zones, err = a.cfg.Applier.Zones(ctx); err == nil {
			n, err := a.cfg.Pruner.Prune(ctx, keepFunc(hs, rs, zones))
			if err != nil {
				a.cfg.Log.Warn("ending disallowed connections failed", "err", err)
			} else if n > 0 {
				a.cfg.Log.Info("ended connections the new rules no longer allow", "count", n)
			}
		}
	}
	a.reportStatus(ctx, snap)
	return nil
}

// applyMembers makes the host enforce snap, which differs from the
// snapshot last applied only in the member lists of the remote groups
// listed: only those groups' sets are rebuilt and written
// (Compiler.UpdateMembers), so the cost does not grow with the host's
// ports. The link-layer filter and the ports' status depend on nothing
// that changed; connections a removed member had are ended.
func (a *Agent) applyMembers(ctx context.Context, snap *Snapshot, groups []string) error {
	hs := *a.hs
	hs.Members = maps.Clone(hs.Members)
	for _, id := range groups {
		hs.Members[id] = snap.RemoteGroups[id].list()
	}
	rs := a.compiler.UpdateMembers(&hs, groups)
	before := writes(a.cfg.Applier)
	if err := a.cfg.Applier.Apply(ctx, rs); err != nil {
		a.snap, a.hs = nil, nil
		return fmt.Errorf("agent: apply: %w", err)
	}
	a.snap, a.hs = snap, &hs
	if len(groups) > 0 {
		a.memberPatches.Add(1)
	}
	if a.cfg.Pruner != nil && (before < 0 || writes(a.cfg.Applier) != before) {
		if zones, err := a.cfg.Applier.Zones(ctx); err == nil {
			n, err := a.cfg.Pruner.Prune(ctx, keepFunc(&hs, rs, zones))
			if err != nil {
				a.cfg.Log.Warn("ending disallowed connections failed", "err", err)
			} else if n > 0 {
				a.cfg.Log.Info("ended connections the new rules no longer allow", "count", n)
			}
		}
	}
	return nil
}

// bridges finds, per network, the bridge its local tap devices are
// plugged into (the raw table's zone rules match on it).
func (a *Agent) bridges(snap *Snapshot) map[string]string {
	out := map[string]string{}
	if a.cfg.Devices == nil {
		return out
	}
	for _, p := range snap.Ports {
		if _, done := out[p.NetworkID]; done {
			continue
		}
		if br := a.cfg.Devices.Bridge(firewall.DeviceName(p.ID)); br != "" {
			out[p.NetworkID] = br
		}
	}
	return out
}

// reportStatus marks ports ACTIVE once their rules are in place and their
// device exists, DOWN when the device is gone.
func (a *Agent) reportStatus(ctx context.Context, snap *Snapshot) {
	for _, p := range snap.Ports {
		want := "DOWN"
		if a.cfg.Devices == nil || a.cfg.Devices.Exists(firewall.DeviceName(p.ID)) {
			want = "ACTIVE"
		}
		if p.Status == want || a.status[p.ID] == want {
			a.status[p.ID] = want
			continue
		}
		body := map[string]any{"status": want}
		_, err := a.cfg.Client.Put(ctx, a.url("hosts", a.cfg.Host, "ports", p.ID, "status"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
		if err != nil {
			a.cfg.Log.Warn("port status not reported", "port", p.ID, "status", want, "err", err)
			continue
		}
		a.status[p.ID] = want
	}
}

// heartbeat reports this agent; the answer says whether the server had
// it as down (then a full resync is due anyway).
func (a *Agent) heartbeat(ctx context.Context) error {
	body := map[string]any{"agent": map[string]any{"host": a.cfg.Host, "binary": "bulwark-agent",
		"configurations": a.cfg.Configs, "started_at": a.started.Format("2006-01-02 15:04:05")}}
	_, err := a.cfg.Client.Post(ctx, a.url("agents", "heartbeat"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200, 201}})
	return err
}

type watchAnswer struct {
	Revision  int64           `json:"revision"`
	Resync    bool            `json:"resync"`
	Changes   []watchedChange `json:"changes"`
	Documents *watchDocuments `json:"documents"`
}

// watchDocuments are the current documents of what the changes touched
// (service.WatchDocuments).
type watchDocuments struct {
	SecurityGroups []model.SecurityGroup    `json:"security_groups"`
	Ports          []model.Port             `json:"ports"`
	RemoteGroups   map[string]SnapshotAddrs `json:"remote_groups"`
}

// watchedChange is one change-log entry that concerns the host.
type watchedChange struct {
	Resource string `json:"resource"`
	ID       string `json:"id"`
	Op       string `json:"op"`
}

// watch long-polls for changes after since.
func (a *Agent) watch(ctx context.Context, since int64) (*watchAnswer, error) {
	// The long poll's length varies by ±20 %: a change that concerns every
	// host restarts every agent's poll at the same moment, and without
	// jitter their timeouts would all come back at the same moment too.
	wait := a.cfg.WatchWait.Seconds() * (0.8 + 0.4*rand.Float64())
	u := fmt.Sprintf("%s?host=%s&since=%d&timeout=%.1f", a.url("watch"), url.QueryEscape(a.cfg.Host), since, wait)
	var ans watchAnswer
	_, err := a.cfg.Client.Get(ctx, u, &ans, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		return nil, err
	}
	return &ans, nil
}

// applyChanges applies a batch of changes by patching the last snapshot
// with the documents the watch answer carries (the server reads them
// after the changes: see service.WatchDocuments), so that neither a rule
// change in a group used on every host nor a change of one port costs a
// re-read of the whole host. It handles:
//   - a security group this host enforces was updated or one of its rules
//     added or removed: the group's document replaces the old one;
//   - a port bound to this host created, updated, moved away or deleted;
//   - the members of a remote group changed: their addresses come along;
//   - a change of a port elsewhere that only moves remote-group members.
//
// It reports false when the batch needs a full snapshot instead: a
// document it needs is missing, a port uses a group or network the
// snapshot lacks, a rule names a remote group or address group whose
// members it lacks, a DHCP or router port changed, an address group
// changed, or any other kind of change; and always with a server that
// sends no documents.
func (a *Agent) applyChanges(ctx context.Context, ans *watchAnswer) (bool, error) {
	if a.snap == nil {
		return false, nil
	}
	if ans.Documents == nil {
		return false, nil // a server older than the documents
	}
	docs := ans.Documents
	next := *a.snap
	next.SecurityGroups = slices.Clone(a.snap.SecurityGroups)
	next.RemoteGroups = maps.Clone(a.snap.RemoteGroups)
	// The ports are copied only when one changes: a rule change on a
	// host of many ports should not copy them all.
	portsCopied := false
	copyPorts := func() {
		if !portsCopied {
			next.Ports, portsCopied = slices.Clone(next.Ports), true
		}
	}
	portDocs := map[string]*model.Port{}
	for i := range docs.Ports {
		portDocs[docs.Ports[i].ID] = &docs.Ports[i]
	}
	isServicePort := func(id string) bool {
		return slices.ContainsFunc(next.NetworkPorts, func(p model.Port) bool { return p.ID == id })
	}
	done := map[string]bool{}
	// onlyMembers: nothing but remote groups' member lists changed (a
	// port on another host came, went or changed its addresses).
	onlyMembers := a.hs != nil
	for _, c := range ans.Changes {
		if done[c.Resource+"/"+c.ID] {
			continue
		}
		done[c.Resource+"/"+c.ID] = true
		switch {
		case c.Resource == "security_group_rule":
			// its group's document is in the answer
			onlyMembers = false
		case c.Resource == "security_group" && c.Op == "update":
			onlyMembers = false
			if !slices.ContainsFunc(docs.SecurityGroups, func(g model.SecurityGroup) bool { return g.ID == c.ID }) {
				return false, nil
			}
		case c.Resource == "port":
			doc := portDocs[c.ID]
			if isServicePort(c.ID) || (doc != nil && model.IsNetworkServicePort(doc.DeviceOwner)) {
				return false, nil // the network's DHCP/router ports: rare, re-read
			}
			i := slices.IndexFunc(next.Ports, func(p model.Port) bool { return p.ID == c.ID })
			if ((doc != nil && doc.BindingHostID == a.cfg.Host) || i >= 0) && !(doc != nil && i >= 0 && onlyStatus(next.Ports[i], *doc)) {
				onlyMembers = false
			}
			switch {
			case doc != nil && doc.BindingHostID == a.cfg.Host:
				copyPorts()
				if i < 0 {
					next.Ports = append(next.Ports, *doc)
				} else {
					next.Ports[i] = *doc
				}
			case i >= 0:
				copyPorts()
				next.Ports = slices.Delete(next.Ports, i, i+1) // deleted or moved away
			}
		default:
			return false, nil
		}
	}
	for _, g := range docs.SecurityGroups {
		i := slices.IndexFunc(next.SecurityGroups, func(old model.SecurityGroup) bool { return old.ID == g.ID })
		if i < 0 {
			next.SecurityGroups = append(next.SecurityGroups, g)
			onlyMembers = false
		} else {
			if !reflect.DeepEqual(next.SecurityGroups[i], g) {
				onlyMembers = false
			}
			next.SecurityGroups[i] = g
		}
	}
	var changedMembers []string
	for id, m := range docs.RemoteGroups {
		if old, ok := next.RemoteGroups[id]; !ok {
			onlyMembers = false
		} else if !old.equal(m) {
			changedMembers = append(changedMembers, id)
		}
		next.RemoteGroups[id] = m
	}
	// The service ports of the networks the host used are in the
	// snapshot (possibly none); a network new to the host needs a read.
	knownNets := map[string]bool{}
	for _, p := range a.snap.Ports {
		knownNets[p.NetworkID] = true
	}
	if !next.trim(knownNets) {
		return false, nil
	}
	if onlyMembers {
		slices.Sort(changedMembers)
		return true, a.applyMembers(ctx, &next, changedMembers)
	}
	return true, a.applySnapshot(ctx, &next)
}

// onlyStatus reports whether a port document differs from the one
// applied only in what the firewall does not read: its status (the
// agent's own ACTIVE report coming back), revision and update time.
func onlyStatus(old, doc model.Port) bool {
	old.Status, old.RevisionNumber, old.UpdatedAt = doc.Status, doc.RevisionNumber, doc.UpdatedAt
	return reflect.DeepEqual(old, doc)
}

// trim makes a patched snapshot what the server would send for the same
// state: the groups of the host's ports, the remote groups and address
// groups their rules name, the service ports of their networks. It
// reports false when something the ports need is not in it (a group, a
// remote group's members, an address group, a network's service ports):
// then only a snapshot can tell.
func (s *Snapshot) trim(knownNets map[string]bool) bool {
	if !slices.IsSortedFunc(s.Ports, func(a, b model.Port) int { return strings.Compare(a.ID, b.ID) }) {
		s.Ports = slices.Clone(s.Ports)
		slices.SortFunc(s.Ports, func(a, b model.Port) int { return strings.Compare(a.ID, b.ID) })
	}
	groups, nets := map[string]bool{}, map[string]bool{}
	for _, p := range s.Ports {
		for _, g := range p.SecurityGroups {
			groups[g] = true
		}
		nets[p.NetworkID] = true
	}
	remotes, addrs := map[string]bool{}, map[string]bool{}
	kept := s.SecurityGroups[:0:0]
	for _, g := range s.SecurityGroups {
		if !groups[g.ID] {
			continue
		}
		delete(groups, g.ID)
		kept = append(kept, g)
		for _, r := range g.SecurityGroupRules {
			if r.RemoteGroupID != nil && *r.RemoteGroupID != "" {
				remotes[*r.RemoteGroupID] = true
			}
			if r.RemoteAddressGroupID != nil && *r.RemoteAddressGroupID != "" {
				addrs[*r.RemoteAddressGroupID] = true
			}
		}
	}
	if len(groups) > 0 {
		return false // a port uses a group the snapshot lacks
	}
	slices.SortFunc(kept, func(a, b model.SecurityGroup) int { return strings.Compare(a.ID, b.ID) })
	s.SecurityGroups = kept
	for id := range s.RemoteGroups {
		if !remotes[id] {
			delete(s.RemoteGroups, id)
		}
	}
	if len(s.RemoteGroups) != len(remotes) {
		return false
	}
	ags := s.AddressGroups[:0:0]
	for _, ag := range s.AddressGroups {
		if addrs[ag.ID] {
			ags = append(ags, ag)
		}
	}
	if len(ags) != len(addrs) {
		return false
	}
	s.AddressGroups = ags
	for n := range nets {
		if !knownNets[n] {
			return false
		}
	}
	svc := s.NetworkPorts[:0:0]
	for _, p := range s.NetworkPorts {
		if nets[p.NetworkID] {
			svc = append(svc, p)
		}
	}
	s.NetworkPorts = svc
	return true
}

// Run syncs, then follows the watch feed until ctx ends. Errors never
// remove rules: the last applied ruleset stays until a sync succeeds.
func (a *Agent) Run(ctx context.Context) error {
	backoff := a.cfg.RetryFloor
	needSync := true
	var lastBeat time.Time
	for ctx.Err() == nil {
		if time.Since(lastBeat) >= a.cfg.Heartbeat {
			if err := a.heartbeat(ctx); err != nil {
				a.cfg.Log.Warn("heartbeat failed", "err", err)
			} else {
				lastBeat = time.Now()
			}
		}
		var err error
		if needSync {
			var rev int64
			if rev, err = a.SyncOnce(ctx); err == nil {
				a.revision, needSync = rev, false
				a.cfg.Log.Info("synced", "host", a.cfg.Host, "revision", rev)
			}
		} else {
			var ans *watchAnswer
			if ans, err = a.watch(ctx, a.revision); err == nil {
				switch {
				case ans.Resync:
					needSync = true
				case len(ans.Changes) == 0:
					a.revision = ans.Revision
				default:
					var patched bool
					members := a.memberPatches.Load()
					if patched, err = a.applyChanges(ctx, ans); patched && err == nil {
						a.revision = ans.Revision
						a.cfg.Log.Info("applied changes without a snapshot", "host", a.cfg.Host, "revision", ans.Revision,
							"member_sets_only", a.memberPatches.Load() > members)
					} else {
						needSync = true // a failed patch is retried as a full sync
					}
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.cfg.Log.Warn("agent step failed; keeping the last rules", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = a.cfg.RetryFloor
	}
	return nil
}

// SysDevices checks /sys/class/net (of the agent's own network namespace).
type SysDevices struct{}

// Exists implements Devices.
func (SysDevices) Exists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// Bridge implements Devices.
func (SysDevices) Bridge(name string) string {
	target, err := os.Readlink("/sys/class/net/" + name + "/master")
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// BridgeNetfilter reports whether bridged IPv4 and IPv6 traffic is passed
// to iptables (br_netfilter loaded, bridge-nf-call-ip*tables = 1).
func BridgeNetfilter(readFile func(string) ([]byte, error)) error {
	for _, f := range []string{"/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"} {
		b, err := readFile(f)
		if err != nil {
			return fmt.Errorf("br_netfilter is not loaded (%s: %v): bridged traffic would bypass every rule; run 'modprobe br_netfilter'", f, err)
		}
		if strings.TrimSpace(string(b)) != "1" {
			return fmt.Errorf("%s is %q: bridged traffic would bypass every rule; set it to 1", f, strings.TrimSpace(string(b)))
		}
	}
	return nil
}

// ErrNoBridgeNetfilter marks the refusal to run without br_netfilter.
var ErrNoBridgeNetfilter = errors.New("agent: br_netfilter is off")
