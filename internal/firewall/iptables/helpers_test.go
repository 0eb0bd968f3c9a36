package iptables

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// needKernel skips a test that needs root, the iptables tools, ipset and
// ip netns; it never touches the root namespace's firewall: every command
// runs inside a namespace the test made.
func needKernel(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: creates network namespaces and writes iptables rules inside them")
	}
	for _, tool := range []string{"ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
		}
	}
}

func randName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newNetns creates a network namespace that is deleted when the test ends,
// also when it fails.
func newNetns(tb testing.TB) string {
	tb.Helper()
	name := randName("bwtest-")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// sh runs a command in a namespace ("" = none) and fails the test on error.
func sh(tb testing.TB, ns string, argv ...string) string {
	tb.Helper()
	out, err := shErr(ns, argv...)
	if err != nil {
		tb.Fatalf("%v: %v: %s", argv, err, out)
	}
	return out
}

func shErr(ns string, argv ...string) (string, error) {
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

type call struct {
	argv  []string
	stdin string
}

// recorder is an Exec that runs commands in a namespace and records them.
type recorder struct {
	mu    sync.Mutex
	inner Exec
	calls []call
}

func newRecorder(ns string) *recorder { return &recorder{inner: InNetns(ns)} }

func (r *recorder) Exec(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{argv: slices.Clone(argv), stdin: string(stdin)})
	r.mu.Unlock()
	return r.inner(ctx, stdin, argv...)
}

// take returns the calls since the last take.
func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// writes are the calls that change something (restores).
func writes(calls []call) []call {
	var out []call
	for _, c := range calls {
		if strings.HasSuffix(c.argv[0], "-restore") || (c.argv[0] == "ipset" && c.argv[1] != "save") {
			out = append(out, c)
		}
	}
	return out
}

func cmdNames(calls []call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, strings.Join(c.argv[:min(2, len(c.argv))], " "))
	}
	return out
}

// kernelView is an independent, line-based reading of iptables-save: the
// owned chains with their rule lines, and the lines of other chains.
type kernelView struct {
	chains  map[string][]string // owned chain -> "-A ..." lines
	foreign []string            // every other ":chain" and "-A" line, in order
}

func view(tb testing.TB, ns string, fam firewall.Family, tbl firewall.Table) kernelView {
	tb.Helper()
	out := sh(tb, ns, saveCmd(fam), "-t", string(tbl))
	v := kernelView{chains: map[string][]string{}}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, ":bulwark-"):
			name, _, _ := strings.Cut(l[1:], " ")
			if v.chains[name] == nil {
				v.chains[name] = []string{}
			}
		case strings.HasPrefix(l, "-A bulwark-"):
			name, _, _ := strings.Cut(l[3:], " ")
			v.chains[name] = append(v.chains[name], l)
		case strings.HasPrefix(l, ":"):
			name, _, _ := strings.Cut(l, " ")
			v.foreign = append(v.foreign, name)
		case strings.HasPrefix(l, "-A "):
			v.foreign = append(v.foreign, l)
		}
	}
	return v
}

// expectView is what view must show for a desired table plus the given
// foreign lines.
func expectChains(tr *firewall.TableRules) map[string][]string {
	m := map[string][]string{}
	if tr == nil {
		return m
	}
	for _, c := range tr.Chains {
		m[c.Name] = []string{}
		for _, r := range c.Rules {
			m[c.Name] = append(m[c.Name], RuleLine(c.Name, r))
		}
	}
	return m
}

func hookLines(tr *firewall.TableRules, chain string) []string {
	var out []string
	if tr == nil {
		return out
	}
	for _, h := range tr.Hooks {
		if h.BuiltinChain == chain {
			out = append(out, RuleLine(chain, h.Rule))
		}
	}
	return out
}

// linesOf returns the "-A chain" lines of a chain in a view's foreign part.
func linesOf(v kernelView, chain string) []string {
	var out []string
	for _, l := range v.foreign {
		if strings.HasPrefix(l, "-A "+chain+" ") {
			out = append(out, l)
		}
	}
	return out
}

func r(match, comment, target string) firewall.Rule {
	return firewall.Rule{Match: match, Comment: comment, Target: target}
}
