// Command agent is the dataplane benchmark behind `make bench-agent`: the
// Neutron anchor workload (../shared/anchors/neutron-iptables, models.py
// bench_model) through Bulwark's compiler (firewall.Compiler) and applier
// (iptables.Applier) into scratch network namespaces, next to the floor
// (plain iptables-restore of the same rendered ruleset into a fresh
// namespace, and a one-line --noflush change) measured in the same run,
// and Neutron's recorded numbers.
//
// Layout of a run, per N:
//
//   - the parent creates a namespace "bwbench-…" and runs itself inside it
//     (ip netns exec NS agent -role agent): that child is the "agent"
//     process; it runs the tools directly in its namespace (as the real
//     agent and Neutron's harness do), so no "ip netns exec" is timed;
//   - the child refuses to run in the root network namespace;
//   - the parent then runs the floor in FLOOR_REPS fresh namespaces
//     (agent -role floor inside each), on the text the agent child
//     rendered;
//   - every namespace is deleted when its child ends, also on error or
//     Ctrl-C.
//
// BENCH_AGENT_TRACE=1 prints every small command input the applier sends
// (and its time) to stderr: what a change really writes.
//
// Times are wall clock. Each change is repeated -reps times; the median is
// reported (min–max next to it in the detail table).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/bulwark-net/bulwark/internal/agent"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
	"github.com/bulwark-net/bulwark/internal/model"
)

// ---------------------------------------------------------------- workload

const (
	sgID  = "bench-sg-0000-4000-8000-000000000001"
	netID = "bench-net-000-4000-8000-000000000001"
)

func portID(i int) string { return fmt.Sprintf("%08d-be00-4000-8000-%012d", i, i) }

func sp(s string) *string { return &s }
func ip(i int) *int       { return &i }

// benchRule mirrors models.py rule(): one rule of bench-sg.
func benchRule(idx int, dir, eth string, proto *string, pmin, pmax *int, remoteIP, remoteGroup *string) model.SecurityGroupRule {
	return model.SecurityGroupRule{
		ID:              fmt.Sprintf("%08d-5e00-4000-8000-000000000000", idx),
		SecurityGroupID: sgID, Direction: dir, Ethertype: eth,
		Protocol: proto, PortRangeMin: pmin, PortRangeMax: pmax,
		RemoteIPPrefix: remoteIP, RemoteGroupID: remoteGroup,
	}
}

// benchRules mirrors models.py bench_rules(): default egress v4+v6, tcp
// 22/80/443, icmp, udp 53 from 10/8, tcp 8000-8100 from 192.168/16,
// protocol 112, and everything from members of the group itself.
func benchRules() []model.SecurityGroupRule {
	return []model.SecurityGroupRule{
		benchRule(0, "egress", "IPv4", nil, nil, nil, nil, nil),
		benchRule(1, "egress", "IPv6", nil, nil, nil, nil, nil),
		benchRule(2, "ingress", "IPv4", sp("tcp"), ip(22), ip(22), nil, nil),
		benchRule(3, "ingress", "IPv4", sp("tcp"), ip(80), ip(80), nil, nil),
		benchRule(4, "ingress", "IPv4", sp("tcp"), ip(443), ip(443), nil, nil),
		benchRule(5, "ingress", "IPv4", sp("icmp"), nil, nil, nil, nil),
		benchRule(6, "ingress", "IPv4", sp("udp"), ip(53), ip(53), sp("10.0.0.0/8"), nil),
		benchRule(7, "ingress", "IPv4", sp("tcp"), ip(8000), ip(8100), sp("192.168.0.0/16"), nil),
		benchRule(8, "ingress", "IPv4", sp("112"), nil, nil, nil, nil),
		benchRule(9, "ingress", "IPv4", nil, nil, nil, nil, sp(sgID)),
	}
}

