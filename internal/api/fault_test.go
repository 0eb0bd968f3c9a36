package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/agent"
	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/gophercloud/gophercloud/v2"
)

// Fault tests run the real binary (`bulwark server --db postgres://...`)
// as child processes, kill them, and restart PostgreSQL under them.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// bulwarkBinary builds cmd/bulwark once per test process.
func bulwarkBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bulwark-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bulwark")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(gobin, "build", "-o", binPath, "github.com/bulwark-net/bulwark/cmd/bulwark").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// serverProc is one `bulwark server` child process.
type serverProc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuf
	done chan struct{}
}

// startServerProc starts a real `bulwark server` on db (noauth unless
// extra flags say otherwise: the last --auth wins).
func startServerProc(t *testing.T, db string, extra ...string) *serverProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &serverProc{url: "http://" + addr, logs: &syncBuf{}, done: make(chan struct{})}
	args := append([]string{"server", "--listen", addr, "--db", db, "--auth", "noauth", "--default-project", defaultProject}, extra...)
	p.cmd = exec.Command(bulwarkBinary(t), args...)
	p.cmd.Dir = t.TempDir() // a keystone server on PostgreSQL writes admin-openrc into its working directory
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(p.url + "/v2.0/networks")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 || res.StatusCode == 401 { // 401: keystone mode, up
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited at start: %s", p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill is kill -9.
func (p *serverProc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// rawCall sends one request; it returns the status (0 when the server
// could not be reached or the connection broke) and the body.
func rawCall(client *http.Client, method, url string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil
	}
	return res.StatusCode, b
}

// TestKillServerDuringWriteStorm: clients write through two servers; one
// is killed with SIGKILL mid-storm. Clients retry on the other server.
// Every write that was acknowledged (201) is in the database; none got a
// 500.
func TestKillServerDuringWriteStorm(t *testing.T) {
	if backend != pgtest.Postgres {
		t.Skip("several servers need PostgreSQL; this run is on " + backend)
	}
	db := pgtest.NewDatabase(t)
	servers := []*serverProc{startServerProc(t, db), startServerProc(t, db)}
	client := &http.Client{Timeout: 10 * time.Second}

	for w := range 8 {
		if status, body := rawCall(client, "PUT", servers[0].url+"/v2.0/quotas/"+fmt.Sprintf("storm-%d", w),
			map[string]any{"quota": map[string]any{"network": -1}}); status != 200 {
			t.Fatalf("quota: %d %s", status, body)
		}
	}
	var mu sync.Mutex
	acked := map[string]string{} // network id -> name
	var stop atomic.Bool
	var killed atomic.Bool
	var retries atomic.Int32
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("storm-%d-%d", w, i)
				for attempt := 0; attempt < 20 && !stop.Load(); attempt++ {
					s := servers[(w+i+attempt)%2]
					if killed.Load() {
						s = servers[1]
					}
					status, body := rawCall(client, "POST", s.url+"/v2.0/networks", map[string]any{"network": map[string]any{"name": name, "project_id": fmt.Sprintf("storm-%d", w)}})
					if status == 201 {
						var n struct{ Network struct{ ID string } }
						_ = json.Unmarshal(body, &n)
						mu.Lock()
						acked[n.Network.ID] = name
						mu.Unlock()
						break
					}
					if status != 0 && status != 503 {
						t.Errorf("%s: %d %s", s.url, status, body)
						break
					}
					retries.Add(1) // unreachable, broken connection or 503: try the other one
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	servers[0].kill()
	killed.Store(true)
	mu.Lock()
	killedAt := len(acked)
	mu.Unlock()
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	status, body := rawCall(client, "GET", servers[1].url+"/v2.0/networks?fields=id&fields=name", nil)
	if status != 200 {
		t.Fatalf("list after the storm: %d %s", status, body)
	}
	var list struct{ Networks []struct{ ID, Name string } }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, n := range list.Networks {
		have[n.ID] = n.Name
	}
	for id, name := range acked {
		if have[id] != name {
			t.Errorf("acknowledged network %s (%s) is not in the database", id, name)
		}
	}
	if len(acked) <= killedAt {
		t.Errorf("no write acknowledged after the kill (%d before, %d in all)", killedAt, len(acked))
	}
	t.Logf("%d writes acknowledged (%d before the kill), %d retried, %d in the database", len(acked), killedAt, retries.Load(), len(have))

	// The killed server comes back on the same database.
	again := startServerProc(t, db)
	if status, _ := rawCall(client, "GET", again.url+"/v2.0/networks", nil); status != 200 {
		t.Errorf("restarted server: %d", status)
	}
}

// TestPostgresRestart: while PostgreSQL is down a server answers 503
// with a NeutronError (never 500), and it recovers by itself when the
// database is back, the watch feed included.
func TestPostgresRestart(t *testing.T) {
	if backend != pgtest.Postgres {
		t.Skip("PostgreSQL restart; this run is on " + backend)
	}
	// A cluster of its own: the package's shared one stays up.
	pg, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	db, err := pg.CreateDatabase(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := startServerProc(t, db)
	other := startServerProc(t, db) // its LISTEN connection must come back too
	keystone := startServerProc(t, db, "--auth", "keystone", "--admin-password", "restart-test")
	authBody := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": "admin", "domain": map[string]any{"name": "Default"}, "password": "restart-test"}}}}}
	client := &http.Client{Timeout: 30 * time.Second}
	if status, body := rawCall(client, "POST", s.url+"/v2.0/networks", map[string]any{"network": map[string]any{"name": "before"}}); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	_, body := rawCall(client, "GET", s.url+"/v2.0/bulwark/hosts/h1/state", nil)
	var state struct{ Revision int64 }
	_ = json.Unmarshal(body, &state)

	if err := pg.StopServer(); err != nil {
		t.Fatal(err)
	}
	down := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v2.0/networks", nil},
		{"POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "during"}}},
		{"GET", "/v2.0/security-groups", nil},
		{"GET", "/v2.0/bulwark/hosts/h1/state", nil},
		{"GET", fmt.Sprintf("/v2.0/bulwark/watch?host=h1&since=%d&timeout=0", state.Revision), nil},
	}
	for round := range 3 {
		// The identity API on the same listener: 503 too, in Keystone's
		// error shape.
		if status, body := rawCall(client, "POST", keystone.url+"/v3/auth/tokens", authBody); status != 503 || !strings.Contains(string(body), `"code":503`) {
			t.Errorf("round %d, database down: POST /v3/auth/tokens -> %d %s", round, status, body)
		}
		for _, d := range down {
			status, body := rawCall(client, d.method, s.url+d.path, d.body)
			var ne struct {
				NeutronError *struct{ Type, Message string }
			}
			_ = json.Unmarshal(body, &ne)
			if status != 503 || ne.NeutronError == nil || ne.NeutronError.Type != "ServiceUnavailable" {
				t.Errorf("round %d, database down: %s %s -> %d %s", round, d.method, d.path, status, body)
			}
		}
	}
	if err := pg.StartServer(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body := rawCall(client, "POST", s.url+"/v2.0/networks", map[string]any{"network": map[string]any{"name": "after"}})
		if status == 201 {
			break
		}
		if status != 503 {
			t.Fatalf("recovering: %d %s", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database came back: %d %s\n%s", status, body, s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, body := rawCall(client, "GET", s.url+"/v2.0/networks?fields=name", nil)
	if status != 200 || !strings.Contains(string(body), `"before"`) || !strings.Contains(string(body), `"after"`) || strings.Contains(string(body), `"during"`) {
		t.Errorf("after recovery: %d %s", status, body)
	}
	// The watch feed works again across servers: a long poll on the
	// other server hears a port bound to h1 through the first one
	// (both LISTEN loops reconnected).
	_, body = rawCall(client, "GET", s.url+"/v2.0/bulwark/hosts/h1/state", nil)
	_ = json.Unmarshal(body, &state)
	polled := make(chan string, 1)
	go func() {
		status, body := rawCall(client, "GET", fmt.Sprintf("%s/v2.0/bulwark/watch?host=h1&since=%d&timeout=20", other.url, state.Revision), nil)
		polled <- fmt.Sprintf("%d %s", status, body)
	}()
	time.Sleep(300 * time.Millisecond)
	var net struct{ Network struct{ ID string } }
	_, body = rawCall(client, "GET", s.url+"/v2.0/networks?name=after", nil)
	var nets struct{ Networks []struct{ ID string } }
	_ = json.Unmarshal(body, &nets)
	_ = net
	if len(nets.Networks) != 1 {
		t.Fatalf("network 'after': %s", body)
	}
	if status, body := rawCall(client, "POST", s.url+"/v2.0/ports", map[string]any{"port": map[string]any{"network_id": nets.Networks[0].ID, "binding:host_id": "h1"}}); status != 201 {
		t.Fatalf("port: %d %s", status, body)
	}
	wrote := time.Now()
	select {
	case got := <-polled:
		if !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"resource":"port"`) {
			t.Errorf("watch on the other server after recovery: %s", got)
		}
		if lag := time.Since(wrote); lag > 5*time.Second {
			t.Errorf("the other server heard the port after %v", lag)
		}
	case <-time.After(25 * time.Second):
		t.Error("the other server's watch never answered")
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Errorf("server log shows a panic:\n%s", s.logs.String())
	}
}

// failover is a load balancer without affinity that skips a server it
// cannot connect to (as a health-checking balancer would).
type failover struct {
	hosts []string
	next  atomic.Uint64
	t     http.RoundTripper
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	var err error
	for range len(f.hosts) {
		r := req.Clone(req.Context())
		r.URL.Host = f.hosts[f.next.Add(1)%uint64(len(f.hosts))]
		r.Host = r.URL.Host
		var res *http.Response
		if res, err = f.t.RoundTrip(r); err == nil {
			return res, nil
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return nil, err
		}
	}
	return nil, err
}

// ruleRecorder is an agent's dataplane that remembers the rule comments
// of the last applied ruleset.
type ruleRecorder struct {
	mu   sync.Mutex
	text string
}

func (r *ruleRecorder) Apply(ctx context.Context, rs *firewall.Ruleset) error {
	var b strings.Builder
	for _, tables := range rs.Tables {
		for _, tr := range tables {
			for _, c := range tr.Chains {
				for _, rule := range c.Rules {
					b.WriteString(rule.Comment + "\n")
				}
			}
		}
	}
	r.mu.Lock()
	r.text = b.String()
	r.mu.Unlock()
	return nil
}

func (r *ruleRecorder) Zones(ctx context.Context) (map[string]uint16, error) {
	return map[string]uint16{}, nil
}

func (r *ruleRecorder) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Contains(r.text, s)
}

// TestAgentSwitchesServers: an agent (the real sync loop) reaches two
// servers through a balancer; one is killed; a rule written through the
// other still reaches the agent.
func TestAgentSwitchesServers(t *testing.T) {
	if backend != pgtest.Postgres {
		t.Skip("several servers need PostgreSQL; this run is on " + backend)
	}
	db := pgtest.NewDatabase(t)
	a, b := startServerProc(t, db), startServerProc(t, db)
	lb := &failover{hosts: []string{strings.TrimPrefix(a.url, "http://"), strings.TrimPrefix(b.url, "http://")}, t: http.DefaultTransport}
	hc := http.Client{Transport: lb, Timeout: 40 * time.Second}
	api := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		status, out := rawCall(&hc, method, "http://bulwark"+path, body)
		for try := 0; status == 0 && try < 3; try++ {
			// A pooled connection to the killed server: the request never
			// reached a live one; the client retries.
			status, out = rawCall(&hc, method, "http://bulwark"+path, body)
		}
		if status != want {
			t.Fatalf("%s %s: %d %s", method, path, status, out)
		}
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return m
	}
	n := api("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "n"}}, 201)["network"].(map[string]any)
	api("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n["id"], "cidr": "10.9.0.0/24", "ip_version": 4}}, 201)
	g := api("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "g"}}, 201)["security_group"].(map[string]any)
	api("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": n["id"], "binding:host_id": "h1", "security_groups": []any{g["id"]}}}, 201)

	rec := &ruleRecorder{}
	nc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: hc}, Endpoint: "http://bulwark/", ResourceBase: "http://bulwark/v2.0/"}
	ag := agent.New(agent.Config{Host: "h1", Client: nc, Applier: rec, Log: slog.New(slog.DiscardHandler), WatchWait: 5 * time.Second, RetryFloor: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ag.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("agent never applied %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	r1 := api("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": g["id"], "direction": "ingress", "protocol": "tcp"}}, 201)
	waitFor("the first rule", func() bool { return rec.has(r1["security_group_rule"].(map[string]any)["id"].(string)) })

	a.kill()
	r2 := api("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{"security_group_id": g["id"], "direction": "ingress", "protocol": "udp"}}, 201)
	start := time.Now()
	waitFor("the rule written after the kill", func() bool { return rec.has(r2["security_group_rule"].(map[string]any)["id"].(string)) })
	t.Logf("applied %v after the write, one server killed", time.Since(start))
}
