package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles bulwark once per test binary run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func bulwarkBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bulwark-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bulwark")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `bulwark server` on a real listener and waits until it
// answers.
func startServer(t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bulwarkBinary(t), "server", "--listen", addr, "--db", "sqlite:"+db, "--auth", "noauth")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/v2.0/extensions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func call(t *testing.T, method, url string, body any, want int) map[string]any {
	t.Helper()
	m, err := callE(method, url, body, want)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// callE is call for goroutines, which must not stop the test themselves.
func callE(method, url string, body any, want int) (map[string]any, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != want {
		return m, fmt.Errorf("%s %s: status %d, want %d: %v", method, url, resp.StatusCode, want, m)
	}
	return m, nil
}

// TestAcknowledgedWritesSurviveKill: every port the server acknowledged
// (201) is there after the process is killed with SIGKILL and restarted
// on the same database file.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	db := filepath.Join(t.TempDir(), "var", "bulwark.db")
	cmd, base := startServer(t, db)
	net := call(t, "POST", base+"/v2.0/networks", map[string]any{"network": map[string]any{"name": "net1"}}, 201)["network"].(map[string]any)
	netID := net["id"].(string)
	call(t, "POST", base+"/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": netID, "ip_version": 4, "cidr": "10.9.0.0/24"}}, 201)

	const n = 40
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/4; i++ {
				p, err := callE("POST", base+"/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}}, 201)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- p["port"].(map[string]any)["id"].(string)
			}
		}()
	}
	wg.Wait()
	close(ids)
	if t.Failed() {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()

	_, base2 := startServer(t, db)
	for id := range ids {
		call(t, "GET", base2+"/v2.0/ports/"+id, nil, 200)
	}
	list := call(t, "GET", base2+"/v2.0/ports?network_id="+netID, nil, 200)["ports"].([]any)
	if len(list) != n {
		t.Fatalf("after restart: %d ports, want %d", len(list), n)
	}
	seen := map[string]bool{}
	for _, p := range list {
		ip := p.(map[string]any)["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
		if seen[ip] {
			t.Fatalf("IP %s allocated twice", ip)
		}
		seen[ip] = true
	}
}

// TestServerRejectsBadFlags: unknown auth modes and database URLs fail
// at start with a clear message instead of serving.
func TestServerRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--auth", "magic"},
		{"server", "--db", "mysql://x", "--listen", "127.0.0.1:0"},
	} {
		out, err := exec.Command(bulwarkBinary(t), args...).CombinedOutput()
		if err == nil {
			t.Fatalf("%v: exited 0, want failure; output %s", args, out)
		}
		if !bytes.Contains(out, []byte("bulwark:")) {
			t.Fatalf("%v: no clear error: %s", args, out)
		}
	}
}
