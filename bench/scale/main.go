// Command scale is the harness behind `make bench-scale`: several real
// `bulwark server` processes on one private PostgreSQL cluster (or one
// server on SQLite), N simulated agents in this process — the real sync
// code, internal/agent.Agent, with a recording Applier in place of the
// kernel — talking HTTP to the servers round-robin, and P ports spread
// over the agents. It measures the time from an API write being
// acknowledged to the change being applied on every affected agent:
//
//   - a rule added to a group that every port uses (every agent applies it)
//   - a one-port change (an allowed address pair; only its host applies it)
//   - an agent restart (new Agent, first full sync applied)
//
// and reports server memory and PostgreSQL load over the measured phase.
// Output: one markdown table row per run (and JSON with -json).
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/agent"
	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/gophercloud/gophercloud/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
)

type options struct {
	bin                string
	engine             string
	servers            int
	agents, ports      int
	ruleReps, portReps int
	restartReps        int
	durable            bool
	jsonOut            string
	loadWorkers        int
	perfOut            string
	pgStatements       bool
	ruleWarmup         int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/bulwark", "the bulwark binary")
	flag.StringVar(&o.engine, "db", "postgres", "postgres (a private cluster) or sqlite")
	flag.IntVar(&o.servers, "servers", 3, "bulwark server processes (1 with sqlite)")
	flag.IntVar(&o.agents, "agents", 100, "simulated agents (hosts)")
	flag.IntVar(&o.ports, "ports", 10000, "ports, spread evenly over the hosts")
	flag.IntVar(&o.ruleReps, "rule-reps", 5, "rule changes measured")
	flag.IntVar(&o.portReps, "port-reps", 30, "one-port changes measured")
	flag.IntVar(&o.restartReps, "restart-reps", 5, "agent restarts measured")
	flag.BoolVar(&o.durable, "durable", true, "PostgreSQL with fsync on (as in production)")
	flag.StringVar(&o.jsonOut, "json", "", "append the result as one JSON line to this file")
	flag.IntVar(&o.loadWorkers, "load-workers", 6, "parallel clients loading ports")
	flag.StringVar(&o.perfOut, "perf", "", "record `perf record -a -g` of the whole machine during the rule changes into this file")
	flag.IntVar(&o.ruleWarmup, "rule-warmup", 3, "rule changes before the measured ones, reported apart (the servers' caches fill)")
	flag.BoolVar(&o.pgStatements, "pg-statements", false, "log PostgreSQL's most frequent statements of the rule changes (pg_stat_statements)")
	flag.Parse()
	// The harness holds every simulated agent in one Go heap (about
	// 1.6 GB live at 1,000 agents): one collection of it takes about a
	// second and slows every agent at once, which real agents, each with
	// a heap of a few MB, never see. Collections are made between the
	// measured changes instead (runtime.GC below), with a target high
	// enough that none starts inside one.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if o.engine == "sqlite" {
		o.servers = 1
	}
	res, err := run(o)
	if err != nil {
		log.Fatalf("bench-scale: %v", err)
	}
	fmt.Println(res.row())
	if o.jsonOut != "" {
		f, err := os.OpenFile(o.jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			b, _ := json.Marshal(res)
			f.Write(append(b, '\n'))
			f.Close()
		}
	}
}

// result is one run's figures (durations in milliseconds).
type result struct {
	Engine          string  `json:"engine"`
	Servers         int     `json:"servers"`
	Agents          int     `json:"agents"`
	Ports           int     `json:"ports"`
	LoadSeconds     float64 `json:"load_s"`
	ConvergeSeconds float64 `json:"converge_s"`
	RuleP50         float64 `json:"rule_all_p50_ms"` // per agent, over every agent and repetition
	RuleP99         float64 `json:"rule_all_p99_ms"`
	RuleAllMax      float64 `json:"rule_last_agent_max_ms"` // slowest repetition's last agent
	// RuleFirstLast: the first rule changes after the agents connected
	// (the servers' interest caches still filling), the slowest one's time
	// to its last agent; not in the figures above.
	RuleFirstLast    float64 `json:"rule_first_last_agent_ms"`
	PortP50          float64 `json:"port_p50_ms"`
	PortP99          float64 `json:"port_p99_ms"`
	RestartP50       float64 `json:"restart_p50_ms"`
	RestartMax       float64 `json:"restart_max_ms"`
	ServerRSSMB      []int   `json:"server_rss_mb"`
	ServerPeakMB     []int   `json:"server_peak_rss_mb"`
	ServerCPUSeconds float64 `json:"server_cpu_s"` // all servers, measured phase
	PGCPUSeconds     float64 `json:"pg_cpu_s"`     // all PostgreSQL processes, measured phase
	PGXacts          int64   `json:"pg_xact_commit"`
	PGTupReturned    int64   `json:"pg_tup_returned"`
	PGTupFetched     int64   `json:"pg_tup_fetched"`
	PGTupWritten     int64   `json:"pg_tup_written"` // inserted + updated + deleted
	MeasureSeconds   float64 `json:"measure_s"`
	HarnessRSSMB     int     `json:"harness_rss_mb"`
}

