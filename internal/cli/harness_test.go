package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/osclient"
	"github.com/bulwark-net/bulwark/internal/testserver"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/spf13/cobra"
)

// adminPassword is the keystone-mode servers' bootstrap password.
const adminPassword = "cli-test-Pw-4d1e"

// osVars are every variable that could point the verbs elsewhere; each
// test starts with all of them empty.
var osVars = []string{"OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_PROJECT_ID",
	"OS_TENANT_NAME", "OS_TENANT_ID", "OS_USER_DOMAIN_NAME", "OS_USER_DOMAIN_ID", "OS_PROJECT_DOMAIN_NAME", "OS_PROJECT_DOMAIN_ID",
	"OS_DOMAIN_NAME", "OS_DOMAIN_ID", "OS_REGION_NAME", "OS_CLIENT_CONFIG_FILE", "BULWARK_URL"}

// testServer is a real Bulwark server (API, service, SQLite file) behind
// httptest; keystone mode also serves Identity v3 under /v3.
type testServer struct {
	t        *testing.T
	url      string
	keystone bool
}

// newServer starts a server and points the verbs at it: noauth through
// BULWARK_URL, keystone through the OS_* variables of an admin openrc.
// No request of any test may get a 5xx.
func newServer(t *testing.T, keystone bool) *testServer {
	t.Helper()
	for _, v := range osVars {
		t.Setenv(v, "")
	}
	srv := testserver.Start(t, testserver.Options{Keystone: keystone, AdminPassword: adminPassword, DefaultProject: "admin", NoServerErrors: true})
	s := &testServer{t: t, url: srv.URL, keystone: keystone}
	if keystone {
		for k, v := range map[string]string{"OS_AUTH_URL": srv.URL + "/v3", "OS_USERNAME": "admin", "OS_PASSWORD": adminPassword,
			"OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": identity.Region} {
			t.Setenv(k, v)
		}
	} else {
		t.Setenv("BULWARK_URL", srv.URL)
	}
	return s
}

// result is one verb's outcome as a process would see it.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("bulwark %s -> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// run executes one command line as cmd/bulwark's main does.
func run(args ...string) result {
	root := &cobra.Command{Use: "bulwark", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&errb, "bulwark:", err)
	}
	return result{args: args, stdout: out.String(), stderr: errb.String(), code: ExitCode(err)}
}

// ok runs a command that must succeed and returns its stdout.
func (s *testServer) ok(args ...string) string {
	s.t.Helper()
	r := run(args...)
	if r.code != 0 {
		s.t.Fatalf("%v", r)
	}
	return r.stdout
}

// fails runs a command that must fail with code and a message containing msg.
func (s *testServer) fails(code int, msg string, args ...string) result {
	s.t.Helper()
	r := run(args...)
	if r.code != code || !strings.Contains(r.stderr, msg) {
		s.t.Fatalf("want exit %d with %q; got %v", code, msg, r)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "Expected HTTP response code") {
		s.t.Fatalf("raw error leaked: %v", r)
	}
	return r
}

// okJSON runs a command with -f json and decodes its output.
func (s *testServer) okJSON(args ...string) map[string]any {
	s.t.Helper()
	out := s.ok(append(args, "-f", "json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		s.t.Fatalf("bulwark %s: not a JSON object: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

// get reads a resource straight from the server's API (not through the
// verbs), with the same credentials: what the server now holds.
func (s *testServer) get(path string) map[string]any {
	s.t.Helper()
	c := s.client()
	var body map[string]any
	_, err := c.Get(context.Background(), c.ResourceBase+path, &body, nil)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	for _, v := range body {
		if m, ok := v.(map[string]any); ok {
			return m
		}
	}
	s.t.Fatalf("GET %s: no object in %v", path, body)
	return nil
}

// count lists a collection straight from the API.
func (s *testServer) count(collection string) int {
	s.t.Helper()
	c := s.client()
	var body map[string][]any
	if _, err := c.Get(context.Background(), c.ResourceBase+collection, &body, nil); err != nil {
		s.t.Fatalf("GET %s: %v", collection, err)
	}
	return len(body[strings.ReplaceAll(collection, "-", "_")])
}

func (s *testServer) client() *gophercloud.ServiceClient {
	s.t.Helper()
	c, err := osclient.Network(context.Background(), osclient.Options{URL: os.Getenv("BULWARK_URL")})
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	return c
}
