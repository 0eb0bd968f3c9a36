package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/gophercloud/gophercloud/v2"
)

// defaultProject is the project every request without X-Project-Id acts in.
const defaultProject = "5bc227d10ee24a7ab6867316df88d103"

// unknownID is a well-formed UUID that names nothing (the reference's).
const unknownID = "5c3d7a2e-0000-4000-8000-0123456789ab"

var (
	reqIDRe     = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	timestampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	neutronMAC  = regexp.MustCompile(`^fa:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)
)

// backend is the database engine of this run of the suite: TestMain runs
// every test once per engine (pgtest.Backends: BULWARK_TEST_DB).
var backend = pgtest.SQLite

func TestMain(m *testing.M) {
	code := pgtest.Main(m, func(b string) { backend = b })
	if binPath != "" { // built by the fault tests
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// openTestStore opens a fresh store on the run's backend: a new SQLite
// file, or a new database on the package's private PostgreSQL cluster.
func openTestStore(t *testing.T) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	var st *sqldb.DB
	var err error
	if backend == pgtest.Postgres {
		st, err = sqldb.OpenPostgres(ctx, pgtest.NewDatabase(t), sqldb.PostgresOptions{MaxConns: 8})
	} else {
		st, err = sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	}
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	return st
}

// env is one Bulwark server on a fresh database (SQLite file or PostgreSQL), reached through
// httptest, with a gophercloud client and a raw HTTP client.
type env struct {
	t   *testing.T
	srv *httptest.Server
	// nc is an unmodified gophercloud networking client (no token).
	nc *gophercloud.ServiceClient

	mu       sync.Mutex
	failures []string // every 5xx the server answered
}

// memberAuth is a Keystone-like caller for tests that need a non-admin:
// X-Roles (comma separated) gives the roles, default "member".
type memberAuth struct{}

func (memberAuth) Authenticate(r *http.Request) (policy.Caller, error) {
	p := r.Header.Get("X-Project-Id")
	if p == "" {
		p = defaultProject
	}
	roles := []string{"member", "reader"}
	if h := r.Header.Get("X-Roles"); h != "" {
		roles = strings.Split(h, ",")
	}
	return policy.Caller{ProjectID: p, UserID: "demo", Roles: roles}, nil
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, api.NoAuth{DefaultProject: defaultProject}, service.DefaultConfig())
}

func newEnvWith(t *testing.T, auth api.Authenticator, cfg service.Config) *env {
	t.Helper()
	st := openTestStore(t)
	return serveEnv(t, api.New(service.New(st, cfg), auth, nil), func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
}

// serveEnv serves h through httptest, recording every 5xx (no request of
// any test may get one); closed, then cleanup run, when the test ends.
func serveEnv(t *testing.T, h http.Handler, cleanup func()) *env {
	t.Helper()
	e := &env{t: t}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 500 {
			e.mu.Lock()
			e.failures = append(e.failures, fmt.Sprintf("%s %s -> %d", r.Method, r.URL, rec.status))
			e.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		e.srv.Close()
		cleanup()
		for _, f := range e.failures {
			t.Errorf("server error: %s", f)
		}
	})
	pc := &gophercloud.ProviderClient{HTTPClient: *e.srv.Client()}
	e.nc = &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: e.srv.URL + "/", ResourceBase: e.srv.URL + "/v2.0/"}
	return e
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// resp is one raw HTTP exchange's answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	req    string
}

// JSON decodes the body as an object (failing the test otherwise).
func (r *resp) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v: %q", r.req, err, r.Body)
	}
	return m
}

// obj returns the object under key (e.g. "port").
func (r *resp) obj(t *testing.T, key string) map[string]any {
	t.Helper()
	m, ok := r.JSON(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("%s: no %q object in %s", r.req, key, r.Body)
	}
	return m
}

// list returns the objects of the list under key (e.g. "ports").
func (r *resp) list(t *testing.T, key string) []map[string]any {
	t.Helper()
	raw, ok := r.JSON(t)[key].([]any)
	if !ok {
		t.Fatalf("%s: no %q list in %s", r.req, key, r.Body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i], _ = x.(map[string]any)
	}
	return out
}

// neutronError is the body of every error answer.
type neutronError struct {
	Type, Message, Detail string
}

func (r *resp) nerr(t *testing.T) neutronError {
	t.Helper()
	var b struct {
		NeutronError *struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Detail  *string `json:"detail"`
		}
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.NeutronError == nil {
		t.Fatalf("%s: %d answer is not a NeutronError: %q", r.req, r.Status, r.Body)
	}
	if b.NeutronError.Detail == nil || *b.NeutronError.Detail != "" {
		t.Errorf("%s: NeutronError.detail = %v, want \"\"", r.req, b.NeutronError.Detail)
	}
	return neutronError{Type: b.NeutronError.Type, Message: b.NeutronError.Message}
}

// do sends one raw request. body is a string or []byte (sent verbatim),
// nil (no body) or any other value (sent as JSON). hdr is key, value, ...
func (e *env) do(method, path string, body any, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return &resp{Status: res.StatusCode, Header: res.Header, Body: b, req: method + " " + path}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path string, body any, hdr ...string) *resp {
	e.t.Helper()
	r := e.do(method, path, body, hdr...)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// expectError checks status, NeutronError type and exact message (a
// message ending in "*" is matched as a prefix).
func expectError(t *testing.T, r *resp, status int, typ, msg string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d (body %s)", r.req, r.Status, status, r.Body)
	}
	ne := r.nerr(t)
	if ne.Type != typ {
		t.Errorf("%s: type %q, want %q (message %q)", r.req, ne.Type, typ, ne.Message)
	}
	if p, ok := strings.CutSuffix(msg, "*"); ok {
		if !strings.HasPrefix(ne.Message, p) {
			t.Errorf("%s: message %q, want prefix %q", r.req, ne.Message, p)
		}
	} else if ne.Message != msg {
		t.Errorf("%s: message\n  got  %q\n  want %q", r.req, ne.Message, msg)
	}
}

// create POSTs {"<singular>": attrs} to /v2.0/<collection> and returns the object.
func (e *env) create(collection, singular string, attrs map[string]any, hdr ...string) map[string]any {
	e.t.Helper()
	return e.must(201, "POST", "/v2.0/"+collection, map[string]any{singular: attrs}, hdr...).obj(e.t, singular)
}

func (e *env) get(collection, singular, id string, hdr ...string) map[string]any {
	e.t.Helper()
	return e.must(200, "GET", "/v2.0/"+collection+"/"+id, nil, hdr...).obj(e.t, singular)
}

func (e *env) update(collection, singular, id string, attrs map[string]any, hdr ...string) map[string]any {
	e.t.Helper()
	return e.must(200, "PUT", "/v2.0/"+collection+"/"+id, map[string]any{singular: attrs}, hdr...).obj(e.t, singular)
}

// fixture is a network with one IPv4 subnet.
type fixture struct {
	net, subnet string
}

// newNet creates a network and a subnet with cidr in it.
func (e *env) newNet(name, cidr string, hdr ...string) fixture {
	e.t.Helper()
	n := e.create("networks", "network", map[string]any{"name": name}, hdr...)
	sn := e.create("subnets", "subnet", map[string]any{"network_id": n["id"], "cidr": cidr, "ip_version": 4, "name": name + "-sub"}, hdr...)
	return fixture{net: str(n, "id"), subnet: str(sn, "id")}
}

// newGroup creates a security group.
func (e *env) newGroup(name string, hdr ...string) map[string]any {
	e.t.Helper()
	return e.create("security-groups", "security_group", map[string]any{"name": name}, hdr...)
}

// newPort creates a port on net with extra attributes.
func (e *env) newPort(net string, attrs map[string]any, hdr ...string) map[string]any {
	e.t.Helper()
	a := map[string]any{"network_id": net}
	for k, v := range attrs {
		a[k] = v
	}
	return e.create("ports", "port", a, hdr...)
}

// str reads a string attribute ("" when absent or not a string).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// num reads a numeric attribute as int (-1 when absent).
func num(m map[string]any, k string) int {
	f, ok := m[k].(float64)
	if !ok {
		return -1
	}
	return int(f)
}

// strs reads a list of strings.
func strs(m map[string]any, k string) []string {
	l, _ := m[k].([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// objs reads a list of objects.
func objs(m map[string]any, k string) []map[string]any {
	l, _ := m[k].([]any)
	out := []map[string]any{}
	for _, x := range l {
		o, _ := x.(map[string]any)
		out = append(out, o)
	}
	return out
}

// ids lists the "id" of each object.
func ids(l []map[string]any) []string {
	out := make([]string, len(l))
	for i, m := range l {
		out[i] = str(m, "id")
	}
	return out
}

// pairs renders allowed_address_pairs as sorted "mac ip" strings.
func pairs(port map[string]any) []string {
	out := []string{}
	for _, p := range objs(port, "allowed_address_pairs") {
		out = append(out, str(p, "mac_address")+" "+str(p, "ip_address"))
	}
	slices.Sort(out)
	return out
}

// fixedIPs renders fixed_ips as "subnet ip" strings.
func fixedIPs(port map[string]any) []string {
	out := []string{}
	for _, f := range objs(port, "fixed_ips") {
		out = append(out, str(f, "subnet_id")+" "+str(f, "ip_address"))
	}
	return out
}

// gcErr extracts status and NeutronError from a gophercloud error.
func gcErr(t *testing.T, err error) (int, neutronError) {
	t.Helper()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		t.Fatalf("want an HTTP error from gophercloud, got %v", err)
	}
	r := &resp{Status: ue.Actual, Body: ue.Body, req: ue.Method + " " + ue.URL}
	return ue.Actual, r.nerr(t)
}

// expectGCError checks a gophercloud call failed with status/type/message.
func expectGCError(t *testing.T, err error, status int, typ, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %d %s, got success", status, typ)
	}
	st, ne := gcErr(t, err)
	if st != status || ne.Type != typ || (msg != "" && ne.Message != msg) {
		t.Errorf("got %d %s %q\nwant %d %s %q", st, ne.Type, ne.Message, status, typ, msg)
	}
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