func (r result) row() string {
	return fmt.Sprintf("| %s ×%d | %d | %d | %.0f s | %.0f s | %.0f ms | %.0f / %.0f ms (last %.0f) | %.0f / %.0f ms | %.0f / %.0f ms | %v MB (peak %v) | %.1f s | %.1f s | %d xact, %d tup read, %d written in %.0f s |",
		r.Engine, r.Servers, r.Agents, r.Ports, r.LoadSeconds, r.ConvergeSeconds, r.RuleFirstLast, r.RuleP50, r.RuleP99, r.RuleAllMax,
		r.PortP50, r.PortP99, r.RestartP50, r.RestartMax, r.ServerRSSMB, r.ServerPeakMB, r.ServerCPUSeconds, r.PGCPUSeconds,
		r.PGXacts, r.PGTupReturned+r.PGTupFetched, r.PGTupWritten, r.MeasureSeconds)
}

func run(o options) (*result, error) {
	res := &result{Engine: o.engine, Servers: o.servers, Agents: o.agents, Ports: o.ports}
	work, err := os.MkdirTemp("", "bulwark-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var dbURL string
	var pg *pgtest.Cluster
	if o.engine == "postgres" {
		var settings []string
		if o.pgStatements {
			settings = append(settings, "shared_preload_libraries=pg_stat_statements")
		}
		pg, err = pgtest.Start(pgtest.Options{Durable: o.durable, Settings: settings})
		if err != nil {
			return nil, err
		}
		defer pg.Stop()
		// An interrupted run still stops its cluster.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sigs
			pg.Stop()
			os.RemoveAll(work)
			os.Exit(130)
		}()
		if dbURL, err = pg.CreateNamedDatabase(context.Background(), "bulwark"); err != nil {
			return nil, err
		}
	} else {
		dbURL = "sqlite:" + filepath.Join(work, "bulwark.db")
	}
	var servers []*server
	for i := range o.servers {
		s, err := startServer(o.bin, dbURL, filepath.Join(work, fmt.Sprintf("server-%d.log", i)))
		if err != nil {
			return nil, err
		}
		defer s.stop()
		servers = append(servers, s)
	}
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.url)
	}
	rr := newRoundRobin(urls)
	httpc := &http.Client{Transport: rr, Timeout: 120 * time.Second}
	api := &client{http: httpc, base: "http://bulwark"}

	// Load: one project without quotas, a base group on every port, one
	// group per 10 hosts whose rule names the group itself as remote group
	// (so its members' addresses are in each of those hosts' sets), and
	// networks of up to 16k ports.
	start := time.Now()
	hosts := make([]string, o.agents)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("host-%04d", i)
	}
	base, tenantGroups, err := load(api, o, hosts)
	if err != nil {
		for i := range servers {
			b, _ := os.ReadFile(filepath.Join(work, fmt.Sprintf("server-%d.log", i)))
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) > 0 {
				log.Printf("server %d log tail:\n%s", i, strings.Join(lines[max(0, len(lines)-5):], "\n"))
			}
		}
		return nil, fmt.Errorf("load: %w", err)
	}
	res.LoadSeconds = time.Since(start).Seconds()
	if pg != nil {
		// A production database has planner statistics (autovacuum); a
		// bulk load minutes old may not yet.
		if err := analyze(dbURL); err != nil {
			return nil, err
		}
	}
	log.Printf("loaded %d ports on %d hosts in %.0f s", o.ports, o.agents, res.LoadSeconds)
	_ = tenantGroups

	// Agents.
	events := make(chan event, 1<<20)
	watched := &markers{}
	fleet := make([]*simAgent, o.agents)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start = time.Now()
	for i, h := range hosts {
		fleet[i] = startAgent(ctx, h, i, httpc, watched, events)
	}
	// Converged: every agent applied once and nothing applied for 2 s.
	if err := waitQuiet(fleet, 2*time.Second, 30*time.Minute); err != nil {
		return nil, err
	}
	res.ConvergeSeconds = time.Since(start).Seconds() - 2
	log.Printf("%d agents converged in %.1f s", o.agents, res.ConvergeSeconds)

	pgBefore := pgStats(pg, dbURL)
	cpuBefore := serversCPU(servers)
	pgCPUBefore := pgCPU(pg)
	measureStart := time.Now()

	// 1. A rule in the group every port uses: applied on every agent.
	stopPerf := startPerf(o.perfOut)
	if o.pgStatements {
		resetStatements(dbURL)
	}
	var ruleLat []float64
	for rep := range o.ruleWarmup + o.ruleReps {
		runtime.GC()
		drain(events)
		body := map[string]any{"security_group_rule": map[string]any{"security_group_id": base, "direction": "ingress",
			"protocol": "tcp", "port_range_min": 20000 + rep, "port_range_max": 20000 + rep}}
		var out struct {
			SecurityGroupRule struct{ ID string } `json:"security_group_rule"`
		}
		watchedID := fmt.Sprintf("rule-%d", rep)
		// The marker is the rule id, known only from the answer; agents
		// that applied it before the answer arrived are found by the
		// rescan of their last ruleset. Latency counts from the request.
		t0 := time.Now()
		if err := api.do("POST", "/v2.0/security-group-rules", body, 201, &out); err != nil {
			return nil, err
		}
		watched.set(watchedID, out.SecurityGroupRule.ID)
		for _, a := range fleet {
			a.rescan(watchedID, out.SecurityGroupRule.ID, t0, events)
		}
		lat, err := collect(events, watchedID, fleet, nil, t0, 60*time.Second)
		if err != nil {
			return nil, fmt.Errorf("rule change %d: %w", rep, err)
		}
		watched.clear(watchedID)
		slices.Sort(lat)
		log.Printf("rule change %d: p50 %.0f ms, last agent %.0f ms", rep, pct(lat, 50), lat[len(lat)-1])
		time.Sleep(500 * time.Millisecond)
		if rep < o.ruleWarmup {
			res.RuleFirstLast = max(res.RuleFirstLast, lat[len(lat)-1])
			continue
		}
		res.RuleAllMax = max(res.RuleAllMax, lat[len(lat)-1])
		ruleLat = append(ruleLat, lat...)
	}
	stopPerf()
	if o.pgStatements {
		logStatements(dbURL)
	}
	slices.Sort(ruleLat)
	res.RuleP50, res.RuleP99 = pct(ruleLat, 50), pct(ruleLat, 99)

	// 2. One port: an address pair with a new address; its host applies it.
	var portLat []float64
	runtime.GC()
	for rep := range o.portReps {
		drain(events)
		h := rand.IntN(o.agents)
		port := fleet[h].somePort()
		ip := fmt.Sprintf("10.250.%d.%d", rep/250, rep%250+1)
		marker := setMemberMarker + ip // the pair is a member of the port's pair set
		id := fmt.Sprintf("pair-%d", rep)
		watched.set(id, marker)
		t0 := time.Now()
		if err := api.do("PUT", "/v2.0/ports/"+port, map[string]any{"port": map[string]any{
			"allowed_address_pairs": []map[string]any{{"ip_address": ip}}}}, 200, nil); err != nil {
			return nil, err
		}
		lat, err := collect(events, id, fleet, []int{h}, t0, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("port change %d: %w", rep, err)
		}
		watched.clear(id)
		portLat = append(portLat, lat...)
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(portLat)
	res.PortP50, res.PortP99 = pct(portLat, 50), pct(portLat, 99)
	log.Printf("one-port change: p50 %.0f ms, p99 %.0f ms", res.PortP50, res.PortP99)

	// 3. Agent restarts: a new Agent for the host, timed to its first
	// applied ruleset.
	var restartLat []float64
	for rep := range o.restartReps {
		i := (rep * 7919) % o.agents
		fleet[i].stop()
		t0 := time.Now()
		fleet[i] = startAgent(ctx, hosts[i], i, httpc, watched, events)
		<-fleet[i].firstApply
		restartLat = append(restartLat, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(restartLat)
	res.RestartP50, res.RestartMax = pct(restartLat, 50), restartLat[len(restartLat)-1]
	log.Printf("agent restart: p50 %.0f ms, max %.0f ms", res.RestartP50, res.RestartMax)

	res.MeasureSeconds = time.Since(measureStart).Seconds()
	res.ServerCPUSeconds = serversCPU(servers) - cpuBefore
	res.PGCPUSeconds = pgCPU(pg) - pgCPUBefore
	if pg != nil {
		after := pgStats(pg, dbURL)
		res.PGXacts = after[0] - pgBefore[0]
		res.PGTupReturned = after[1] - pgBefore[1]
		res.PGTupFetched = after[2] - pgBefore[2]
		res.PGTupWritten = after[3] - pgBefore[3]
	}
	for _, s := range servers {
		rss, peak := procMem(s.cmd.Process.Pid)
		res.ServerRSSMB = append(res.ServerRSSMB, rss)
		res.ServerPeakMB = append(res.ServerPeakMB, peak)
	}
	res.HarnessRSSMB, _ = procMem(os.Getpid())
	if pg != nil {
		logTableScans(dbURL)
	}
	cancel()
	for _, a := range fleet {
		a.stop()
	}
	return res, nil
}

// startPerf records a system-wide profile into out until the returned
// function is called ("" records nothing).
func startPerf(out string) func() {
	if out == "" {
		return func() {}
	}
	cmd := exec.Command("perf", "record", "-a", "-g", "-F", "499", "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Printf("perf: %v", err)
		return func() {}
	}
	time.Sleep(time.Second) // perf needs a moment before it records
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}

// ---- servers ----

type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startServer(bin, db, logPath string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "server", "--listen", addr, "--db", db, "--auth", "noauth", "--default-project", "bench")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// The servers die with the harness, however it ends.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(s.url + "/v2.0/networks?limit=1"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("server exited: %s", b)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("server %s not ready", s.url)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// roundRobin sends each request to the next server (a load balancer
// without affinity: a long poll and the snapshot that follows it may go
// to different servers).
type roundRobin struct {
	hosts []string
	next  atomic.Uint64
	t     *http.Transport
}

func newRoundRobin(urls []string) *roundRobin {
	rr := &roundRobin{t: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 2048, IdleConnTimeout: 90 * time.Second}}
	for _, u := range urls {
		rr.hosts = append(rr.hosts, strings.TrimPrefix(u, "http://"))
	}
	return rr
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Host = rr.hosts[rr.next.Add(1)%uint64(len(rr.hosts))]
	r.Host = r.URL.Host
	return rr.t.RoundTrip(r)
}

// ---- API client for loading and writes ----

type client struct {
	http *http.Client
	base string
}

func (c *client) do(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	for attempt := 0; ; attempt++ {
		if rd != nil {
			rd.(*bytes.Reader).Seek(0, io.SeekStart)
		}
		req, _ := http.NewRequest(method, c.base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		res, err := c.http.Do(req)
		if err != nil {
			if attempt < 3 {
				continue
			}
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 503 && attempt < 3 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if res.StatusCode != want {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
}

func load(api *client, o options, hosts []string) (string, []string, error) {
	if err := api.do("PUT", "/v2.0/quotas/bench", map[string]any{"quota": map[string]any{
		"network": -1, "subnet": -1, "port": -1, "security_group": -1, "security_group_rule": -1}}, 200, nil); err != nil {
		return "", nil, err
	}
	var g struct {
		SecurityGroup struct{ ID string } `json:"security_group"`
	}
	if err := api.do("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "base"}}, 201, &g); err != nil {
		return "", nil, err
	}
	base := g.SecurityGroup.ID
	for _, r := range []map[string]any{
		{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"},
		{"protocol": "icmp"},
		{"protocol": "vrrp"},
	} {
		r["security_group_id"], r["direction"] = base, "ingress"
		if err := api.do("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": r}, 201, nil); err != nil {
			return "", nil, err
		}
	}
	// A group per 10 hosts with a remote-group rule on itself.
	var tenant []string
	for i := 0; i < (len(hosts)+9)/10; i++ {
		if err := api.do("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": fmt.Sprintf("tenant-%d", i)}}, 201, &g); err != nil {
			return "", nil, err
		}
		id := g.SecurityGroup.ID
		tenant = append(tenant, id)
		if err := api.do("POST", "/v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{
			"security_group_id": id, "direction": "ingress", "protocol": "tcp", "remote_group_id": id}}, 201, nil); err != nil {
			return "", nil, err
		}
	}
	// Networks of up to 16,000 ports, each with a /18 subnet.
	const perNet = 16000
	var nets []string
	for i := 0; i*perNet < o.ports; i++ {
		var n struct{ Network struct{ ID string } }
		if err := api.do("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": fmt.Sprintf("net-%d", i)}}, 201, &n); err != nil {
			return "", nil, err
		}
		cidr := fmt.Sprintf("10.%d.%d.0/18", i/4, (i%4)*64)
		if err := api.do("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": n.Network.ID, "cidr": cidr, "ip_version": 4}}, 201, nil); err != nil {
			return "", nil, err
		}
		nets = append(nets, n.Network.ID)
	}
	// Ports in bulk requests of 100, port i on host i % agents.
	const batch = 100
	jobs := make(chan int)
	errc := make(chan error, o.loadWorkers)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range o.loadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range jobs {
				var items []map[string]any
				for i := from; i < min(from+batch, o.ports); i++ {
					h := i % len(hosts)
					items = append(items, map[string]any{"network_id": nets[i/perNet], "binding:host_id": hosts[h],
						"device_owner": "compute:nova", "security_groups": []string{base, tenant[h/10]}, "name": fmt.Sprintf("p%d", i)})
				}
				if err := api.do("POST", "/v2.0/ports", map[string]any{"ports": items}, 201, nil); err != nil {
					errc <- err
					return
				}
				if n := done.Add(int64(len(items))); n%10000 < batch {
					log.Printf("  %d ports", n)
				}
			}
		}()
	}
	var err error
