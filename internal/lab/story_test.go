package lab

// The keepalived story end to end on the real kernel: a private `bulwark
// server`, a `bulwark agent` applying iptables inside the lab's host
// namespace, keepalived in two VM namespaces, and packets from a client
// namespace. Every step asserts on what keepalived reports, the VMs'
// addresses, the client's pings and TCP sessions and the agent's rule
// counters (story.go); this test runs the same steps as `bulwark lab story`.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labNeed skips without root, keepalived or br_netfilter, except under
// CI=true, where a missing piece is a failure.
func labNeed(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, runs keepalived and the agent's iptables inside them")
	}
	ci := os.Getenv("CI") == "true"
	miss := func(format string, args ...any) {
		t.Helper()
		if ci {
			t.Fatalf(format+" (CI=true: fails instead of skipping; scripts/setup.sh installs it)", args...)
		}
		t.Skipf(format+" (scripts/setup.sh installs it)", args...)
	}
	for _, tool := range []string{"keepalived", "ip", "iptables", "iptables-save", "iptables-restore", "ip6tables-restore", "ipset", "nft", "ping", "sysctl", "conntrack", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			miss("%s not installed", tool)
		}
	}
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		_ = exec.Command("modprobe", "br_netfilter").Run() // a module load, nothing else
		if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
			miss("br_netfilter unavailable: bridged packets would bypass iptables")
		}
	}
}

// bulwarkBinary builds the binary the lab runs as server and agent
// ($BULWARK_LAB_BIN names a prebuilt one).
func bulwarkBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("BULWARK_LAB_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "bulwark")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/bulwark-net/bulwark/cmd/bulwark").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// logWriter narrates into the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestStoryOnRealKernel(t *testing.T) {
	labNeed(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "t" + hex.EncodeToString(b) // unique: runs beside other namespace tests
	opts := Options{Name: name, Dir: filepath.Join(t.TempDir(), "lab"), Private: true, Binary: bulwarkBinary(t), Out: logWriter{t}}
	names, _ := NewNames(name)

	var lab *Lab
	t.Cleanup(func() {
		if t.Failed() && lab != nil {
			if out, err := run(context.Background(), lab.State.HostNS, "iptables-save", "-c"); err == nil {
				t.Logf("iptables-save -c in %s:\n%s", lab.State.HostNS, out)
			}
			for what, path := range lab.Logs() {
				if b, err := os.ReadFile(path); err == nil {
					t.Logf("%s log (%s):\n%s", what, path, b)
				}
			}
		}
		if err := Down(context.Background(), opts); err != nil {
			t.Errorf("lab down: %v", err)
		}
		if left := listNetns(names.Prefix()); len(left) > 0 {
			t.Errorf("namespaces left after lab down: %v", left)
		}
		if left := append(findProcs(opts.Dir), findProcs("--host "+names.Host()+" ")...); len(left) > 0 {
			t.Errorf("processes left after lab down: %v", left)
		}
	})

	// lab up: the correct HA setup, keepalived01 MASTER, the VIP reachable.
	var err error
	if lab, err = Up(ctx, opts); err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up took %s", time.Since(start).Round(time.Millisecond))
	s, err := lab.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Master == nil || *s.Master != "keepalived01" || s.SplitBrain || !s.VIPReachable || len(s.VIPHolders) != 1 || s.AgentPID == nil {
		t.Fatalf("status after lab up: %s", mustJSON(s))
	}
	for _, v := range s.VMs {
		if v.KeepalivedPID == nil || v.PortStatus != "ACTIVE" || len(v.AddressPairs) != 1 || v.AddressPairs[0] != VIP {
			t.Fatalf("VM after lab up: %s", mustJSON(v))
		}
	}

	// The story, step by step, with the code `bulwark lab story` runs.
	story, err := NewStory(ctx, lab)
	if err != nil {
		t.Fatal(err)
	}
	defer story.Close()
	storyStart := time.Now()
	for i, step := range story.Steps() {
		t.Logf("== step %d: %s", i+1, step.Title)
		t0 := time.Now()
		if err := step.Run(ctx); err != nil {
			t.Fatalf("step %d (%s): %v", i+1, step.Title, err)
		}
		t.Logf("step %d took %s", i+1, time.Since(t0).Round(time.Millisecond))
	}
	t.Logf("the story took %s", time.Since(storyStart).Round(time.Millisecond))
	story.Close()

	// After the story: keepalived02 is the MASTER, keepalived01 stopped.
	if s, err = lab.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Master == nil || *s.Master != "keepalived02" || !s.VIPReachable || s.VMs[0].VRRPState != "STOPPED" || s.VMs[0].KeepalivedPID != nil {
		t.Fatalf("status after the story: %s", mustJSON(s))
	}

	// lab up again repairs: keepalived01 back with its pair, MASTER again.
	t0 := time.Now()
	if lab, err = Up(ctx, opts); err != nil {
		t.Fatalf("lab up after the story: %v", err)
	}
	if s, err = lab.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Master == nil || *s.Master != "keepalived01" || !s.VIPReachable {
		t.Fatalf("status after the second lab up: %s", mustJSON(s))
	}
	t.Logf("lab up repaired the HA setup in %s", time.Since(t0).Round(time.Millisecond))

	// lab down after a "crash": without the state file, from the names.
	if err := os.Remove(filepath.Join(opts.Dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, opts); err != nil {
		t.Fatalf("lab down without a state file: %v", err)
	}
	if left := listNetns(names.Prefix()); len(left) > 0 {
		t.Fatalf("namespaces left after lab down without a state file: %v", left)
	}
	if left := append(findProcs(opts.Dir), findProcs("--host "+names.Host()+" ")...); len(left) > 0 {
		t.Fatalf("processes left after lab down without a state file: %v", left)
	}
	t.Logf("whole run took %s", time.Since(start).Round(time.Millisecond))
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
