package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// cluster is several Bulwark servers on one PostgreSQL database, each
// with its own store (its own connection pool and LISTEN connection), as
// `bulwark server --db postgres://...` on several machines.
type cluster struct {
	lb     *env   // a round-robin load balancer over every server
	nodes  []*env // each server on its own
	stores []*sqldb.DB
}

// newCluster starts n servers on a fresh PostgreSQL database; tests that
// need it skip on the SQLite run.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	if backend != pgtest.Postgres {
		t.Skip("several servers share a PostgreSQL database; this run is on " + backend)
	}
	url := pgtest.NewDatabase(t)
	c := &cluster{}
	var handlers []http.Handler
	for range n {
		st, err := sqldb.OpenPostgres(context.Background(), url, sqldb.PostgresOptions{MaxConns: 8})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		c.stores = append(c.stores, st)
		h := api.New(service.New(st, service.DefaultConfig()), api.NoAuth{DefaultProject: defaultProject}, nil)
		handlers = append(handlers, h)
		c.nodes = append(c.nodes, serveEnv(t, h, func() {}))
	}
	var next atomic.Uint64
	c.lb = serveEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[next.Add(1)%uint64(n)].ServeHTTP(w, r)
	}), func() {
		for _, st := range c.stores {
			if err := st.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	return c
}

// forEachTopology runs a concurrency test on one server, and (on the
// PostgreSQL run) on three servers behind a round-robin balancer.
func forEachTopology(t *testing.T, test func(t *testing.T, e *env)) {
	t.Run("one-server", func(t *testing.T) { test(t, newEnv(t)) })
	if backend == pgtest.Postgres {
		t.Run("three-servers", func(t *testing.T) { test(t, newCluster(t, 3).lb) })
	}
}

// watchAsync long-polls the watch feed without failing the test from the
// polling goroutine.
func watchAsync(e *env, host string, since int64, timeout int) <-chan watchResult {
	out := make(chan watchResult, 1)
	go func() {
		start := time.Now()
		res, err := http.Get(fmt.Sprintf("%s/v2.0/bulwark/watch?host=%s&since=%d&timeout=%d", e.srv.URL, host, since, timeout))
		if err != nil {
			out <- watchResult{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var w watchAnswer
		if res.StatusCode != 200 {
			err = fmt.Errorf("watch: %d %s", res.StatusCode, b)
		} else {
			err = json.Unmarshal(b, &w)
		}
		out <- watchResult{w: w, err: err, at: time.Now(), took: time.Since(start)}
	}()
	return out
}

type watchResult struct {
	w    watchAnswer
	err  error
	at   time.Time
	took time.Duration
}

// TestWatchAcrossServers: an agent watching through server B hears a
// write made through server A at once (NOTIFY → LISTEN → Notifier),
// resumes from its revision on server C without a resync, and is told to
// resync when the revision it holds was compacted away.
func TestWatchAcrossServers(t *testing.T) {
	c := newCluster(t, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	f := a.newNet("n", "10.7.0.0/24")
	g := str(a.newGroup("web"), "id")
	port := str(a.newPort(f.net, map[string]any{"binding:host_id": "h1", "security_groups": []string{g}}), "id")
	rev := int64(num(b.must(200, "GET", "/v2.0/bulwark/hosts/h1/state", nil).JSON(t), "revision"))

	for round := range 3 {
		w := watchAsync(b, "h1", rev, 20)
		time.Sleep(200 * time.Millisecond) // B's watcher is asleep
		rule := a.create("security-group-rules", "security_group_rule", map[string]any{"security_group_id": g, "direction": "ingress",
			"protocol": "tcp", "port_range_min": 1000 + round, "port_range_max": 1000 + round})
		wrote := time.Now()
		r := <-w
		if r.err != nil {
			t.Fatal(r.err)
		}
		if lag := r.at.Sub(wrote); lag > 3*time.Second { // generous: CI machines are shared
			t.Errorf("round %d: B heard A's write after %v", round, lag)
		}
		if r.w.Resync || !containsID(r.w.ids(), str(rule, "id")) {
			t.Fatalf("round %d: watch through B: %+v, want rule %s", round, r.w, str(rule, "id"))
		}
		rev = r.w.Revision
	}

	// Resume on another server from the last revision: only what is new.
	cc.update("ports", "port", port, map[string]any{"name": "renamed"})
	w, _ := cc.watch("h1", rev, "0")
	if w.Resync || len(w.Changes) != 1 || w.Changes[0].ID != port {
		t.Errorf("resume on C from %d: %+v", rev, w)
	}
	// An unrelated host hears nothing of it.
	if w, _ := a.watch("h9", rev, "0"); w.Resync || len(w.Changes) != 0 {
		t.Errorf("h9: %+v", w)
	}

	// Compaction on one server; a watcher on another that held an older
	// revision must take a fresh snapshot.
	newest := w.Revision
	if err := c.stores[0].CompactChanges(context.Background(), newest); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.watch("h1", rev, "0"); !w.Resync || w.Revision != newest {
		t.Errorf("watch from compacted %d: %+v, want resync at %d", rev, w, newest)
	}
	if w, _ := cc.watch("h1", newest, "0"); w.Resync {
		t.Errorf("watch from the newest revision after compaction: %+v", w)
	}
	s := b.must(200, "GET", "/v2.0/bulwark/hosts/h1/state", nil).JSON(t)
	if int64(num(s, "revision")) != newest {
		t.Errorf("snapshot revision %v, want %d", s["revision"], newest)
	}
}

// TestWatchOrderUnderConcurrentWriters: while many writers on several
// servers commit at once, a watcher that follows the feed from revision
// to revision sees every change exactly once: a sequence number can never
// become visible after a higher one (the change log is appended under a
// lock held until commit).
func TestWatchOrderUnderConcurrentWriters(t *testing.T) {
	c := newCluster(t, 3)
	f := c.nodes[0].newNet("n", "10.8.0.0/16")
	g := str(c.nodes[0].newGroup("all"), "id")
	rev := int64(num(c.nodes[0].must(200, "GET", "/v2.0/bulwark/hosts/h1/state", nil).JSON(t), "revision"))

	const writers, each = 6, 8
	want := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := c.nodes[w%len(c.nodes)]
			for i := range each {
				r := node.do("POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": f.net, "binding:host_id": "h1",
					"security_groups": []string{g}, "name": fmt.Sprintf("p%d-%d", w, i)}})
				if r.Status != 201 {
					t.Errorf("create: %d %s", r.Status, r.Body)
					continue
				}
				var body struct{ Port struct{ ID string } }
				_ = json.Unmarshal(r.Body, &body)
				mu.Lock()
				want[body.Port.ID] = true
				mu.Unlock()
			}
		}()
	}
	seen := map[string]int{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	finished := false
	for i := 0; ; i++ {
		select {
		case <-done:
			finished = true
		default:
		}
		node := c.nodes[i%len(c.nodes)]
		w, _ := node.watch("h1", rev, "1")
		if w.Resync {
			t.Fatalf("resync at %d", rev)
		}
		for _, ch := range w.Changes {
			if ch.Seq <= rev {
				t.Errorf("change %d reported after position %d", ch.Seq, rev)
			}
			if ch.Resource == "port" && ch.Op == "create" {
				seen[ch.ID]++
			}
		}
		rev = w.Revision
		if finished && len(w.Changes) == 0 {
			break
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("port %s create seen %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d creates seen, %d made", len(seen), len(want))
	}
}

// TestQuotaAcrossServers: racing creates through three servers never
// take a project past its quota.
func TestQuotaAcrossServers(t *testing.T) {
	forEachTopology(t, func(t *testing.T, e *env) {
		const project, limit = "quota-race", 4
		e.must(200, "PUT", "/v2.0/quotas/"+project, map[string]any{"quota": map[string]any{"security_group": limit}})
		h := []string{"X-Project-Id", project}
		e.must(200, "GET", "/v2.0/security-groups", nil, h...) // the default group: 1 of limit
		var wg sync.WaitGroup
		var created, refused atomic.Int32
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": fmt.Sprintf("g%d", i)}}, h...)
				switch r.Status {
				case 201:
					created.Add(1)
				case 409:
					refused.Add(1)
				default:
					t.Errorf("create: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		groups := e.must(200, "GET", "/v2.0/security-groups?project_id="+project, nil).list(t, "security_groups")
		if len(groups) != limit || created.Load() != limit-1 || refused.Load() != 12-(limit-1) {
			t.Errorf("%d groups (%d created, %d refused), quota %d", len(groups), created.Load(), refused.Load(), limit)
		}
	})
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