feed:
	for from := 0; from < o.ports; from += batch {
		select {
		case jobs <- from:
		case err = <-errc:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil && len(errc) > 0 {
		err = <-errc
	}
	return base, tenant, err
}

// ---- simulated agents ----

// markers are the strings the recording appliers look for: a rule id in
// a rule's comment, or (setMemberMarker) a member of a set: an address
// pair in its port's pair set.
type markers struct {
	mu sync.RWMutex
	m  map[string]string // measurement id -> marker
}

func (w *markers) set(id, marker string) {
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]string{}
	}
	w.m[id] = marker
	w.mu.Unlock()
}

func (w *markers) clear(id string) {
	w.mu.Lock()
	delete(w.m, id)
	w.mu.Unlock()
}

func (w *markers) snapshot() map[string]string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make(map[string]string, len(w.m))
	for k, v := range w.m {
		out[k] = v
	}
	return out
}

// event: agent `agent` applied a ruleset with measurement id's marker.
type event struct {
	agent int
	id    string
	at    time.Time
}

// recorder is the simulated dataplane: it keeps the last ruleset and
// reports the markers it contains.
type recorder struct {
	index   int
	watched *markers
	events  chan<- event

	mu   sync.Mutex
	last *firewall.Ruleset
	// prev is the ruleset applied before last (rule slices are immutable
	// and shared between rulesets: an unchanged chain has the same slice),
	// so that only new chains are searched for markers.
	prev       *firewall.Ruleset
	zones      map[string]uint16
	applies    int
	lastApply  time.Time
	firstApply chan struct{}
	once       sync.Once
}

