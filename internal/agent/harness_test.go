package agent_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/agent"
	bwapi "github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// hostEnv is a real API on a SQLite file (served by one or more servers
// in turn, each with its own caches) and an agent for host h1 with a
// recording applier. It counts the agent's host snapshots.
type hostEnv struct {
	t         *testing.T
	url       string
	snapshots atomic.Int64
	rec       *recordingApplier
	agent     *agent.Agent
}

// newHostEnv starts the servers; the agent starts with startAgent.
func newHostEnv(t *testing.T, servers int) *hostEnv {
	ctx := context.Background()
	st, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	var handlers []http.Handler
	for range servers {
		handlers = append(handlers, bwapi.New(service.New(st, service.DefaultConfig()), bwapi.NoAuth{DefaultProject: "demo"}, nil))
	}
	e := &hostEnv{t: t, rec: &recordingApplier{}}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The test's own reads of the host state are not the agent's.
		if strings.HasSuffix(r.URL.Path, "/bulwark/hosts/h1/state") && r.Header.Get("X-Test-Read") == "" {
			e.snapshots.Add(1)
		}
		handlers[requests.Add(1)%int64(len(handlers))].ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); _ = st.Close() })
	e.url = srv.URL
	return e
}

// call sends a request as the test (not the agent) and decodes the body.
func (e *hostEnv) call(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+"/v2.0/"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Read", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// do is call that must succeed; it returns the body's object under key.
func (e *hostEnv) do(method, path, body, key string) map[string]any {
	e.t.Helper()
	code, out := e.call(method, path, body)
	if code >= 300 {
		e.t.Fatalf("%s %s %s: %d %v", method, path, body, code, out)
	}
	if key == "" {
		return nil
	}
	return out[key].(map[string]any)
}

// startAgent runs the agent of h1 until the test ends.
func (e *hostEnv) startAgent() {
	ctx, cancel := context.WithCancel(context.Background())
	client, err := osclient.Network(ctx, osclient.Options{URL: e.url})
	if err != nil {
		e.t.Fatal(err)
	}
	a := agent.New(agent.Config{Host: "h1", Client: client, Applier: e.rec, Log: slog.New(slog.DiscardHandler),
		WatchWait: 2 * time.Second, RetryFloor: 50 * time.Millisecond})
	e.agent = a
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond for up to 10 s.
func (e *hostEnv) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
