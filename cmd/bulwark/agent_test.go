package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentAuthenticatesAgainstKeystone: the agent takes its credentials
// from OS_* (as an operator's openrc gives them), finds the network
// endpoint in the catalog, and syncs once into a namespace of its own.
func TestAgentAuthenticatesAgainstKeystone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agent writes iptables rules (into a private network namespace)")
	}
	for _, tool := range []string{"ip", "iptables-restore", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing (scripts/setup.sh installs it)", tool)
			}
			t.Skipf("%s missing", tool)
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "bwagent-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })

	dir := t.TempDir()
	addr := freeAddr(t)
	srv := exec.Command(bulwarkBinary(t), "server", "--listen", addr, "--db", "sqlite:"+filepath.Join(dir, "b.db"),
		"--auth", "keystone", "--admin-password", "s3cret")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _, _ = srv.Process.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := exec.Command("curl", "-sf", "http://"+addr+"/v3").Output(); err == nil && len(out) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	run := func(env []string) (string, error) {
		cmd := exec.Command(bulwarkBinary(t), "agent", "--once", "--host", "h1", "--netns", ns, "--allow-no-br-netfilter")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	base := []string{"OS_AUTH_URL=http://" + addr + "/v3", "OS_USERNAME=admin", "OS_PROJECT_NAME=admin",
		"OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_REGION_NAME=RegionOne"}
	if out, err := run(append(base, "OS_PASSWORD=wrong")); err == nil || !strings.Contains(out, "authenticate") {
		t.Fatalf("wrong password: err %v, output %s", err, out)
	}
	out, err := run(append(base, "OS_PASSWORD=s3cret"))
	if err != nil {
		t.Fatalf("agent --once: %v\n%s\nserver:\n%s", err, out, logs.String())
	}
	save, err := exec.Command("ip", "netns", "exec", ns, "iptables-save", "-t", "filter").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(save), "-A FORWARD -m comment --comment") || !strings.Contains(string(save), ":bulwark-FORWARD") {
		t.Fatalf("no Bulwark hook in the namespace after the sync:\n%s", save)
	}
}
