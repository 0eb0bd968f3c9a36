package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// fzCollections are the collections FuzzAPI writes to.
var fzCollections = []string{"ports", "networks", "subnets", "security-groups", "security-group-rules"}

// fzFixture is the server FuzzAPI drives, with one network, subnet,
// security group and port already created. Bodies and path suffixes name
// them with the placeholders $NET, $SUB, $SG and $PORT.
type fzFixture struct {
	h    http.Handler
	repl *strings.Replacer
}

// fzDir keeps the database in memory-backed storage when there is some:
// every committed write is fsynced, and the fuzzer makes many.
func fzDir(f *testing.F) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "bulwark-fuzz-"); err == nil {
			f.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return f.TempDir()
}

func newFzFixture(f *testing.F) *fzFixture {
	st, err := sqldb.OpenSQLite(context.Background(), filepath.Join(fzDir(f), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	fx := &fzFixture{h: api.New(service.New(st, service.DefaultConfig()), api.NoAuth{DefaultProject: "p1"}, nil)}
	create := func(path, body string) string {
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if rec.Code != http.StatusCreated {
			f.Fatalf("setup POST %s: %d %s", path, rec.Code, rec.Body)
		}
		var top map[string]map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &top); err != nil {
			f.Fatal(err)
		}
		for _, obj := range top {
			return obj["id"].(string)
		}
		f.Fatalf("setup POST %s: empty answer", path)
		return ""
	}
	net := create("/v2.0/networks", `{"network": {"name": "net1"}}`)
	sub := create("/v2.0/subnets", `{"subnet": {"network_id": "`+net+`", "ip_version": 4, "cidr": "172.16.200.0/24"}}`)
	sg := create("/v2.0/security-groups", `{"security_group": {"name": "ha-sg"}}`)
	port := create("/v2.0/ports", `{"port": {"network_id": "`+net+`", "fixed_ips": [{"ip_address": "172.16.200.193"}], "security_groups": ["`+sg+`"]}}`)
	fx.repl = strings.NewReplacer("$NET", net, "$SUB", sub, "$SG", sg, "$PORT", port)
	return fx
}

// fzSeeds are request bodies from the reference transcript and the error
// tables, written with placeholders.
var fzSeeds = []struct {
	put    bool
	col    int
	suffix string
	body   string
}{
	{false, 0, "", `{"port": {"admin_state_up": true, "network_id": "$NET", "name": "keepalived01", "fixed_ips": [{"ip_address": "172.16.200.194"}], "security_groups": ["$SG"]}}`},
	{false, 0, "", `{"port": {"network_id": "$NET", "allowed_address_pairs": [{"ip_address": "172.16.200.251"}]}}`},
	{false, 0, ".json", `{"ports": [{"network_id": "$NET"}, {"network_id": "$NET", "fixed_ips": [{"subnet_id": "$SUB"}]}]}`},
	{false, 0, "", `{"port": {"network_id": "$NET", "port_security_enabled": false, "security_groups": ["$SG"]}}`},
	{false, 0, "", `{"port": {"network_id": "$NET", "fixed_ips": [{"ip_address": "172.16.200.193"}]}}`},
	{true, 0, "/$PORT.json", `{"port": {"allowed_address_pairs": []}}`},
	{true, 0, "/$PORT", `{"port": {"allowed_address_pairs": [{"ip_address": "172.16.200.251", "mac_address": "fa:16:3e:00:00:01"}, {"ip_address": "172.16.200.0/24"}]}}`},
	{true, 0, "/$PORT", `{"port": {"port_security_enabled": "False"}}`},
	{true, 0, "/$PORT", `{"port": {"security_groups": [], "allowed_address_pairs": [], "port_security_enabled": false}}`},
	{true, 0, "/$PORT", `{"port": {"security_groups": ["5c3d7a2e-0000-4000-8000-0123456789ab"]}}`},
	{true, 0, "/$PORT", `{"port": {"security_groups": ["not-a-uuid"]}}`},
	{true, 0, "/$PORT", `{"port": {"port_security_enabled": "maybe"}}`},
	{true, 0, "/$PORT", `{"port": {"fixed_ips": [{"subnet_id": "$SUB", "ip_address": "172.16.200.9"}], "mac_address": "fa:16:3e:aa:bb:cc"}}`},
	{true, 0, "/$PORT", `{"port": `},
	{true, 0, "/$PORT/tags/t1", ``},
	{true, 0, "/nope", `{"port": {"name": "x"}}`},
	{false, 1, "", `{"network": {"admin_state_up": true, "name": "net2", "port_security_enabled": "false", "mtu": 1400}}`},
	{true, 1, "/$NET", `{"network": {"port_security_enabled": false, "name": "n"}}`},
	{false, 2, "", `{"subnet": {"network_id": "$NET", "ip_version": 4, "cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.10", "end": "10.9.0.20"}], "gateway_ip": null}}`},
	{false, 2, "", `{"subnet": {"network_id": "$NET", "ip_version": 6, "cidr": "2001:db8::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}`},
	{true, 2, "/$SUB", `{"subnet": {"allocation_pools": [{"start": "172.16.200.2", "end": "172.16.200.100"}], "gateway_ip": "172.16.200.1", "dns_nameservers": ["8.8.8.8"]}}`},
	{false, 3, "", `{"security_group": {"name": "ha-sg2", "description": "x", "stateful": true}}`},
	{true, 3, "/$SG", `{"security_group": {"name": "renamed"}}`},
	{false, 4, "", `{"security_group_rule": {"security_group_id": "$SG", "direction": "ingress", "ethertype": "IPv4", "protocol": "112"}}`},
	{false, 4, "", `{"security_group_rule": {"security_group_id": "$SG", "direction": "ingress", "ethertype": "IPv4", "protocol": "vrrp"}}`},
	{false, 4, "", `{"security_group_rule": {"security_group_id": "$SG", "direction": "ingress", "protocol": "tcp", "port_range_min": "22", "port_range_max": "22", "remote_group_id": "$SG"}}`},
	{false, 4, "", `{"security_group_rule": {"security_group_id": "$SG", "direction": "ingress", "protocol": "udp", "remote_ip_prefix": "10.0.0.5/24"}}`},
	{false, 4, "", `{"security_group_rule": {"security_group_id": "$SG", "direction": "sideways"}}`},
	{false, 4, "", `{"security_group_rules": [{"security_group_id": "$SG", "direction": "egress", "protocol": "icmp", "port_range_min": 8}, {"security_group_id": "$SG", "direction": "egress", "protocol": "icmp", "port_range_min": 8}]}`},
	{true, 4, "/$SG", `{"security_group_rule": {"description": "x"}}`},
}

// FuzzAPI drives the real HTTP handler with fuzzed method, path suffix and
// body on the writable collections: no answer may be a 5xx, and every
// answer is a JSON object (a NeutronError for errors).
func FuzzAPI(f *testing.F) {
	for _, s := range fzSeeds {
		f.Add(s.put, uint8(s.col), s.suffix, []byte(s.body))
	}
	fx := newFzFixture(f)
	f.Fuzz(func(t *testing.T, put bool, col uint8, suffix string, body []byte) {
		method := http.MethodPost
		if put {
			method = http.MethodPut
		}
		u, err := url.Parse("/v2.0/" + fzCollections[int(col)%len(fzCollections)] + fx.repl.Replace(suffix))
		if err != nil || u.Host != "" || u.Scheme != "" {
			return
		}
		req := &http.Request{Method: method, URL: u, RequestURI: u.RequestURI(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Host: "example.test"}
		b := []byte(fx.repl.Replace(string(body)))
		req.Body, req.ContentLength = fzBodyOf(b), int64(len(b))
		req = req.WithContext(context.Background())

		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %s\n-> %d %s", method, u, b, rec.Code, rec.Body)
		}
		// Neutron answers a single-tag PUT with 201 and no body.
		if rec.Code == http.StatusNoContent || (rec.Code == http.StatusCreated && method == http.MethodPut && strings.Contains(u.Path, "/tags/")) {
			if rec.Body.Len() != 0 {
				t.Fatalf("%s %s -> %d with a body %q", method, u, rec.Code, rec.Body)
			}
			return
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s -> %d with Content-Type %q", method, u, rec.Code, ct)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &obj); err != nil || obj == nil {
			t.Fatalf("%s %s %s\n-> %d, body is not a JSON object: %q", method, u, b, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		var ne struct {
			NeutronError *struct {
				Type    *string `json:"type"`
				Message *string `json:"message"`
				Detail  *string `json:"detail"`
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ne); err != nil || len(obj) != 1 || ne.NeutronError == nil ||
			ne.NeutronError.Type == nil || *ne.NeutronError.Type == "" || ne.NeutronError.Message == nil ||
			*ne.NeutronError.Message == "" || ne.NeutronError.Detail == nil {
			t.Fatalf("%s %s %s\n-> %d, not a NeutronError: %s", method, u, b, rec.Code, rec.Body)
		}
	})
}

type fzBody struct{ *bytes.Reader }

func (fzBody) Close() error { return nil }

func fzBodyOf(b []byte) fzBody { return fzBody{bytes.NewReader(b)} }