func (r *recorder) Apply(ctx context.Context, rs *firewall.Ruleset) error {
	now := time.Now()
	// Stored before the markers are read: a marker set after this read is
	// found by the harness's rescan of r.last.
	r.mu.Lock()
	r.last, r.applies, r.lastApply = rs, r.applies+1, now
	r.zones = rs.Zones
	// The chains this apply changed; a marker set before this point can
	// only be in them (one set later is found by the rescan). Chains come
	// sorted by name: a merge walk against the previous ruleset.
	var changed []*firewall.Chain
	for f, tables := range rs.Tables {
		for t, tr := range tables {
			var old []firewall.Chain
			if r.prev != nil && r.prev.Tables[f] != nil && r.prev.Tables[f][t] != nil {
				old = r.prev.Tables[f][t].Chains
			}
			j := 0
			for i := range tr.Chains {
				c := &tr.Chains[i]
				for j < len(old) && old[j].Name < c.Name {
					j++
				}
				if j < len(old) && old[j].Name == c.Name && sameRules(old[j].Rules, c.Rules) {
					continue
				}
				changed = append(changed, c)
			}
		}
	}
	r.prev = rs
	r.mu.Unlock()
	for id, m := range r.watched.snapshot() {
		if setsContain(rs, m) || chainsContain(changed, m) {
			r.events <- event{agent: r.index, id: id, at: now}
		}
	}
	r.once.Do(func() { close(r.firstApply) })
	return nil
}

