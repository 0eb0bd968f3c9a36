package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bulwarkCLI runs the built binary against base (a noauth server) with no
// OS_* credentials in its environment.
func bulwarkCLI(t *testing.T, base string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bulwarkBinary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") && !strings.HasPrefix(kv, "BULWARK_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "BULWARK_URL="+base)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run bulwark %v: %v", args, err)
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		t.Fatalf("bulwark %v crashed:\n%s", args, errb.String())
	}
	return out.String(), errb.String(), code
}

// TestClientVerbsBinary runs an HA runbook through the real binary against
// a real `bulwark server`, with the exit codes scripts see.
func TestClientVerbsBinary(t *testing.T) {
	_, base := startServer(t, filepath.Join(t.TempDir(), "b.db"))
	mustRun := func(args ...string) string {
		t.Helper()
		out, errOut, code := bulwarkCLI(t, base, args...)
		if code != 0 {
			t.Fatalf("bulwark %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	mustRun("net-create", "ha-net")
	mustRun("subnet-create", "ha-net", "192.168.10.0/24", "--name", "ha-sub")
	mustRun("security-group-create", "keepalived")
	mustRun("security-group-rule-create", "--protocol", "112", "--direction", "ingress", "--remote-group-id", "keepalived", "keepalived")
	mustRun("security-group-rule-create", "--protocol", "vrrp", "--direction", "egress", "--remote-group-id", "keepalived", "keepalived")
	for _, vm := range []string{"lb1", "lb2"} {
		mustRun("port-create", "ha-net", "--name", vm, "--security-group", "keepalived",
			"--allowed-address-pairs", "type=dict", "list=true", "ip_address=192.168.10.100")
	}
	out := mustRun("port", "list", "-f", "value", "-c", "Name", "-c", "Allowed Address Pairs", "--long")
	if strings.Count(out, "192.168.10.100") != 2 {
		t.Errorf("port list:\n%s", out)
	}
	mustRun("port-update", "lb2", "--no-allowed-address-pairs")
	if out := mustRun("port", "show", "lb2", "-f", "json", "-c", "allowed_address_pairs"); !strings.Contains(out, `"allowed_address_pairs": []`) {
		t.Errorf("after --no-allowed-address-pairs: %s", out)
	}
	mustRun("port", "set", "--allowed-address", "ip-address=192.168.10.100", "lb2")
	if out := mustRun("port", "show", "lb2", "-f", "value", "-c", "allowed_address_pairs"); !strings.Contains(out, "ip_address='192.168.10.100'") {
		t.Errorf("after port set --allowed-address: %q", out)
	}

	// The connection flags work before the verb too, as openstack's do.
	if out, errOut, code := bulwarkCLI(t, "http://127.0.0.1:1", "--os-url", base, "network", "list", "-f", "value", "-c", "Name"); code != 0 || out != "ha-net\n" {
		t.Errorf("--os-url before the verb: exit %d, %q %q", code, out, errOut)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"port", "show", "nosuch"}, 3, "bulwark: No Port found for nosuch"},
		{[]string{"port-delete", "lb3"}, 3, "No Port found for lb3"},
		{[]string{"port", "set", "--disable-port-security", "--no-allowed-address", "lb1"}, 4, "Port has security group associated"},
		{[]string{"network", "delete", "ha-net"}, 4, "in use"},
		{[]string{"port-update", "lb1", "--port-security-enabled", "Nope"}, 2, "not a boolean"},
		{[]string{"port", "frobnicate"}, 2, "unknown command"},
		{[]string{"port", "list", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"security-group-rule-create", "--protocol", "113x", "keepalived"}, 2, "a protocol name"},
		{[]string{"network", "list", "--os-url", "http://127.0.0.1:1"}, 1, "connection refused"},
	} {
		out, errOut, code := bulwarkCLI(t, base, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("bulwark %v: exit %d, stderr %q (stdout %q); want exit %d with %q", tc.args, code, errOut, out, tc.code, tc.msg)
		}
	}
}
