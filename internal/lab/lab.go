package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/gophercloud/gophercloud/v2"
)

// Options select a lab and how to reach its server.
type Options struct {
	Name string // default "demo"
	Dir  string // default var/lab/NAME
	// Server is the API to use if one answers there (default
	// osclient.DefaultURL); Private always starts the lab's own server.
	Server  string
	Private bool
	// Binary is the bulwark executable to run the server and agent with
	// (default: this executable).
	Binary string
	// Out receives the narration (what is created, changed, observed).
	Out io.Writer
}

func (o *Options) normalize() (Names, error) {
	if o.Name == "" {
		o.Name = "demo"
	}
	n, err := NewNames(o.Name)
	if err != nil {
		return n, err
	}
	if o.Dir == "" {
		o.Dir = DefaultDir(o.Name)
	}
	if o.Dir, err = absDir(o.Dir); err != nil {
		return n, err
	}
	if o.Server == "" {
		o.Server = osclient.DefaultURL
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return n, fmt.Errorf("lab: find the bulwark binary: %w", err)
		}
	}
	return n, nil
}

// Lab is a lab that exists (or is being built).
type Lab struct {
	State *State
	names Names
	nc    *gophercloud.ServiceClient
	opts  Options
}

func (l *Lab) say(format string, args ...any) {
	if l.opts.Out != nil {
		fmt.Fprintf(l.opts.Out, format+"\n", args...)
	}
}

// Names returns the lab's derived names.
func (l *Lab) Names() Names { return l.names }

// Files of the lab's own processes.
func (l *Lab) agentPIDFile() string  { return filepath.Join(l.State.Dir, "agent.pid") }
func (l *Lab) agentLog() string      { return filepath.Join(l.State.Dir, "agent.log") }
func (l *Lab) serverPIDFile() string { return filepath.Join(l.State.Dir, "server.pid") }
func (l *Lab) serverLog() string     { return filepath.Join(l.State.Dir, "server.log") }
func (l *Lab) serverDB() string      { return filepath.Join(l.State.Dir, "bulwark.db") }
func (l *Lab) notifyPath() string    { return filepath.Join(l.State.Dir, "notify.sh") }

// Markers identify the lab's processes in /proc/PID/cmdline.
func (l *Lab) agentMarker() string {
	// The exact argument sequence ensureAgent passes: "--host bwlab-a" alone
	// would also match lab "ab"'s agent.
	return "--host " + l.State.Host + " --netns " + l.State.HostNS
}
func (l *Lab) serverMarker() string { return "sqlite:" + l.serverDB() }

// Logs returns the lab's log files (for a failing test to print).
func (l *Lab) Logs() map[string]string {
	out := map[string]string{"agent": l.agentLog(), "server": l.serverLog()}
	for _, v := range VMs {
		out[v.Name] = keepalivedFiles(l.State.Dir, v.Name).Log
	}
	return out
}

// Open finds an existing lab by its state file and connects to its server.
func Open(ctx context.Context, o Options) (*Lab, error) {
	n, err := o.normalize()
	if err != nil {
		return nil, err
	}
	st, err := loadState(o.Dir)
	if err != nil {
		return nil, err
	}
	l := &Lab{State: st, names: n, opts: o}
	if err := l.connect(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Lab) connect(ctx context.Context) error {
	if l.State.PrivateServer {
		l.nc = noauthClient(l.State.Server)
		return nil
	}
	nc, err := osclient.Network(ctx, osclient.Options{URL: l.State.Server})
	if err != nil {
		return fmt.Errorf("lab: connect to %s: %w", l.State.Server, err)
	}
	l.nc = nc
	return nil
}

// Up builds the lab (or repairs one that exists) and leaves the correct
// HA setup in place: VRRP allowed both ways, the VIP an address pair of
// both ports, keepalived on both nodes, one MASTER, the VIP reachable
// from the client.
func Up(ctx context.Context, o Options) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root (it creates network namespaces and runs the agent's iptables in them)")
	}
	n, err := o.normalize()
	if err != nil {
		return nil, err
	}
	if err := ensureTools(ctx, o.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: create %s: %w", o.Dir, err)
	}
	st, err := loadState(o.Dir)
	if errors.Is(err, ErrNoLab) {
		st = &State{Name: n.Lab, Dir: o.Dir, CreatedAt: time.Now().UTC(), Host: n.Host(), HostNS: n.HostNS(), ClientNS: n.ClientNS()}
		for _, v := range VMs {
			st.VMs = append(st.VMs, VMState{Name: v.Name, NetNS: n.VMNS(v.Name), IP: v.IP, Priority: v.Priority})
		}
	} else if err != nil {
		return nil, err
	}
	l := &Lab{State: st, names: n, opts: o}
	l.say("lab %s in %s", n.Lab, o.Dir)
	if err := l.ensureServer(ctx); err != nil {
		return l, err
	}
	if err := st.save(); err != nil {
		return l, err
	}
	if err := l.ensureHostNS(ctx); err != nil {
		return l, err
	}
	if err := l.createObjects(ctx); err != nil {
		return l, err
	}
	for i := range st.VMs {
		if err := l.ensureVMNS(ctx, &st.VMs[i]); err != nil {
			return l, err
		}
	}
	if err := l.installARPCounters(ctx); err != nil {
		return l, err
	}
	if err := l.ensureAgent(ctx); err != nil {
		return l, err
	}
	if err := l.waitPortsActive(ctx, 30*time.Second); err != nil {
		return l, err
	}
	// The HA setup, through the API: VRRP both ways, the VIP a pair of both.
	if err := l.allowVRRP(ctx); err != nil {
		return l, err
	}
	for _, v := range st.VMs {
		if err := l.secure(ctx, v.Name, VIP); err != nil {
			return l, err
		}
	}
	for _, v := range VMs {
		if err := l.StartKeepalived(ctx, v.Name); err != nil {
			return l, err
		}
	}
	if err := l.WaitHA(ctx, 30*time.Second); err != nil {
		return l, err
	}
	return l, st.save()
}