// benchPort mirrors models.py bench_port(i): one fixed IPv4 address, two
// /32 address pairs with the port's MAC.
func benchPort(i int) firewall.Port {
	a, b := i/200, i%200
	mac := fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
	return firewall.Port{
		ID: portID(i), NetworkID: netID, MAC: mac,
		FixedIPs: []string{fmt.Sprintf("10.0.%d.%d", a, b+10)},
		AddressPairs: []model.AddressPair{
			{IPAddress: fmt.Sprintf("10.100.%d.%d", a, b+10), MACAddress: mac},
			{IPAddress: fmt.Sprintf("10.101.%d.%d", a, b+10), MACAddress: mac},
		},
		SecurityGroups: []string{sgID},
		PortSecurity:   true,
	}
}

func portAddrs(p *firewall.Port) []string {
	out := append([]string(nil), p.FixedIPs...)
	for _, ap := range p.AddressPairs {
		out = append(out, ap.IPAddress)
	}
	return out
}

// benchState is the HostState of models.py bench_model(n): n local ports
// in bench-sg; the remote group's members are every port's addresses.
func benchState(n int) *firewall.HostState {
	h := &firewall.HostState{
		Groups:   map[string]*firewall.SecurityGroup{sgID: {ID: sgID, Stateful: true, Rules: benchRules()}},
		Members:  map[string][]string{},
		Networks: map[string]*firewall.Network{netID: {ID: netID}},
	}
	for i := 0; i < n; i++ {
		p := benchPort(i)
		h.Ports = append(h.Ports, p)
		h.Members[sgID] = append(h.Members[sgID], portAddrs(&p)...)
	}
	return h
}

func removeStrings(list []string, drop ...string) []string {
	return slices.DeleteFunc(list, func(s string) bool { return slices.Contains(drop, s) })
}

// ---------------------------------------------------------------- results

// Call is one command the applier ran.
type Call struct {
	Tool  string        `json:"tool"`
	Lines int           `json:"lines"`
	Dur   time.Duration `json:"dur_ns"`
}

// Sample is one measured operation.
type Sample struct {
	Wall    time.Duration `json:"wall_ns"`
	Compile time.Duration `json:"compile_ns"`
	Calls   []Call        `json:"calls"`
}

// AgentResult is what the agent child reports for one N.
type AgentResult struct {
	N          int                 `json:"n"`
	Ops        map[string][]Sample `json:"ops"`
	VmHWMkB    int                 `json:"vmhwm_kb"`
	VmRSSkB    int                 `json:"vmrss_kb"`
	VmHWMEndkB int                 `json:"vmhwm_end_kb"`
	VmRSSGCkB  int                 `json:"vmrss_after_gc_kb"` // after setup, runtime.GC + debug.FreeOSMemory
	HeapLiveMB float64             `json:"heap_live_mb"`      // HeapAlloc after that GC
	Rules      map[string]int      `json:"rules"`             // per family/table
	Chains     int                 `json:"chains"`
	SetMembers int                 `json:"set_members"`
	ProbeChain string              `json:"probe_chain"`
	Warnings   []string            `json:"warnings"`
}

// FloorResult is one fresh-namespace floor repetition.
type FloorResult struct {
	IPSet   time.Duration   `json:"ipset_ns"`
	V4      time.Duration   `json:"v4_ns"`
	V6      time.Duration   `json:"v6_ns"`
	OneLine []time.Duration `json:"one_line_ns"`
}

// ---------------------------------------------------------------- agent child

// parentNetns is the network namespace of the parent (-parent-netns): the
// one the benchmark must never write to.
var parentNetns = flag.String("parent-netns", "", "internal: network namespace of the parent (the child refuses to run in it)")

// notRootNetns refuses to run the kernel part outside a scratch namespace:
// in the parent's namespace or in init's (when readable).
func notRootNetns() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil || *parentNetns == "" {
		return fmt.Errorf("cannot tell which network namespace this is (%v); run through the parent", err)
	}
	root, err := os.Readlink("/proc/1/ns/net")
	if self == *parentNetns || (err == nil && self == root) {
		return errors.New("refusing to run in the root network namespace (run through the parent, which makes a scratch namespace)")
	}
	return nil
}

type recorder struct{ calls []Call }