func (r *recorder) Zones(ctx context.Context) (map[string]uint16, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint16, len(r.zones))
	for k, v := range r.zones {
		out[k] = v
	}
	return out, nil
}

// sameRules reports whether two rule slices are the same slice.
func sameRules(a, b []firewall.Rule) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// setMemberMarker prefixes a marker that is a set member, not a string in
// a rule.
const setMemberMarker = "member "

func setsContain(rs *firewall.Ruleset, m string) bool {
	member, ok := strings.CutPrefix(m, setMemberMarker)
	if !ok {
		return false
	}
	for _, s := range rs.Sets {
		if slices.Contains(s.Members, member) {
			return true
		}
	}
	return false
}

func chainsContain(chains []*firewall.Chain, m string) bool {
	for _, c := range chains {
		for _, rule := range c.Rules {
			if strings.Contains(rule.Comment, m) || strings.Contains(rule.Match, m) {
				return true
			}
		}
	}
	return false
}

func containsMarker(rs *firewall.Ruleset, m string) bool {
	if strings.HasPrefix(m, setMemberMarker) {
		return setsContain(rs, m)
	}
	for _, tables := range rs.Tables {
		for _, tr := range tables {
			for _, c := range tr.Chains {
				for _, rule := range c.Rules {
					if strings.Contains(rule.Comment, m) || strings.Contains(rule.Match, m) {
						return true
					}
				}
			}
		}
	}
	return false
}