// ensureTools checks the commands the lab runs; keepalived is installed
// from Debian's package when it is missing, as the operator would.
func ensureTools(ctx context.Context, out io.Writer) error {
	if _, err := exec.LookPath("keepalived"); err != nil {
		if _, aerr := exec.LookPath("apt-get"); aerr != nil {
			return errors.New("lab: keepalived is not installed (and no apt-get to install it)")
		}
		if out != nil {
			fmt.Fprintln(out, "installing keepalived (apt-get install keepalived)")
		}
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "keepalived")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("lab: apt-get install keepalived: %w: %s", err, b)
		}
	}
	for _, t := range []string{"ip", "iptables", "iptables-save", "iptables-restore", "ipset", "ping", "sysctl", "keepalived"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("lab: %s is not installed (scripts/setup.sh installs it)", t)
		}
	}
	return nil
}

// ensureServer uses the server that answers at Options.Server, or runs a
// private noauth one with its database in the lab directory.
func (l *Lab) ensureServer(ctx context.Context) error {
	st := l.State
	if st.Server != "" && !st.PrivateServer {
		return l.connect(ctx)
	}
	if st.Server == "" && !l.opts.Private && serverAnswers(ctx, l.opts.Server) {
		st.Server = l.opts.Server
		l.say("using the Bulwark server at %s", st.Server)
		if err := l.connect(ctx); err != nil {
			return err
		}
		// A keystone-mode server without OS_* credentials answers the
		// version document but nothing else: say so before building.
		var body map[string]any
		if _, err := l.nc.Get(ctx, l.nc.ServiceURL("networks")+"?limit=1", &body, nil); err != nil {
			st.Server = ""
			return fmt.Errorf("lab: the server at %s answers, but not to the lab (%w); source its admin-openrc (OS_* credentials), or run the lab's own server with --private-server", l.opts.Server, err)
		}
		return nil
	}
	st.PrivateServer = true
	if st.Server != "" && aliveAs(readPID(l.serverPIDFile()), l.serverMarker()) && serverAnswers(ctx, st.Server) {
		return l.connect(ctx)
	}
	addr := strings.TrimPrefix(st.Server, "http://")
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("lab: find a free port: %w", err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	st.Server = "http://" + addr
	pid, err := startDetached([]string{l.opts.Binary, "server", "--auth", "noauth", "--listen", addr, "--db", "sqlite:" + l.serverDB()},
		os.Environ(), l.serverLog())
	if err != nil {
		return err
	}
	if err := writePID(l.serverPIDFile(), pid); err != nil {
		return err
	}
	l.say("started a private noauth server on %s (pid %d, log %s)", st.Server, pid, l.serverLog())
	if err := waitFor(ctx, 15*time.Second, 50*time.Millisecond, "private server answering at "+st.Server, func() (bool, string) {
		if !aliveAs(pid, l.serverMarker()) {
			return false, "server exited; see " + l.serverLog()
		}
		return serverAnswers(ctx, st.Server), "no answer yet"
	}); err != nil {
		return err
	}
	return l.connect(ctx)
}

// ensureHostNS makes the compute host: a namespace with a bridge whose
// bridged IPv4/IPv6 traffic goes through iptables, and the client on it.
func (l *Lab) ensureHostNS(ctx context.Context) error {
	st := l.State
	if !netnsExists(st.HostNS) {
		if err := ip(ctx, "", "netns", "add", st.HostNS); err != nil {
			return fmt.Errorf("lab: host namespace: %w", err)
		}
		l.say("created namespace %s (the compute host)", st.HostNS)
	}
	if err := ip(ctx, st.HostNS, "link", "set", "lo", "up"); err != nil {
		return err
	}
	for _, s := range []string{"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"} {
		if _, err := run(ctx, st.HostNS, "sysctl", "-q", "-w", s); err != nil {
			_, _ = run(ctx, "", "modprobe", "br_netfilter") // loads the module; changes no setting outside the lab
			if _, err := run(ctx, st.HostNS, "sysctl", "-q", "-w", s); err != nil {
				return fmt.Errorf("lab: br_netfilter is unavailable, bridged packets would bypass iptables: %w", err)
			}
		}
	}
	if ip(ctx, st.HostNS, "link", "show", Bridge) != nil {
		if err := ip(ctx, st.HostNS, "link", "add", Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if err := ip(ctx, st.HostNS, "link", "set", Bridge, "up"); err != nil {
		return err
	}
	if !netnsExists(st.ClientNS) {
		if err := ip(ctx, "", "netns", "add", st.ClientNS); err != nil {
			return fmt.Errorf("lab: client namespace: %w", err)
		}
		l.say("created namespace %s (the client)", st.ClientNS)
	}
	return plugVeth(ctx, st.HostNS, ClientLink, st.ClientNS, "", ClientIP)
}

// plugVeth joins namespace ns to the host's bridge: hostEnd on the bridge,
// VMDevice in ns with the MAC (if given) and address.
func plugVeth(ctx context.Context, hostNS, hostEnd, ns, mac, addr string) error {
	if ip(ctx, hostNS, "link", "show", hostEnd) != nil {
		if err := ip(ctx, hostNS, "link", "add", hostEnd, "type", "veth", "peer", "name", VMDevice, "netns", ns); err != nil {
			return fmt.Errorf("lab: veth %s: %w", hostEnd, err)
		}
	}
	steps := [][]string{
		{hostNS, "link", "set", hostEnd, "master", Bridge, "up"},
		{ns, "link", "set", "lo", "up"},
	}
	if mac != "" {
		steps = append(steps, []string{ns, "link", "set", VMDevice, "address", mac})
	}
	steps = append(steps, []string{ns, "link", "set", VMDevice, "up"})
	for _, s := range steps {
		if err := ip(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	out, _ := run(ctx, "", "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", VMDevice)
	if !strings.Contains(out, " "+addr+"/") {
		if err := ip(ctx, ns, "addr", "add", addr+"/24", "dev", VMDevice); err != nil {
			return err
		}
	}
	return nil
}

// ensureVMNS makes a VM: its namespace, the veth named after its port
// with the port's MAC and fixed IP, and its VRRP counters.
func (l *Lab) ensureVMNS(ctx context.Context, v *VMState) error {
	if !netnsExists(v.NetNS) {
		if err := ip(ctx, "", "netns", "add", v.NetNS); err != nil {
			return fmt.Errorf("lab: VM namespace: %w", err)
		}
		l.say("created namespace %s (VM %s, %s on %s, MAC %s)", v.NetNS, v.Name, v.IP, v.Tap, v.MAC)
	}
	if err := plugVeth(ctx, l.State.HostNS, v.Tap, v.NetNS, v.MAC, v.IP); err != nil {
		return err
	}
	peer := ""
	for _, o := range l.State.VMs {
		if o.Name != v.Name {
			peer = o.IP
		}
	}
	return installVRRPCounters(ctx, v.NetNS, peer)
}

// ensureAgent runs `bulwark agent` for the lab's host inside the host
// namespace, unless it runs already.
func (l *Lab) ensureAgent(ctx context.Context) error {
	if aliveAs(readPID(l.agentPIDFile()), l.agentMarker()) {
		return nil
	}
	env := os.Environ()
	if l.State.PrivateServer {
		// The private server is noauth: credentials meant for another
		// cloud must not send the agent to its Keystone.
		env = env[:0:0]
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "OS_") {
				env = append(env, e)
			}
		}
	}
	pid, err := startDetached([]string{l.opts.Binary, "agent", "--server", l.State.Server, "--host", l.State.Host, "--netns", l.State.HostNS},
		env, l.agentLog())
	if err != nil {
		return err
	}
	l.say("started bulwark agent --host %s --netns %s (pid %d, log %s)", l.State.Host, l.State.HostNS, pid, l.agentLog())
	return writePID(l.agentPIDFile(), pid)
}

// waitPortsActive waits until the agent reports both ports ACTIVE (their
// rules are in place).
func (l *Lab) waitPortsActive(ctx context.Context, timeout time.Duration) error {
	return waitFor(ctx, timeout, 100*time.Millisecond, "ports ACTIVE (the agent applied their rules)", func() (bool, string) {
		if !aliveAs(readPID(l.agentPIDFile()), l.agentMarker()) {
			return false, "the agent is not running; see " + l.agentLog()
		}
		for _, v := range l.State.VMs {
			p, err := l.getPort(ctx, v.PortID)
			if err != nil {
				return false, err.Error()
			}
			if p.Status != "ACTIVE" {
				return false, v.Name + " is " + p.Status
			}
		}
		return true, ""
	})
}

// StartKeepalived (re)writes vm's keepalived configuration and starts it
// in the VM's namespace unless it runs already.
func (l *Lab) StartKeepalived(ctx context.Context, vm string) error {
	v := l.State.vm(vm)
	var spec VMSpec
	for _, s := range VMs {
		if s.Name == vm {
			spec = s
		}
	}
	if v == nil || spec.Name == "" {
		return fmt.Errorf("lab: no VM %s", vm)
	}
	f := keepalivedFiles(l.State.Dir, vm)
	if aliveAs(readPID(f.PID), f.Conf) {
		return nil
	}
	if err := os.WriteFile(l.notifyPath(), []byte(notifyScript), 0o700); err != nil {
		return fmt.Errorf("lab: write notify script: %w", err)
	}
	if err := os.WriteFile(f.Conf, []byte(RenderKeepalived(l.names.VMNS(vm), spec, l.notifyPath(), f.State)), 0o600); err != nil {
		return fmt.Errorf("lab: write keepalived config: %w", err)
	}
	if err := os.WriteFile(f.State, []byte("STARTING\n"), 0o600); err != nil {
		return fmt.Errorf("lab: write state file: %w", err)
	}
	_ = os.Remove(f.PID)
	// -n: no fork, so the pid we start is keepalived's parent; -l: log to
	// the console, which is the lab's log file; -G: not to syslog.
	pid, err := startDetached([]string{"ip", "netns", "exec", v.NetNS, "keepalived", "-n", "-l", "-D", "-G", "-P",
		"-f", f.Conf, "-p", f.PID, "-r", f.VRRPPID}, os.Environ(), f.Log)
	if err != nil {
		return err
	}
	// keepalived writes its pid file itself once it has read its
	// configuration (it refuses to start if that file names a live process).
	if err := waitFor(ctx, 5*time.Second, 50*time.Millisecond, "keepalived running in "+v.NetNS, func() (bool, string) {
		return aliveAs(pid, f.Conf) && readPID(f.PID) == pid, "not running; see " + f.Log
	}); err != nil {
		return err
	}
	l.say("  started keepalived in %s (pid %d, priority %d, config %s)", v.NetNS, pid, spec.Priority, f.Conf)
	return nil
}

// StopKeepalived stops vm's keepalived (SIGTERM: it gives up the VIP and
// sends a priority-0 advert, as a clean shutdown does).
func (l *Lab) StopKeepalived(vm string) error {
	f := keepalivedFiles(l.State.Dir, vm)
	var stopped []int
	if pid := readPID(f.PID); aliveAs(pid, f.Conf) {
		if err := stopPID(pid, f.Conf, 5*time.Second); err != nil {
			return err
		}
		stopped = append(stopped, pid)
	}
	for _, p := range findProcs("keepalived", f.Conf) { // leftovers: a lost pid file, an orphaned VRRP child
		if err := stopPID(p, f.Conf, 2*time.Second); err != nil {
			return err
		}
		stopped = append(stopped, p)
	}
	if len(stopped) > 0 {
		l.say("  stopped keepalived in %s (pid %v)", l.names.VMNS(vm), strings.Trim(fmt.Sprint(stopped), "[]"))
	}
	return nil
}

// KeepalivedPID is vm's running keepalived (0 if none).
func (l *Lab) KeepalivedPID(vm string) int {
	f := keepalivedFiles(l.State.Dir, vm)
	if pid := readPID(f.PID); aliveAs(pid, f.Conf) {
		return pid
	}
	return 0
}

// WaitHA waits for the healthy state: the node with the highest priority
// among those running keepalived is the only MASTER (by keepalived's
// account), only it holds the VIP, and the client reaches the VIP.
func (l *Lab) WaitHA(ctx context.Context, timeout time.Duration) error {
	return waitFor(ctx, timeout, 200*time.Millisecond, "the preferred node MASTER holding the VIP, reachable from the client", func() (bool, string) {
		want := ""
		for _, v := range VMs { // highest priority first
			if l.KeepalivedPID(v.Name) != 0 {
				want = v.Name
				break
			}
		}
		masters, holders := l.masters(), l.vipHolders(ctx)
		if want == "" || len(masters) != 1 || masters[0] != want || len(holders) != 1 || holders[0] != want {
			return false, fmt.Sprintf("MASTER: %v, VIP on: %v, want both %s", masters, holders, want)
		}
		if !ping(ctx, l.State.ClientNS, VIP) {
			return false, "MASTER " + want + " holds the VIP but the client gets no answer"
		}
		return true, ""
	})
}

func (l *Lab) masters() []string {
	var out []string
	for _, v := range l.State.VMs {
		// A stopped keepalived may leave MASTER in its state file.
		if l.vrrpState(v.Name) == "MASTER" && l.KeepalivedPID(v.Name) != 0 {
			out = append(out, v.Name)
		}
	}
	return out
}

func (l *Lab) vipHolders(ctx context.Context) []string {
	var out []string
	for _, v := range l.State.VMs {
		if holdsVIP(ctx, v.NetNS) {
			out = append(out, v.Name)
		}
	}
	return out
}

// Down removes everything a lab made: its API objects (when the server
// answers), keepalived, the agent and the private server (by pid file and
// by looking for leftovers), its namespaces and its files. It works from
// the state file or, when that is gone, from the lab's names.
func Down(ctx context.Context, o Options) error {
	n, err := o.normalize()
	if err != nil {
		return err
	}
	st, err := loadState(o.Dir)
	if err != nil {
		if !errors.Is(err, ErrNoLab) {
			return err
		}
		st = &State{Name: n.Lab, Dir: o.Dir, Host: n.Host(), HostNS: n.HostNS(), ClientNS: n.ClientNS()}
	}
	l := &Lab{State: st, names: n, opts: o}
	var errs []error

	// API objects first, while a private server still runs.
	server := st.Server
	if server == "" && !o.Private {
		server = o.Server
	}
	if server != "" && serverAnswers(ctx, server) {
		if st.Server == "" {
			st.Server = server
		}
		if err := l.connect(ctx); err != nil {
			errs = append(errs, err)
		} else if err := l.deleteObjects(ctx); err != nil {
			errs = append(errs, err)
		} else {
			l.say("deleted the lab's API objects on %s", server)
		}
	}

	for _, v := range VMs {
		if err := l.StopKeepalived(v.Name); err != nil {
			errs = append(errs, err)
		}
	}
	stop := func(pidFile, marker string, extra ...string) {
		if err := stopPID(readPID(pidFile), marker, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
		for _, p := range findProcs(append([]string{marker}, extra...)...) {
			if err := stopPID(p, marker, 5*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	stop(l.agentPIDFile(), l.agentMarker(), "agent")
	stop(l.serverPIDFile(), l.serverMarker(), "server")

	// Whatever still runs inside the lab's namespaces was started there by
	// the lab.
	for _, ns := range listNetns(n.Prefix()) {
		if out, err := run(ctx, "", "ip", "netns", "pids", ns); err == nil {
			for _, f := range strings.Fields(out) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil && pid > 0 {
					_ = stopPID(pid, "", 2*time.Second)
				}
			}
		}
		if err := ip(ctx, "", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		} else {
			l.say("deleted namespace %s", ns)
		}
	}

	if err := removeLabFiles(o.Dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("lab down %s: %w", n.Lab, errors.Join(errs...))
	}
	return nil
}

// removeLabFiles deletes what the lab wrote into dir, and dir itself if
// nothing else is left in it.
func removeLabFiles(dir string) error {
	var errs []error
	patterns := []string{"state.json*", "*.pid", "*.log", "*.conf", "*.state", "*.state.tmp", "*.nft", "notify.sh", "bulwark.db*", "admin-openrc"}
	for _, p := range patterns {
		matches, _ := filepath.Glob(filepath.Join(dir, p))
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) == 0 {
		_ = os.Remove(dir)
	}
	return errors.Join(errs...)
}