func (r *recorder) exec(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	t := time.Now()
	out, err := iptables.Direct(ctx, stdin, argv...)
	if os.Getenv("BENCH_AGENT_TRACE") != "" && len(stdin) < 4096 {
		fmt.Fprintf(os.Stderr, "--- %s (%s)\n%s", strings.Join(argv, " "), time.Since(t), stdin)
	}
	r.calls = append(r.calls, Call{Tool: strings.Join(argv[:min(2, len(argv))], " "), Lines: bytes.Count(stdin, []byte("\n")), Dur: time.Since(t)})
	return out, err
}

func procStatus() (hwm, rss int) {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return
}

func runAgent(n, reps int, dir string) error {
	if err := notRootNetns(); err != nil {
		return err
	}
	agent.TuneMemory() // as `bulwark agent` does
	ctx := context.Background()
	rec := &recorder{}
	ap := &iptables.Applier{Exec: rec.exec}
	res := &AgentResult{N: n, Ops: map[string][]Sample{}, Rules: map[string]int{}}
	h := benchState(n)

	var last *firewall.Ruleset
	var comp firewall.Compiler // memoizing: reuses unchanged chains across steps
	step := func(op string) error {
		rec.calls = nil
		t := time.Now()
		var rs *firewall.Ruleset
		if strings.HasPrefix(op, "member_") {
			// Only bench-sg's members changed: what the agent does for a
			// batch that only changes remote members.
			rs = comp.UpdateMembers(h, []string{sgID})
		} else {
			rs = comp.Compile(h)
		}
		tc := time.Since(t)
		if err := ap.Apply(ctx, rs); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		res.Ops[op] = append(res.Ops[op], Sample{Wall: time.Since(t), Compile: tc, Calls: rec.calls})
		last = rs
		return nil
	}

	// Full setup from an empty namespace: Compile + Apply (the applier's
	// first Apply also reads the kernel: iptables-save per family and
	// table, ipset save).
	if err := step("setup"); err != nil {
		return err
	}
	res.VmHWMkB, res.VmRSSkB = procStatus()
	// What the process keeps once the setup's garbage is gone (the
	// applier's cache of the kernel state plus the HostState).
	debug.FreeOSMemory()
	_, res.VmRSSGCkB = procStatus()
	var msx runtime.MemStats
	runtime.ReadMemStats(&msx)
	res.HeapLiveMB = float64(msx.HeapAlloc) / (1 << 20)
	h.Zones = last.Zones
	res.Warnings = last.Warnings
	for f, tbls := range last.Tables {
		for t, tr := range tbls {
			k := fmt.Sprintf("v%d %s", map[firewall.Family]int{firewall.IPv4: 4, firewall.IPv6: 6}[f], t)
			for _, c := range tr.Chains {
				res.Rules[k] += len(c.Rules)
				res.Chains++
			}
			res.Rules[k] += len(tr.Hooks)
		}
	}
	for _, s := range last.Sets {
		res.SetMembers += len(s.Members)
	}
	// The floor's input: the same ruleset, rendered.
	r := firewall.Render(last)
	for name, text := range map[string]string{"v4.txt": r.IPv4, "v6.txt": r.IPv6, "ipset.txt": r.IPSets} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	if c := last.Tables[firewall.IPv4][firewall.Filter].Chains; len(c) > 0 {
		res.ProbeChain = c[0].Name
	}
	// The floor's text above is the harness's, not the agent's: let it go
	// and restart the peak (VmHWM) from here, so that the peak reported
	// after the operations is the agent's own.
	r = firewall.Rendered{}
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS: %w", err)
	}

	// A no-op apply: nothing changed, nothing should run.
	for k := 0; k < reps; k++ {
		if err := step("noop"); err != nil {
			return err
		}
	}

	// (ii) one port's two address pairs replaced; the remote group's
	// members follow (the port is in bench-sg).
	mid := n / 2
	for k := 0; k < reps; k++ {
		p := &h.Ports[mid]
		old := portAddrs(p)[1:]
		p.AddressPairs = []model.AddressPair{
			{IPAddress: fmt.Sprintf("10.200.%d.%d", k/200, k%200+10), MACAddress: p.MAC},
			{IPAddress: fmt.Sprintf("10.201.%d.%d", k/200, k%200+10), MACAddress: p.MAC},
		}
		h.Members[sgID] = append(removeStrings(h.Members[sgID], old...), portAddrs(p)[1:]...)
		if err := step("aap"); err != nil {
			return err
		}
	}

	// (iii) one rule added to the shared group, then removed again.
	g := h.Groups[sgID]
	for k := 0; k < reps; k++ {
		g.Rules = append(g.Rules, benchRule(100+k, "ingress", "IPv4", sp("tcp"), ip(9001+k), ip(9001+k), nil, nil))
		if err := step("rule_add"); err != nil {
			return err
		}
		g.Rules = g.Rules[:len(g.Rules)-1]
		if err := step("rule_del"); err != nil {
			return err
		}
	}

	// (iv) one member (a port on another host) joins the remote group,
	// then leaves it.
	for k := 0; k < reps; k++ {
		addr := fmt.Sprintf("10.250.%d.%d", k/200, k%200+10)
		h.Members[sgID] = append(h.Members[sgID], addr)
		if err := step("member_add"); err != nil {
			return err
		}
		h.Members[sgID] = removeStrings(h.Members[sgID], addr)
		if err := step("member_del"); err != nil {
			return err
		}
	}

	// One local port added to bench-sg (its chains, its dispatch rules,
	// its three addresses in the set), then removed.
	for k := 0; k < reps; k++ {
		p := benchPort(n + k)
		h.Ports = append(h.Ports, p)
		h.Members[sgID] = append(h.Members[sgID], portAddrs(&p)...)
		if err := step("port_add"); err != nil {
			return err
		}
		h.Ports = h.Ports[:len(h.Ports)-1]
		h.Members[sgID] = removeStrings(h.Members[sgID], portAddrs(&p)...)
		if err := step("port_del"); err != nil {
			return err
		}
	}
	res.VmHWMEndkB, _ = procStatus()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// ---------------------------------------------------------------- floor child