// devices: the simulated taps do not exist, so ports stay DOWN as
// created and the agents send no status updates (only the sync is
// measured); every network has one bridge.
type devices struct{}

func (devices) Exists(string) bool       { return false }
func (devices) Bridge(dev string) string { return "brbench" }

type simAgent struct {
	rec        *recorder
	cancel     context.CancelFunc
	done       chan struct{}
	firstApply chan struct{}
}

func startAgent(parent context.Context, host string, index int, httpc *http.Client, watched *markers, events chan<- event) *simAgent {
	rec := &recorder{index: index, watched: watched, events: events, firstApply: make(chan struct{})}
	pc := &gophercloud.ProviderClient{HTTPClient: *httpc}
	nc := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: "http://bulwark/", ResourceBase: "http://bulwark/v2.0/"}
	a := agent.New(agent.Config{Host: host, Client: nc, Applier: rec, Devices: devices{},
		Log: slog.New(slog.DiscardHandler), WatchWait: 25 * time.Second, RetryFloor: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(parent)
	s := &simAgent{rec: rec, cancel: cancel, done: make(chan struct{}), firstApply: rec.firstApply}
	go func() { defer close(s.done); _ = a.Run(ctx) }()
	return s
}

func (s *simAgent) stop() {
	s.cancel()
	<-s.done
}

// rescan reports a marker already present in the last applied ruleset
// (applied before the harness knew the marker, but not before since).
func (s *simAgent) rescan(id, marker string, since time.Time, events chan<- event) {
	s.rec.mu.Lock()
	rs, at := s.rec.last, s.rec.lastApply
	s.rec.mu.Unlock()
	if rs != nil && !at.Before(since) && containsMarker(rs, marker) {
		events <- event{agent: s.rec.index, id: id, at: at}
	}
}

func (s *simAgent) somePort() string {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if len(s.rec.last.Ports) == 0 {
		return ""
	}
	return s.rec.last.Ports[rand.IntN(len(s.rec.last.Ports))].ID
}

func waitQuiet(fleet []*simAgent, quiet, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		all := true
		var latest time.Time
		for _, a := range fleet {
			a.rec.mu.Lock()
			n, at := a.rec.applies, a.rec.lastApply
			a.rec.mu.Unlock()
			if n == 0 {
				all = false
				break
			}
			if at.After(latest) {
				latest = at
			}
		}
		if all && time.Since(latest) >= quiet {
			return nil
		}
	}
	return fmt.Errorf("agents did not converge within %v", limit)
}

