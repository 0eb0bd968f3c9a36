package agent_test

// End-to-end test on the real kernel: a real `bulwark server` (noauth,
// temporary SQLite), a real `bulwark agent` applying iptables/ipset inside
// a scratch "host" network namespace, and real packets between veth "VMs"
// on a Linux bridge there. Nothing is written to the root namespace's
// firewall: the agent runs with --netns, and every device lives in a
// namespace the test creates and deletes.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	e2eCIDR     = "172.16.200.0/24"
	e2eVIP      = "172.16.200.251"
	portProbe   = 5000 // allowed; a `nc -k -l` answers connection probes
	portSession = 5001 // allowed by its own rule; carries the long-lived session
	portDenied  = 5009 // never allowed
	portMember  = 5002 // allowed from the members of a remote group only
	converge    = 10 * time.Second
)

// e2eNeed skips without root or tools, except under CI=true, where a
// missing tool is a failure (CI must not silently skip the kernel tests).
func e2eNeed(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs the agent's iptables inside them")
	}
	ci := os.Getenv("CI") == "true"
	for _, tool := range []string{"ip", "iptables", "iptables-restore", "iptables-save", "ip6tables-restore", "ipset", "nc", "ping", "ss", "sysctl", "nft", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if ci {
				t.Fatalf("%s not installed (CI=true: missing tools fail instead of skipping; scripts/setup.sh installs them)", tool)
			}
			t.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func shErr(ns string, argv ...string) (string, error) {
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

func sh(t *testing.T, ns string, argv ...string) string {
	t.Helper()
	out, err := shErr(ns, argv...)
	if err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
	return out
}

// newNetns creates a namespace deleted when the test ends, also on failure.
func newNetns(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// logBuf is a goroutine-safe log sink for child processes.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func buildBulwark(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bulwark")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/bulwark-net/bulwark/cmd/bulwark").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a background child process killed (by its own pid) at cleanup.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t *testing.T, name string, logs *logBuf, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type api struct {
	t    *testing.T
	base string
}

func (a *api) call(method, path string, body any, want int) map[string]any {
	a.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return m
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// eventually polls cond until it holds or converge passes.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(converge)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type vm struct {
	ns, port, ip, mac, tap string
}

type e2e struct {
	t       *testing.T
	api     *api
	bin     string
	hostNS  string
	host    string
	srvAddr string
	srvLog  *logBuf
	agtLog  *logBuf
	agent   *proc
	vms     []vm
}

func (e *e2e) startAgent() {
	e.t.Helper()
	fmt.Fprintf(e.agtLog, "---- agent started at %s ----\n", time.Now().Format(time.RFC3339Nano))
	e.agent = startProc(e.t, "agent", e.agtLog, e.bin, "agent", "--server", "http://"+e.srvAddr, "--host", e.host, "--netns", e.hostNS)
}

// synced waits until the agent's log has at least n "synced" lines.
func (e *e2e) syncedCount() int { return strings.Count(e.agtLog.String(), "msg=synced") }

func (e *e2e) ping(from int, to string, src string) bool {
	argv := []string{"ping", "-c", "1", "-W", "1", "-q"}
	if src != "" {
		argv = append(argv, "-I", src)
	}
	_, err := shErr(e.vms[from].ns, append(argv, to)...)
	return err == nil
}

// tcp reports whether a new TCP connection from a VM to a VM's port is
// accepted (nc -z: a SYN answered by a SYN/ACK).
func (e *e2e) tcp(from, to, port int) bool {
	_, err := shErr(e.vms[from].ns, "nc", "-z", "-w", "1", e.vms[to].ip, fmt.Sprint(port))
	return err == nil
}

func (e *e2e) waitListen(ns string, port int) {
	e.t.Helper()
	for i := 0; i < 250; i++ {
		if out, _ := shErr(ns, "ss", "-Hltn", fmt.Sprintf("sport = :%d", port)); strings.Contains(out, "LISTEN") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("nothing listens on %d in %s", port, ns)
}

// sessionFlows lists the ids and zones of the conntrack entries of the
// session to portSession ("" without the conntrack tool).
func (e *e2e) sessionFlows() string {
	e.t.Helper()
	if _, err := exec.LookPath("conntrack"); err != nil {
		e.t.Log("conntrack not installed: not comparing conntrack entries across the restart")
		return ""
	}
	out, err := shErr(e.hostNS, "conntrack", "-L", "-p", "tcp", "--dport", fmt.Sprint(portSession), "-o", "id")
	if err != nil {
		e.t.Fatalf("conntrack -L: %v: %s", err, out)
	}
	var ids []string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "id=") || strings.HasPrefix(f, "zone=") || strings.HasPrefix(f, "sport=") {
			ids = append(ids, f)
		}
	}
	if len(ids) == 0 {
		e.t.Fatalf("no conntrack entry for the session:\n%s", out)
	}
	return strings.Join(ids, " ")
}

func (e *e2e) portStatus(id string) string {
	return str(obj(e.api.call("GET", "/v2.0/ports/"+id, nil, 200), "port"), "status")
}

func TestE2EAgentEnforcesOnRealPackets(t *testing.T) {
	e2eNeed(t)
	start := time.Now()
	e := &e2e{t: t, bin: buildBulwark(t), srvLog: &logBuf{}, agtLog: &logBuf{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", e.srvLog.String())
			t.Logf("agent log:\n%s", e.agtLog.String())
			if e.hostNS != "" {
				out, _ := shErr(e.hostNS, "iptables-save")
				t.Logf("iptables-save in %s:\n%s", e.hostNS, out)
			}
		}
	})

	// Server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srvAddr = l.Addr().String()
	l.Close()
	srv := startProc(t, "server", e.srvLog, e.bin, "server", "--auth", "noauth", "--listen", e.srvAddr,
		"--db", "sqlite:"+filepath.Join(t.TempDir(), "bulwark.db"))
	e.api = &api{t: t, base: "http://" + e.srvAddr}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(e.api.base + "/v2.0/extensions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if srv.exited() || time.Now().After(deadline) {
			t.Fatalf("server did not come up on %s: %v", e.srvAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Host namespace with a bridge; bridged packets go through iptables.
	id := randHex(3)
	e.hostNS = newNetns(t, "bwe2e-"+id)
	e.host = "e2e-host-" + id
	for _, s := range []string{"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"} {
		if _, err := shErr(e.hostNS, "sysctl", "-w", s); err != nil {
			_, _ = shErr("", "modprobe", "br_netfilter") // a module load, nothing else
			if out, err := shErr(e.hostNS, "sysctl", "-w", s); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("br_netfilter unavailable: %s", out)
				}
				t.Skipf("br_netfilter unavailable, bridged packets would bypass iptables: %s", out)
			}
		}
	}
	sh(t, e.hostNS, "ip", "link", "set", "lo", "up")
	sh(t, e.hostNS, "ip", "link", "add", "br0", "type", "bridge")
	sh(t, e.hostNS, "ip", "link", "set", "br0", "up")

	// API objects: a network, a subnet, a group allowing ICMP and TCP
	// portProbe and portSession (each its own rule), and three ports bound
	// to the host.
	netID := str(obj(e.api.call("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "e2e"}}, 201), "network"), "id")
	subID := str(obj(e.api.call("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": netID, "ip_version": 4, "cidr": e2eCIDR}}, 201), "subnet"), "id")
	sgID := str(obj(e.api.call("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "e2e"}}, 201), "security_group"), "id")
	rule := func(body map[string]any) string {
		body["security_group_id"], body["direction"], body["ethertype"] = sgID, "ingress", "IPv4"
		return str(obj(e.api.call("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": body}, 201), "security_group_rule"), "id")
	}
	rule(map[string]any{"protocol": "icmp"})
	rule(map[string]any{"protocol": "tcp", "port_range_min": portProbe, "port_range_max": portProbe})
	sessionRule := rule(map[string]any{"protocol": "tcp", "port_range_min": portSession, "port_range_max": portSession})

	for i := 0; i < 3; i++ {
		ip := fmt.Sprintf("172.16.200.%d", 11+i)
		p := obj(e.api.call("POST", "/v2.0/ports", map[string]any{"port": map[string]any{
			"network_id": netID, "name": fmt.Sprintf("vm%d", i), "security_groups": []string{sgID},
			"fixed_ips":       []any{map[string]any{"subnet_id": subID, "ip_address": ip}},
			"binding:host_id": e.host}}, 201), "port")
		v := vm{ns: newNetns(t, fmt.Sprintf("bwe2e-%s-vm%d", id, i)), port: str(p, "id"), ip: ip, mac: str(p, "mac_address")}
		v.tap = "tap" + v.port[:11]
		if v.mac == "" {
			t.Fatalf("port without a MAC: %v", p)
		}
		sh(t, "", "ip", "-n", e.hostNS, "link", "add", v.tap, "type", "veth", "peer", "name", "eth0", "netns", v.ns)
		sh(t, e.hostNS, "ip", "link", "set", v.tap, "master", "br0", "up")
		sh(t, v.ns, "ip", "link", "set", "lo", "up")
		sh(t, v.ns, "ip", "link", "set", "eth0", "address", v.mac)
		sh(t, v.ns, "ip", "addr", "add", ip+"/24", "dev", "eth0")
		sh(t, v.ns, "ip", "link", "set", "eth0", "up")
		e.vms = append(e.vms, v)
	}
	// Listeners: VM1 and VM2 answer probes on the allowed and the denied
	// port; VM1 holds one long-lived session on portSession.
	for _, i := range []int{1, 2} {
		startProc(t, "nc", &logBuf{}, "ip", "netns", "exec", e.vms[i].ns, "nc", "-k", "-l", fmt.Sprint(portProbe))
		startProc(t, "nc", &logBuf{}, "ip", "netns", "exec", e.vms[i].ns, "nc", "-k", "-l", fmt.Sprint(portDenied))
		e.waitListen(e.vms[i].ns, portProbe)
		e.waitListen(e.vms[i].ns, portDenied)
	}
	// Without rules everything passes: otherwise the lab itself is broken
	// and the drops below would prove nothing.
	if !eventually(func() bool { return e.ping(0, e.vms[1].ip, "") && e.tcp(0, 1, portDenied) }) {
		t.Fatal("no connectivity before the agent ran: the lab is broken")
	}

	// 1. The agent converges: the denied port is dropped, ICMP and the
	// allowed port pass, the ports become ACTIVE.
	e.startAgent()
	if !eventually(func() bool { return !e.tcp(0, 1, portDenied) }) {
		t.Fatalf("step 1: TCP to the not-allowed port %d still passes %s after the agent started", portDenied, converge)
	}
	if !e.ping(0, e.vms[1].ip, "") {
		t.Fatal("step 1: allowed ping vm0 -> vm1 dropped")
	}
	if !e.tcp(0, 1, portProbe) {
		t.Fatalf("step 1: allowed TCP vm0 -> vm1:%d dropped", portProbe)
	}
	if e.tcp(0, 2, portDenied) {
		t.Fatalf("step 1: TCP vm0 -> vm2:%d passes although not allowed", portDenied)
	}
	if !eventually(func() bool {
		for _, v := range e.vms {
			if e.portStatus(v.port) != "ACTIVE" {
				return false
			}
		}
		return true
	}) {
		for _, v := range e.vms {
			t.Logf("port %s status %s", v.port, e.portStatus(v.port))
		}
		t.Fatal("step 1: ports did not become ACTIVE")
	}

	// 2. vm0 sending from a VIP is dropped (anti-spoofing) until the VIP
	// is an allowed address pair of its port.
	sh(t, e.vms[0].ns, "ip", "addr", "add", e2eVIP+"/24", "dev", "eth0")
	if e.ping(0, e.vms[1].ip, e2eVIP) {
		t.Fatalf("step 2: ping from the VIP %s passes although it is not an address pair of vm0's port", e2eVIP)
	}
	e.api.call("PUT", "/v2.0/ports/"+e.vms[0].port, map[string]any{"port": map[string]any{
		"allowed_address_pairs": []any{map[string]any{"ip_address": e2eVIP}}}}, 200)
	if !eventually(func() bool { return e.ping(0, e.vms[1].ip, e2eVIP) }) {
		t.Fatalf("step 2: ping from the VIP still dropped %s after it became an address pair", converge)
	}
	if !e.ping(0, e.vms[1].ip, "") {
		t.Fatal("step 2: ping from the fixed IP broke after adding the address pair")
	}

	// 3. Port security off on vm2: anything reaches it.
	e.api.call("PUT", "/v2.0/ports/"+e.vms[2].port, map[string]any{"port": map[string]any{
		"security_groups": []string{}, "port_security_enabled": false}}, 200)
	if !eventually(func() bool { return e.tcp(0, 2, portDenied) }) {
		t.Fatalf("step 3: TCP to vm2:%d still dropped %s after port security was disabled", portDenied, converge)
	}
	if e.tcp(0, 1, portDenied) {
		t.Fatal("step 3: vm1 (port security on) now passes the denied port too")
	}

	// 4. An established session survives an agent kill and restart.
	_, lines := startLineServer(t, e.vms[1].ns, portSession)
	e.waitListen(e.vms[1].ns, portSession)
	client := startClient(t, e.vms[0].ns, e.vms[1].ip, portSession)
	send := func(msg string) bool {
		if _, err := io.WriteString(client, msg+"\n"); err != nil {
			t.Fatalf("write to the nc client: %v", err)
		}
		select {
		case got, ok := <-lines:
			if !ok {
				return false
			}
			if got != msg {
				t.Fatalf("session server got %q, want %q", got, msg)
			}
			return true
		case <-time.After(3 * time.Second):
			return false
		}
	}
	if !send("hello") {
		t.Fatal("step 4: the session carries no data before the restart")
	}
	// The rule allowing the session is still there, so a restart that
	// lost its conntrack entry would go unnoticed by packets alone (the
	// next segment is accepted as new): compare the entry ids as well.
	ctBefore := e.sessionFlows()
	e.agent.kill()
	if !send("agent-down") {
		t.Fatal("step 4: the session stopped while the agent was down")
	}
	before := e.syncedCount()
	e.startAgent()
	if !eventually(func() bool { return e.syncedCount() > before }) {
		t.Fatalf("step 4: the restarted agent did not sync within %s", converge)
	}
	if !send("after-restart") {
		t.Fatal("step 4: the established session broke across the agent restart")
	}
	if ctAfter := e.sessionFlows(); ctAfter != ctBefore {
		t.Fatalf("step 4: the session's conntrack entries changed across the restart: %q -> %q", ctBefore, ctAfter)
	}
	if e.tcp(0, 1, portDenied) {
		t.Fatal("step 4: the restarted agent lets the denied port through")
	}
	if !e.tcp(0, 1, portProbe) {
		t.Fatal("step 4: the restarted agent drops the allowed port")
	}

	// 5. Removing the rule that allowed the session ends it (the agent
	// deletes the conntrack entries the new rules no longer allow).
	e.api.call("DELETE", "/v2.0/security-group-rules/"+sessionRule, nil, 204)
	if !eventually(func() bool { return !send("after-delete") }) {
		t.Fatalf("step 5: the session still carries data %s after the rule allowing it was deleted", converge)
	}
	if !eventually(func() bool { return !e.tcp(0, 1, portSession) }) {
		t.Fatal("step 5: new connections to the removed rule's port still pass")
	}
	if !e.tcp(0, 1, portProbe) {
		t.Fatal("step 5: the remaining rule's port is dropped too")
	}

	// 6. A remote-group member (a port bound to another host, its address
	// used by a device on the bridge the agent does not manage) holds a
	// session that only its membership allows; deleting that port removes
	// it from the group's set (the agent's member-only path) and ends the
	// session.
	peers := str(obj(e.api.call("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "peers"}}, 201), "security_group"), "id")
	rule(map[string]any{"protocol": "tcp", "port_range_min": portMember, "port_range_max": portMember, "remote_group_id": peers})
	remoteIP := "172.16.200.30"
	member := str(obj(e.api.call("POST", "/v2.0/ports", map[string]any{"port": map[string]any{
		"network_id": netID, "name": "remote-member", "security_groups": []string{peers},
		"fixed_ips":       []any{map[string]any{"subnet_id": subID, "ip_address": remoteIP}},
		"binding:host_id": "e2e-elsewhere-" + id}}, 201), "port"), "id")
	remote := newNetns(t, fmt.Sprintf("bwe2e-%s-remote", id))
	sh(t, "", "ip", "-n", e.hostNS, "link", "add", "rmt"+id, "type", "veth", "peer", "name", "eth0", "netns", remote)
	sh(t, e.hostNS, "ip", "link", "set", "rmt"+id, "master", "br0", "up")
	sh(t, remote, "ip", "link", "set", "lo", "up")
	sh(t, remote, "ip", "addr", "add", remoteIP+"/24", "dev", "eth0")
	sh(t, remote, "ip", "link", "set", "eth0", "up")
	_, memberLines := startLineServer(t, e.vms[1].ns, portMember)
	e.waitListen(e.vms[1].ns, portMember)
	if !eventually(func() bool {
		_, err := shErr(remote, "nc", "-z", "-w", "1", e.vms[1].ip, fmt.Sprint(portMember))
		return err == nil
	}) {
		t.Fatalf("step 6: the remote member cannot reach vm1:%d %s after the rule naming its group", portMember, converge)
	}
	if _, err := shErr(e.vms[0].ns, "nc", "-z", "-w", "1", e.vms[1].ip, fmt.Sprint(portMember)); err == nil {
		t.Fatal("step 6: vm0, not a member of the remote group, reaches the member-only port")
	}
	memberClient := startClient(t, remote, e.vms[1].ip, portMember)
	sendMember := func(msg string) bool {
		if _, err := io.WriteString(memberClient, msg+"\n"); err != nil {
			return false
		}
		select {
		case got, ok := <-memberLines:
			return ok && got == msg
		case <-time.After(3 * time.Second):
			return false
		}
	}
	if !sendMember("member-hello") {
		t.Fatal("step 6: the member's session carries no data")
	}
	e.api.call("DELETE", "/v2.0/ports/"+member, nil, 204)
	if !eventually(func() bool { return !sendMember("after-member-delete") }) {
		t.Fatalf("step 6: the removed member's session still carries data %s after its port was deleted", converge)
	}
	if _, err := shErr(remote, "nc", "-z", "-w", "1", e.vms[1].ip, fmt.Sprint(portMember)); err == nil {
		t.Fatal("step 6: new connections from the removed member still pass")
	}
	if !strings.Contains(e.agtLog.String(), "member_sets_only=true") {
		t.Error("step 6: the agent never applied a batch as a member-only change")
	}
	t.Logf("end-to-end run took %s", time.Since(start).Round(time.Millisecond))
}

// startLineServer runs `nc -k -l port` (kept listening, so new connections are judged by the rules, not refused) in ns and streams its lines.
func startLineServer(t *testing.T, ns string, port int) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nc", "-k", "-l", fmt.Sprint(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// startClient runs `nc ip port` in ns; what is written goes to the server.
func startClient(t *testing.T, ns, ip string, port int) io.Writer {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nc", ip, fmt.Sprint(port))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return in
}