func timed(stdin []byte, argv ...string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t := time.Now()
	err := cmd.Run()
	d := time.Since(t)
	if err != nil {
		return d, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return d, nil
}

func runFloor(dir, probe string, reps int) error {
	if err := notRootNetns(); err != nil {
		return err
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	v4, err := read("v4.txt")
	if err != nil {
		return err
	}
	v6, err := read("v6.txt")
	if err != nil {
		return err
	}
	sets, err := read("ipset.txt")
	if err != nil {
		return err
	}
	var fr FloorResult
	// Sets first: the rules reference them (as in Neutron's floor.py).
	if fr.IPSet, err = timed(sets, "ipset", "restore", "-exist"); err != nil {
		return err
	}
	// Plain iptables-restore (flush mode) of the rendered text, as
	// floor.py's "iptables-restore (flush mode)".
	if fr.V4, err = timed(v4, "iptables-restore"); err != nil {
		return err
	}
	if fr.V6, err = timed(v6, "ip6tables-restore"); err != nil {
		return err
	}
	// A one-line --noflush change against the full v4 table (floor.py
	// step 4, same line).
	one := []byte("*filter\n-I " + probe + " 1 -m comment --comment probe -j DROP\nCOMMIT\n")
	for k := 0; k < reps; k++ {
		d, err := timed(one, "iptables-restore", "--noflush")
		if err != nil {
			return err
		}
		fr.OneLine = append(fr.OneLine, d)
	}
	return json.NewEncoder(os.Stdout).Encode(fr)
}

// ---------------------------------------------------------------- parent

func randSuffix() string {
	b := make([]byte, 4)
	f, err := os.Open("/dev/urandom")
	if err == nil {
		_, _ = f.Read(b)
		f.Close()
	}
	return fmt.Sprintf("%x", b)
}

// inNetns makes a scratch namespace, runs this binary in it with args,
// decodes its JSON stdout into out, and deletes the namespace.
func inNetns(ctx context.Context, out any, args ...string) error {
	ns := "bwbench-" + randSuffix()
	if b, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", ns, err, b)
	}
	defer func() {
		if b, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip netns del %s: %v: %s\n", ns, err, b)
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	mine, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	args = append([]string{"-parent-netns", mine}, args...)
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, self}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", ns, args, err)
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

// neutron holds Neutron's numbers from
// ../shared/anchors/neutron-iptables/bench/RESULTS.md (Neutron 21 / Zed,
// iptables_hybrid, enable_ipset, same machine kind; medians of 3 fresh
// runs): "Driver timings", "Size" (peak RSS) and "Floor" tables. Seconds,
// RSS in MB. Keyed by N.
var neutron = map[int]struct {
	setup, aapPortOnly, aapReal, ruleAdd, memberAdd float64
	rssMB                                           float64
	floorIPSet, floorV4, floorV6, floorOneLine      float64
}{
	100:  {0.56, 0.30, 0.34, 0.30, 0.29, 158, 0.002, 0.104, 0.084, 0.003},
	500:  {2.36, 2.54, 4.76, 4.74, 4.52, 185, 0.005, 0.426, 0.325, 0.008},
	1000: {5.89, 26.07, 30.30, 28.39, 27.53, 215, 0.011, 0.924, 0.669, 0.017},
	2000: {15.91, 103.87, 112.44, 99.73, 117.46, 280, 0.017, 1.885, 1.362, 0.033},
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func walls(ss []Sample) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.Wall)
	}
	return out
}

