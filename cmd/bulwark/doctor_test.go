package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// doctorServer is the real API handler on a fresh SQLite file, noauth,
// recording the methods the doctor uses.
type doctorServer struct {
	t   *testing.T
	url string
	mu  sync.Mutex
	// writes are the non-GET requests made since the last reset.
	writes []string
	record bool
}

func newDoctorServer(t *testing.T) *doctorServer {
	t.Helper()
	st, err := sqldb.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(service.New(st, service.DefaultConfig()), api.NoAuth{DefaultProject: "demo"}, nil)
	s := &doctorServer{t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.record && r.Method != http.MethodGet {
			s.writes = append(s.writes, r.Method+" "+r.URL.Path)
		}
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		_ = st.Close()
	})
	s.url = srv.URL
	return s
}

// do sends one JSON request and returns the object under key.
func (s *doctorServer) do(method, path, body, key string) map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+"/v2.0/"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s %s: %d %s", method, path, body, resp.StatusCode, b)
	}
	if key == "" {
		return nil
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return m[key]
}

// keepalived is the operator's scenario: net1 172.16.200.0/24, ha-sg
// (its two default egress rules only), ports .193 and .194 in ha-sg.
type keepalived struct {
	net, subnet, sg, ka01, ka02 string
}

func loadKeepalived(s *doctorServer) keepalived {
	var k keepalived
	k.net = s.do("POST", "networks", `{"network": {"name": "net1"}}`, "network")["id"].(string)
	k.subnet = s.do("POST", "subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "172.16.200.0/24", "name": "subnet1"}}`, k.net), "subnet")["id"].(string)
	k.sg = s.do("POST", "security-groups", `{"security_group": {"name": "ha-sg"}}`, "security_group")["id"].(string)
	port := func(name, ip string) string {
		return s.do("POST", "ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": %q, "device_owner": "compute:nova", "device_id": "vm-%s",
			"fixed_ips": [{"ip_address": %q}], "security_groups": [%q]}}`, k.net, name, name, ip, k.sg), "port")["id"].(string)
	}
	k.ka01 = port("keepalived01", "172.16.200.193")
	k.ka02 = port("keepalived02", "172.16.200.194")
	return k
}

func (s *doctorServer) rule(sg, dir, proto, remoteGroup string) {
	body := fmt.Sprintf(`{"security_group_rule": {"security_group_id": %q, "direction": %q, "protocol": %q`, sg, dir, proto)
	if remoteGroup != "" {
		body += fmt.Sprintf(`, "remote_group_id": %q`, remoteGroup)
	}
	s.do("POST", "security-group-rules", body+"}}", "")
}

func (s *doctorServer) pairs(port string, ips ...string) {
	var ps []string
	for _, ip := range ips {
		ps = append(ps, fmt.Sprintf(`{"ip_address": %q}`, ip))
	}
	s.do("PUT", "ports/"+port, `{"port": {"allowed_address_pairs": [`+strings.Join(ps, ",")+`]}}`, "")
}

type doctorRun struct {
	code   int
	out    string
	err    error
	report struct {
		VIP      string           `json:"vip"`
		Ports    []map[string]any `json:"ports"`
		Findings []struct {
			Severity string   `json:"severity"`
			Title    string   `json:"title"`
			Detail   string   `json:"detail"`
			Fix      []string `json:"fix"`
		} `json:"findings"`
	}
}

// runDoctor runs `bulwark doctor vip ARGS -f json --os-url URL` through
// the cobra command, without credentials in the environment.
func (s *doctorServer) runDoctor(args ...string) doctorRun {
	s.t.Helper()
	for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "BULWARK_URL"} {
		s.t.Setenv(k, "")
	}
	var r doctorRun
	saved := doctorExit
	doctorExit = func(code int) { r.code = code }
	defer func() { doctorExit = saved }()
	s.mu.Lock()
	s.record, s.writes = true, nil
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.record = false; s.mu.Unlock() }()

	cmd := doctorCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append(append([]string{"vip"}, args...), "--os-url", s.url))
	r.err = cmd.ExecuteContext(context.Background())
	if r.err != nil && r.code == 0 {
		r.code = 1 // what main does with an error
	}
	r.out = out.String()
	if slices.Contains(args, "json") && r.err == nil {
		if err := json.Unmarshal(out.Bytes(), &r.report); err != nil {
			s.t.Fatalf("doctor -f json: %v\n%s", err, r.out)
		}
	}
	s.mu.Lock()
	if len(s.writes) > 0 {
		s.t.Errorf("doctor is read-only, but sent %v", s.writes)
	}
	s.mu.Unlock()
	return r
}

func (r doctorRun) titles() []string {
	var out []string
	for _, f := range r.report.Findings {
		out = append(out, f.Severity+": "+f.Title)
	}
	return out
}

func (r doctorRun) has(severity, titlePart string) bool {
	for _, f := range r.report.Findings {
		if f.Severity == severity && strings.Contains(f.Title, titlePart) {
			return true
		}
	}
	return false
}

func TestDoctorVIPAgainstServer(t *testing.T) {
	s := newDoctorServer(t)
	k := loadKeepalived(s)
	const vip = "172.16.200.251"

	// 1. The note's starting point: no VRRP rule, VIP only on keepalived01.
	s.pairs(k.ka01, vip)
	r := s.runDoctor(vip, "-f", "json")
	if r.code != doctorProblems || !r.has("error", "Fewer than 2 peers") || len(r.report.Ports) != 1 || r.report.VIP != vip {
		t.Errorf("one peer: want exit 3 and the few-peers error, got %d %v\n%s", r.code, r.titles(), r.out)
	}
	// Naming both peers finds the missing pair and VRRP, with exact fixes.
	r = s.runDoctor(vip, "--ports", "keepalived01,"+k.ka02, "--network", "net1", "-f", "json")
	wantFixes := map[string]string{
		"VRRP (IP protocol 112) is not admitted": "openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group ha-sg ha-sg",
		"not in the allowed address pairs":       "openstack port set --allowed-address ip-address=" + vip + " " + k.ka02,
		"no port reserves it":                    "openstack port create --network net1 --fixed-ip subnet=" + k.subnet + ",ip-address=" + vip + " vip-172-16-200-251",
	}
	if r.code != doctorProblems || len(r.report.Findings) != len(wantFixes) {
		t.Errorf("no VRRP, no pair on ka02: want 3 findings, exit 3; got %d %v\n%s", r.code, r.titles(), r.out)
	}
	for _, f := range r.report.Findings {
		for part, fix := range wantFixes {
			if strings.Contains(f.Title, part) && !slices.Equal(f.Fix, []string{fix}) {
				t.Errorf("%s: fix %q, want %q", f.Title, f.Fix, fix)
			}
		}
	}

	// 2. VRRP by name from the group itself, the VIP on both, reserved: healthy.
	s.rule(k.sg, "ingress", "vrrp", k.sg)
	s.pairs(k.ka02, vip)
	s.do("POST", "ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "vip", "fixed_ips": [{"ip_address": %q}]}}`, k.net, vip), "")
	r = s.runDoctor(vip, "-f", "json")
	if r.code != 0 || len(r.report.Findings) != 2 || r.report.Findings[0].Severity != "ok" || !r.has("info", "reserved by port vip") ||
		len(r.report.Ports) != 2 {
		t.Errorf("healthy: want ok + reserved, exit 0; got %d %v\n%s", r.code, r.titles(), r.out)
	}
	// The table form says the same.
	r = s.runDoctor(vip)
	if r.code != 0 || !strings.Contains(r.out, "OK      The VIP is set up right") || !strings.Contains(r.out, "keepalived02") {
		t.Errorf("table output:\n%s", r.out)
	}

	// 3. The note's second way: keepalived02 without groups, pairs and port security.
	s.do("PUT", "ports/"+k.ka02, `{"port": {"allowed_address_pairs": [], "security_groups": [], "port_security_enabled": false}}`, "")
	r = s.runDoctor(vip, "--ports", "keepalived01,keepalived02", "-f", "json")
	if r.code != doctorProblems || !r.has("warning", "Port security is disabled on peer keepalived02") ||
		!r.has("error", "VRRP (IP protocol 112) is not admitted") {
		t.Errorf("port security off on ka02: got %d %v\n%s", r.code, r.titles(), r.out)
	}

	// 4. An address pair of 0.0.0.0/0 (keepalived02 filtered again).
	s.do("PUT", "ports/"+k.ka02, `{"port": {"port_security_enabled": true, "security_groups": [`+fmt.Sprintf("%q", k.sg)+`]}}`, "")
	s.pairs(k.ka02, "0.0.0.0/0")
	r = s.runDoctor(vip, "-f", "json")
	if r.code != doctorProblems || !r.has("error", "over-wide address pair 0.0.0.0/0") {
		t.Errorf("0.0.0.0/0 pair: got %d %v\n%s", r.code, r.titles(), r.out)
	}

	// 5. A VM that was handed the VIP, next to the two nodes (pairs back to normal).
	s.pairs(k.ka02, vip)
	s.do("DELETE", "ports/"+portID(s, "vip"), "", "")
	web := s.do("POST", "ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "web", "device_owner": "compute:nova", "device_id": "vm-web",
		"fixed_ips": [{"ip_address": %q}]}}`, k.net, vip), "port")["id"].(string)
	r = s.runDoctor(vip, "-f", "json")
	if r.code != doctorProblems || len(r.report.Ports) != 2 || !r.has("error", "fixed IP of another VM's port web") {
		t.Errorf("VIP on another VM: got %d %v\n%s", r.code, r.titles(), r.out)
	}
	s.do("DELETE", "ports/"+web, "", "")

	// 6. keepalived02 moved to another network: peers apart.
	net2 := s.do("POST", "networks", `{"network": {"name": "net2"}}`, "network")["id"].(string)
	s.do("POST", "subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.9.0.0/24"}}`, net2), "")
	s.do("POST", "ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "ka02-net2", "device_owner": "compute:nova", "device_id": "vm-x",
		"security_groups": [%q], "allowed_address_pairs": [{"ip_address": %q}]}}`, net2, k.sg, vip), "")
	s.do("DELETE", "ports/"+k.ka02, "", "")
	r = s.runDoctor(vip, "-f", "json")
	if r.code != doctorProblems || !r.has("error", "The peers are on different networks") {
		t.Errorf("peers on two networks: got %d %v\n%s", r.code, r.titles(), r.out)
	}
	// With --network net2 the one peer there is alone, and the VIP is outside 10.9.0.0/24.
	r = s.runDoctor(vip, "--network", "net2", "-f", "json")
	if r.code != doctorProblems || !r.has("error", "outside every subnet of network net2") || !r.has("error", "Fewer than 2 peers") {
		t.Errorf("--network net2: got %d %v\n%s", r.code, r.titles(), r.out)
	}

	// 7. Failures to query are exit 1 with a message, not a report.
	if r = s.runDoctor(vip, "--network", "nonet"); r.code != 1 || r.err == nil || !strings.Contains(r.err.Error(), `network "nonet": not found`) {
		t.Errorf("unknown network: got %d %v", r.code, r.err)
	}
	if r = s.runDoctor("not-an-ip"); r.code != 1 || r.err == nil {
		t.Errorf("bad VIP: got %d %v", r.code, r.err)
	}
}

// portID finds a port's id by name.
func portID(s *doctorServer, name string) string {
	s.t.Helper()
	resp, err := http.Get(s.url + "/v2.0/ports?name=" + name)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Ports []struct {
			ID string `json:"id"`
		} `json:"ports"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || len(l.Ports) != 1 {
		s.t.Fatalf("port %s: %v %v", name, err, l)
	}
	return l.Ports[0].ID
}
