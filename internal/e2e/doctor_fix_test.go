//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// doctorReport is the JSON of `bulwark doctor vip -f json`.
type doctorReport struct {
	VIP      string           `json:"vip"`
	Ports    []map[string]any `json:"ports"`
	Findings []struct {
		Severity string   `json:"severity"`
		Title    string   `json:"title"`
		Detail   string   `json:"detail"`
		Fix      []string `json:"fix"`
	} `json:"findings"`
}

func (d doctorReport) titles() []string {
	var out []string
	for _, f := range d.Findings {
		out = append(out, f.Severity+": "+f.Title)
	}
	return out
}

// TestDoctorFixesWithOpenStackCLI builds a broken keepalived setup with
// the real openstack CLI, runs `bulwark doctor vip` as a reader (so it can
// only read), executes every fix command it printed with the openstack
// CLI as the project's member, and checks that doctor then finds nothing
// wrong: the printed commands are exact.
func TestDoctorFixesWithOpenStackCLI(t *testing.T) {
	requireCLIs(t)
	dir := t.TempDir()
	bin := buildBulwark(t, dir)
	base := startServer(t, bin, dir, e2eAdminPassword)
	c := &cli{t: t, base: base, home: t.TempDir(), debug: os.Getenv(debugEnv) == "1"}
	c.setDeadline(5 * time.Minute)
	if path := os.Getenv(transcriptEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		c.transcript = f
	}
	admin := creds{"admin", e2eAdminPassword, "admin"}
	demo := creds{"demo", demoPassword, "demo"}
	viewer := creds{"viewer", "viewer-secret", "demo"}
	c.ok(admin, "openstack", "project", "create", "demo")
	c.ok(admin, "openstack", "user", "create", "--password", demoPassword, "demo")
	c.ok(admin, "openstack", "role", "add", "--project", "demo", "--user", "demo", "member")
	c.ok(admin, "openstack", "user", "create", "--password", viewer.password, "viewer")
	c.ok(admin, "openstack", "role", "add", "--project", "demo", "--user", "viewer", "reader")

	// The broken setup: ha-sg without any VRRP rule and without its IPv4
	// egress rule; keepalived01 with the VIP and a /16 pair; keepalived02
	// with port security off (the note's second way); keepalived03 with a
	// 0.0.0.0/0 pair instead of the VIP; keepalived04 with port security on
	// but its groups removed; keepalived05 holding the VIP as its own
	// address; nothing reserving the VIP.
	c.ok(demo, "openstack", "network", "create", "net1")
	c.ok(demo, "openstack", "subnet", "create", "--network", "net1", "--subnet-range", "172.16.200.0/24", "subnet1")
	c.ok(demo, "openstack", "security", "group", "create", "ha-sg")
	r := c.ok(demo, "openstack", "security", "group", "rule", "list", "ha-sg", "--long", "-f", "json")
	var egress4 []string
	for _, row := range c.jsonList(r) {
		if str(row["Direction"]) == "egress" && str(row["Ethertype"]) == "IPv4" {
			egress4 = append(egress4, str(row["ID"]))
		}
	}
	if len(egress4) != 1 {
		t.Fatalf("ha-sg: want one IPv4 egress rule, got %q\n%s", egress4, r)
	}
	c.ok(demo, "openstack", "security", "group", "rule", "delete", egress4[0])
	node := func(name, ip string, extra ...string) {
		args := []string{"openstack", "port", "create", "--network", "net1", "--fixed-ip", "ip-address=" + ip,
			"--device-owner", "compute:nova", "--device", "vm-" + name}
		c.ok(demo, append(append(args, extra...), name)...)
	}
	node("keepalived01", "172.16.200.193", "--security-group", "ha-sg",
		"--allowed-address", "ip-address="+vip, "--allowed-address", "ip-address=172.16.0.0/16")
	node("keepalived02", "172.16.200.194", "--no-security-group", "--disable-port-security")
	node("keepalived03", "172.16.200.195", "--security-group", "ha-sg", "--allowed-address", "ip-address=0.0.0.0/0")
	node("keepalived04", "172.16.200.196", "--no-security-group")
	node("keepalived05", vip, "--security-group", "ha-sg")

	peers := "keepalived01,keepalived02,keepalived03,keepalived04,keepalived05"
	doctor := func() (result, doctorReport) {
		t.Helper()
		r := c.run(viewer, bin, "doctor", "vip", vip, "--ports", peers, "--network", "net1", "-f", "json")
		var d doctorReport
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("doctor -f json: %v\n%s", err, r)
		}
		return r, d
	}
	r, before := doctor()
	if r.code != 3 || len(before.Ports) != 5 || before.VIP != vip {
		t.Fatalf("broken setup: want exit status 3 and 5 peers:\n%s", r)
	}
	want := []string{
		"error: The VIP " + vip + " is the fixed IP of peer keepalived05",
		"error: Peer keepalived04 ",   // port security on, no group
		"error: Peer keepalived03 ",   // 0.0.0.0/0
		"warning: Peer keepalived01 ", // the /16
		"error: The VIP " + vip + " is not in the allowed address pairs of peer keepalived04",
		"error: VRRP (IP protocol 112) is not admitted",
		"error: VRRP (IP protocol 112) may not leave",
		"warning: Port security is disabled on peer keepalived02",
		"warning: The VIP " + vip + " is in the allocation pool",
	}
	got := before.titles()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("broken setup: no finding %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("broken setup: %d findings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}

	// Every fix, in order, with the real CLI as the member.
	var ran int
	for _, f := range before.Findings {
		for _, fix := range f.Fix {
			args := strings.Fields(fix)
			if len(args) < 3 || args[0] != "openstack" || strings.ContainsAny(fix, `'"\$`) {
				t.Fatalf("fix %q is not a plain openstack command", fix)
			}
			c.ok(demo, args...)
			ran++
		}
	}
	if ran < len(want) {
		t.Errorf("ran %d fix commands for %d findings", ran, len(want))
	}

	r, after := doctor()
	if r.code != 0 {
		t.Errorf("after the fixes: want exit status 0:\n%s", r)
	}
	for _, f := range after.Findings {
		if f.Severity == "error" || f.Severity == "warning" {
			t.Errorf("after the fixes, still: %s: %s\n%s\nfix: %q", f.Severity, f.Title, f.Detail, f.Fix)
		}
	}
	if len(after.Findings) == 0 || after.Findings[0].Severity != "ok" {
		t.Errorf("after the fixes: want the ok summary first, got %q", after.titles())
	}
	// And without --ports it finds the same four peers by their pairs.
	r = c.run(viewer, bin, "doctor", "vip", vip)
	if r.code != 0 || !strings.Contains(r.stdout, "5 peer port(s)") || !strings.Contains(r.stdout, "OK ") {
		t.Errorf("doctor vip without --ports, table output:\n%s", r)
	}
}