func ms(d time.Duration) string {
	v := float64(d) / 1e6
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

func secs(s float64) string { return ms(time.Duration(s * 1e9)) }

type perN struct {
	a     AgentResult
	floor []FloorResult
}

func (p *perN) floorMed() (ipset, v4, v6, one time.Duration) {
	var a, b, c, d []time.Duration
	for _, f := range p.floor {
		a, b, c = append(a, f.IPSet), append(b, f.V4), append(c, f.V6)
		d = append(d, f.OneLine...)
	}
	return median(a), median(b), median(c), median(d)
}

func (p *perN) op(name string) time.Duration { return median(walls(p.a.Ops[name])) }

var opNames = []struct{ key, label, neutronKey string }{
	{"setup", "(i) full setup: Compile + Apply into an empty namespace", "setup"},
	{"aap", "(ii) one port's 2 address pairs changed (chain + set)", "aap"},
	{"rule_add", "(iii) one rule added to the shared group", "rule"},
	{"rule_del", "one rule removed from the shared group", ""},
	{"member_add", "(iv) one remote-group member added (other host)", "member"},
	{"member_del", "one remote-group member removed", ""},
	{"port_add", "one port added (local, in the group)", ""},
	{"port_del", "one port removed", ""},
	{"noop", "Apply with nothing changed", ""},
}

func neutronCell(key string, n int) string {
	nu, ok := neutron[n]
	if !ok {
		return "n/a"
	}
	switch key {
	case "setup":
		return secs(nu.setup)
	case "aap":
		return fmt.Sprintf("%s (port only) / %s (agent path)", secs(nu.aapPortOnly), secs(nu.aapReal))
	case "rule":
		return secs(nu.ruleAdd)
	case "member":
		return secs(nu.memberAdd)
	}
	return "not measured"
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "**MISSED**"
}

func report(ns []int, res map[int]*perN, reps, floorReps int) {
	w := os.Stdout
	fmt.Fprintf(w, "## Bulwark agent dataplane vs floor vs Neutron\n\n")
	fmt.Fprintf(w, "Wall clock; changes: median of %d repetitions in one agent process; floor: median of %d fresh namespaces (one-line: of all its repetitions). Neutron: ../shared/anchors/neutron-iptables/bench/RESULTS.md.\n\n", reps, floorReps)

	// Size.
	fmt.Fprintf(w, "### Size of what Bulwark produces\n\n| N | v4 filter | v4 raw | v6 filter | v6 raw | total rules | rules/port | chains | set members | Neutron total rules |\n|---|---|---|---|---|---|---|---|---|---|\n")
	nrules := map[int]int{100: 5920, 500: 29520, 1000: 59020, 2000: 118020}
	for _, n := range ns {
		a := res[n].a
		tot := 0
		for _, v := range a.Rules {
			tot += v
		}
		nr := "n/a"
		if v, ok := nrules[n]; ok {
			nr = strconv.Itoa(v)
		}
		fmt.Fprintf(w, "| %d | %d | %d | %d | %d | **%d** | %.1f | %d | %d | %s |\n", n, a.Rules["v4 filter"], a.Rules["v4 raw"], a.Rules["v6 filter"], a.Rules["v6 raw"], tot, float64(tot)/float64(n), a.Chains, a.SetMembers, nr)
	}

	// Timings, Bulwark vs Neutron per N.
	fmt.Fprintf(w, "\n### Timings (median; Neutron in brackets)\n\n| operation |")
	for _, n := range ns {
		fmt.Fprintf(w, " N=%d |", n)
	}
	fmt.Fprintf(w, "\n|---|")
	for range ns {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for _, o := range opNames {
		fmt.Fprintf(w, "| %s |", o.label)
		for _, n := range ns {
			c := ms(res[n].op(o.key))
			if o.neutronKey != "" {
				c += " [" + neutronCell(o.neutronKey, n) + "]"
			}
			fmt.Fprintf(w, " %s |", c)
		}
		fmt.Fprintln(w)
	}
	row := func(label string, f func(n int) string) {
		fmt.Fprintf(w, "| %s |", label)
		for _, n := range ns {
			fmt.Fprintf(w, " %s |", f(n))
		}
		fmt.Fprintln(w)
	}
	row("agent RSS after setup, VmRSS / VmHWM [Neutron peak RSS]", func(n int) string {
		a := res[n].a
		c := fmt.Sprintf("%.1f / %.1f MB", float64(a.VmRSSkB)/1024, float64(a.VmHWMkB)/1024)
		if nu, ok := neutron[n]; ok {
			c += fmt.Sprintf(" [%.0f MB]", nu.rssMB)
		}
		return c
	})
	row("agent VmRSS after setup + GC (live Go heap)", func(n int) string {
		a := res[n].a
		return fmt.Sprintf("%.1f MB (%.1f MB)", float64(a.VmRSSGCkB)/1024, a.HeapLiveMB)
	})
	row("agent VmHWM during the operations below (peak reset after setup)", func(n int) string {
		return fmt.Sprintf("%.1f MB", float64(res[n].a.VmHWMEndkB)/1024)
	})
	row("**floor**: ipset restore [Neutron's floor]", func(n int) string {
		a, _, _, _ := res[n].floorMed()
		c := ms(a)
		if nu, ok := neutron[n]; ok {
			c += " [" + secs(nu.floorIPSet) + "]"
		}
		return c
	})
	row("**floor**: iptables-restore v4 (flush mode, fresh ns)", func(n int) string {
		_, a, _, _ := res[n].floorMed()
		c := ms(a)
		if nu, ok := neutron[n]; ok {
			c += " [" + secs(nu.floorV4) + "]"
		}
		return c
	})
	row("**floor**: ip6tables-restore v6 (flush mode, fresh ns)", func(n int) string {
		_, _, a, _ := res[n].floorMed()
		c := ms(a)
		if nu, ok := neutron[n]; ok {
			c += " [" + secs(nu.floorV6) + "]"
		}
		return c
	})
	row("**floor**: full = ipset + v4 + v6", func(n int) string {
		a, b, c, _ := res[n].floorMed()
		return ms(a + b + c)
	})
	row("**floor**: 1-line iptables-restore --noflush on the full v4 table", func(n int) string {
		_, _, _, a := res[n].floorMed()
		c := ms(a)
		if nu, ok := neutron[n]; ok {
			c += " [" + secs(nu.floorOneLine) + "]"
		}
		return c
	})

	// Targets.
	fmt.Fprintf(w, "\n### Targets (issue 3), checked at every N\n\n| target | bound |")
	for _, n := range ns {
		fmt.Fprintf(w, " N=%d |", n)
	}
	fmt.Fprintf(w, "\n|---|---|")
	for range ns {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	missed := 0
	trow := func(label, bound string, f func(p *perN, n int) (string, bool)) {
		fmt.Fprintf(w, "| %s | %s |", label, bound)
		for _, n := range ns {
			s, ok := f(res[n], n)
			if !ok {
				missed++
			}
			fmt.Fprintf(w, " %s: %s |", s, mark(ok))
		}
		fmt.Fprintln(w)
	}
	trow("full setup", "<= 1.5x floor (ipset+v4+v6) at the same N", func(p *perN, n int) (string, bool) {
		a, b, c, _ := p.floorMed()
		fl := a + b + c
		r := float64(p.op("setup")) / float64(fl)
		return fmt.Sprintf("%.2fx", r), r <= 1.5
	})
	trow("one-port change (address pairs)", "<= 2x 1-line floor at the same N, and < 35 ms", func(p *perN, n int) (string, bool) {
		_, _, _, one := p.floorMed()
		v := p.op("aap")
		return fmt.Sprintf("%s (2x floor %s)", ms(v), ms(2*one)), v <= 2*one && v < 35*time.Millisecond
	})
	trow("one-port add (not in the issue's list: chains in both families, two commits)", "<= 2x 1-line floor at the same N, and < 35 ms", func(p *perN, n int) (string, bool) {
		_, _, _, one := p.floorMed()
		v := p.op("port_add")
		return ms(v), v <= 2*one && v < 35*time.Millisecond
	})
	for _, k := range []string{"rule_add", "rule_del"} {
		trow(strings.ReplaceAll(k, "_", " "), "< 35 ms", func(p *perN, n int) (string, bool) {
			v := p.op(k)
			return ms(v), v < 35*time.Millisecond
		})
	}
	for _, k := range []string{"member_add", "member_del"} {
		trow(strings.ReplaceAll(k, "_", " "), "< 10 ms", func(p *perN, n int) (string, bool) {
			v := p.op(k)
			return ms(v), v < 10*time.Millisecond
		})
	}
	trow("agent peak RSS (VmHWM: setup, and the operations after it)", "<= 1/4 of Neutron's peak RSS at the same N (54 MB at N=1000)", func(p *perN, n int) (string, bool) {
		nu, ok := neutron[n]
		hwm := float64(max(p.a.VmHWMkB, p.a.VmHWMEndkB)) / 1024
		if !ok {
			return fmt.Sprintf("%.1f MB (no Neutron figure)", hwm), true
		}
		return fmt.Sprintf("%.1f MB / %.1f", hwm, nu.rssMB/4), hwm <= nu.rssMB/4
	})
	if missed == 0 {
		fmt.Fprintf(w, "\nAll targets met at every N.\n")
	} else {
		fmt.Fprintf(w, "\n**%d target cell(s) missed** (see the profile below).\n", missed)
	}

	// Where the time goes.
	fmt.Fprintf(w, "\n### Where the time goes (median repetition; commands the applier ran)\n\n| operation | N | wall (min–max) | compile | commands: tool × count, lines, time |\n|---|---|---|---|---|\n")
	for _, o := range opNames {
		for _, n := range ns {
			ss := res[n].a.Ops[o.key]
			if len(ss) == 0 {
				continue
			}
			sorted := slices.Clone(ss)
			slices.SortFunc(sorted, func(a, b Sample) int { return int(a.Wall - b.Wall) })
			m := sorted[len(sorted)/2]
			type agg struct {
				n, lines int
				d        time.Duration
			}
			tools := map[string]*agg{}
			var order []string
			for _, c := range m.Calls {
				if tools[c.Tool] == nil {
					tools[c.Tool] = &agg{}
					order = append(order, c.Tool)
				}
				t := tools[c.Tool]
				t.n++
				t.lines += c.Lines
				t.d += c.Dur
			}
			var parts []string
			for _, t := range order {
				a := tools[t]
				parts = append(parts, fmt.Sprintf("`%s` ×%d, %d lines, %s", t, a.n, a.lines, ms(a.d)))
			}
			if len(parts) == 0 {
				parts = []string{"none"}
			}
			fmt.Fprintf(w, "| %s | %d | %s (%s–%s) | %s | %s |\n", o.key, n, ms(m.Wall), ms(sorted[0].Wall), ms(sorted[len(sorted)-1].Wall), ms(m.Compile), strings.Join(parts, "; "))
		}
	}
	for _, n := range ns {
		if ws := res[n].a.Warnings; len(ws) > 0 {
			fmt.Fprintf(w, "\nCompile warnings at N=%d: %s\n", n, strings.Join(ws, "; "))
		}
	}
}

func main() {
	role := flag.String("role", "", "internal: agent or floor (the parent runs these inside scratch namespaces)")
	nList := flag.String("n", "100,1000,2000", "comma-separated port counts")
	reps := flag.Int("reps", 7, "repetitions of each change (median reported)")
	floorReps := flag.Int("floor-reps", 3, "fresh namespaces for the floor (median reported)")
	dir := flag.String("dir", "", "internal: where the agent writes the rendered ruleset for the floor")
	probe := flag.String("probe", "", "internal: chain for the floor's one-line change")
	jsonOut := flag.String("json", "", "also write the raw results to this file")
	flag.Parse()

	switch *role {
	case "agent":
		n, _ := strconv.Atoi(*nList)
		if err := runAgent(n, *reps, *dir); err != nil {
			fmt.Fprintln(os.Stderr, "agent:", err)
			os.Exit(1)
		}
		return
	case "floor":
		if err := runFloor(*dir, *probe, *reps); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	case "dump":
		// Writes the workload's rendered ruleset (ipset, v4, v6 restore
		// text) into -dir, for experiments by hand.
		n, _ := strconv.Atoi(*nList)
		r := firewall.Render(firewall.Compile(benchState(n)))
		for name, text := range map[string]string{"ipset": r.IPSets, "v4": r.IPv4, "v6": r.IPv6} {
			if err := os.WriteFile(filepath.Join(*dir, name), []byte(text), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		return
	case "":
	default:
		fmt.Fprintln(os.Stderr, "unknown -role", *role)
		os.Exit(2)
	}

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench-agent needs root (it creates network namespaces)")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ns []int
	for _, s := range strings.Split(*nList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bad -n:", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	tmp, err := os.MkdirTemp("", "bench-agent-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	res := map[int]*perN{}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "bench-agent:", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	for _, n := range ns {
		p := &perN{}
		d := filepath.Join(tmp, strconv.Itoa(n))
		if err := os.MkdirAll(d, 0o755); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "N=%d: agent (setup + %d repetitions of each change)...\n", n, *reps)
		if err := inNetns(ctx, &p.a, "-role", "agent", "-n", strconv.Itoa(n), "-reps", strconv.Itoa(*reps), "-dir", d); err != nil {
			fail(err)
		}
		for k := 0; k < *floorReps; k++ {
			fmt.Fprintf(os.Stderr, "N=%d: floor %d/%d...\n", n, k+1, *floorReps)
			var fr FloorResult
			if err := inNetns(ctx, &fr, "-role", "floor", "-dir", d, "-probe", p.a.ProbeChain, "-reps", strconv.Itoa(*reps)); err != nil {
				fail(err)
			}
			p.floor = append(p.floor, fr)
		}
		res[n] = p
	}
	if *jsonOut != "" {
		raw := map[string]any{}
		for n, p := range res {
			raw[strconv.Itoa(n)] = map[string]any{"agent": p.a, "floor": p.floor}
		}
		b, _ := json.MarshalIndent(raw, "", " ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fail(err)
		}
	}
	report(ns, res, *reps, *floorReps)
}