func drain(events chan event) {
	for {
		select {
		case <-events:
		default:
			return
		}
	}
}

// collect waits until every agent in want (nil: all) reported id and
// returns each one's latency after sent (the write request), in
// milliseconds.
func collect(events chan event, id string, fleet []*simAgent, want []int, sent time.Time, limit time.Duration) ([]float64, error) {
	need := map[int]bool{}
	if want == nil {
		for i := range fleet {
			need[i] = true
		}
	} else {
		for _, i := range want {
			need[i] = true
		}
	}
	var out []float64
	timeout := time.After(limit)
	for len(need) > 0 {
		select {
		case ev := <-events:
			if ev.id != id || !need[ev.agent] {
				continue
			}
			delete(need, ev.agent)
			out = append(out, max(0, float64(ev.at.Sub(sent).Microseconds())/1000))
		case <-timeout:
			return nil, fmt.Errorf("%d agents never applied it within %v", len(need), limit)
		}
	}
	return out, nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// ---- resource figures ----

func procMem(pid int) (rssMB, peakMB int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rssMB = kb / 1024
		case "VmHWM:":
			peakMB = kb / 1024
		}
	}
	return rssMB, peakMB
}

// cpuSeconds is a process's user+system time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func serversCPU(servers []*server) float64 {
	var t float64
	for _, s := range servers {
		t += cpuSeconds(s.cmd.Process.Pid)
	}
	return t
}

// pgCPU sums the CPU time of the postmaster and all its children
// (backends exit with their connections; the live ones are counted, and
// the servers' pools keep theirs open).
func pgCPU(pg *pgtest.Cluster) float64 {
	if pg == nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(pg.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pm, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	t := cpuSeconds(pm)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(st)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 && f[1] == strconv.Itoa(pm) {
			t += cpuSeconds(pid)
		}
	}
	return t
}

// pgStats: xact_commit, tup_returned, tup_fetched, tup written.
func pgStats(pg *pgtest.Cluster, url string) [4]int64 {
	var out [4]int64
	if pg == nil {
		return out
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return out
	}
	defer db.Close()
	_ = db.QueryRow("SELECT xact_commit, tup_returned, tup_fetched, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()").
		Scan(&out[0], &out[1], &out[2], &out[3])
	return out
}

// logTableScans logs the tables read most by sequential scans (what to
// index or cache next).
func resetStatements(url string) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return
	}
	defer db.Close()
	if _, err := db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		log.Printf("pg_stat_statements: %v", err)
	}
	_, _ = db.Exec("SELECT pg_stat_statements_reset()")
}

// logStatements prints the statements run most often since the reset.
func logStatements(url string) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return
	}
	defer db.Close()
	rows, err := db.Query("SELECT calls, round(total_exec_time::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY calls DESC LIMIT 15")
	if err != nil {
		log.Printf("pg_stat_statements: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var calls int64
		var ms float64
		var q string
		if rows.Scan(&calls, &ms, &q) == nil {
			log.Printf("  %8d calls %9.1f ms  %s", calls, ms, q)
		}
	}
}

func logTableScans(url string) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return
	}
	defer db.Close()
	rows, err := db.Query("SELECT relname, seq_scan, seq_tup_read, COALESCE(idx_scan, 0), COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables ORDER BY seq_tup_read DESC LIMIT 6")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq, seqRead, idx, idxFetch int64
		if rows.Scan(&name, &seq, &seqRead, &idx, &idxFetch) == nil {
			log.Printf("  table %-22s seq scans %8d (%10d rows)  index scans %9d (%10d rows)", name, seq, seqRead, idx, idxFetch)
		}
	}
}

func analyze(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("ANALYZE")
	return err
}
