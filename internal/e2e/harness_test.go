//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// cmdTimeout bounds every CLI invocation.
	cmdTimeout = 60 * time.Second
	// debugEnv, when set to 1, adds --debug to every CLI call so that the
	// HTTP exchanges show up in the printed output of failing steps.
	debugEnv = "BULWARK_E2E_DEBUG"
	// transcriptEnv names a file that gets every command and its output.
	transcriptEnv = "BULWARK_E2E_TRANSCRIPT"
	// childPathPrefix puts Debian's python (the scripts' #!/usr/bin/python3)
	// ahead of pyenv shims and the like.
	childPathPrefix = "/usr/bin:/bin"
)

// childPath is the PATH the CLIs run with.
func childPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return childPathPrefix + ":" + p
	}
	return childPathPrefix
}

// lookPathIn finds an executable named name in the directories of path.
func lookPathIn(name, path string) (string, bool) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// requireCLIs skips the test when the OpenStack CLIs are not installed, or
// fails it when running in CI (CI=true), where scripts/setup.sh installs
// them.
func requireCLIs(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"openstack", "neutron"} {
		if _, ok := lookPathIn(tool, childPath()); !ok {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("OpenStack CLIs not found in PATH: %s; install Debian's python3-openstackclient and "+
		"python3-neutronclient (as root: scripts/setup.sh)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	t.Skip(msg)
}

// goTool finds the go command that builds bulwark.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// buildBulwark compiles cmd/bulwark into dir.
func buildBulwark(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bulwark")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "github.com/bulwark-net/bulwark/cmd/bulwark")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/bulwark: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for the server's writes while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `bulwark server --auth keystone` on a free port with a
// fresh SQLite file and waits until /v3 answers. The server's process group
// is killed when the test ends, whatever its outcome.
func startServer(t *testing.T, bin, dir, adminPassword string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"server", "--listen", addr, "--db", "sqlite:" + filepath.Join(dir, "bulwark.db"),
		"--auth", "keystone", "--admin-password", adminPassword}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, killed in the cleanup; and killed by the
	// kernel should this test binary die first (go test -timeout, ^C).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("bulwark server (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("bulwark %s\nserver log (last 20000 bytes):\n%s", strings.Join(args, " "), tail(logs.String(), 20000))
		}
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it too
			t.Fatalf("bulwark %s exited early: %v\n%s", strings.Join(args, " "), err, logs.String())
		default:
		}
		resp, err := client.Get(base + "/v3")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulwark server on %s: GET /v3 not 200 after 30s (last error %v)\n%s", addr, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// creds is one keystone user scoped to one project.
type creds struct {
	user, password, project string
}

// result is one finished CLI invocation.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	err            error // could not start, or timed out
	elapsed        time.Duration
}

func (r result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ %s\n[exit status %d after %s]", shellJoin(r.args), r.code, r.elapsed.Round(time.Millisecond))
	if r.err != nil {
		fmt.Fprintf(&b, " (%v)", r.err)
	}
	fmt.Fprintf(&b, "\n--- stdout:\n%s\n--- stderr:\n%s", r.stdout, r.stderr)
	return b.String()
}

// output is stdout and stderr together, for message matching.
func (r result) output() string { return r.stdout + "\n" + r.stderr }

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$&|;<>(){}*?[]!#\\") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// cli runs the OpenStack CLIs against one bulwark server.
type cli struct {
	t          *testing.T
	base       string // http://127.0.0.1:PORT
	home       string
	debug      bool
	transcript io.Writer // optional: every command and its output
	deadline   time.Time // no command runs past it (zero: none)
}

// setDeadline bounds the whole walk-through: d from now, and in any case
// 30s before go test's -timeout, so that the clean-up and its logs run.
func (c *cli) setDeadline(d time.Duration) {
	c.deadline = time.Now().Add(d)
	if td, ok := c.t.Deadline(); ok && td.Add(-30*time.Second).Before(c.deadline) {
		c.deadline = td.Add(-30 * time.Second)
	}
}

// env is the CLIs' environment: the test's, without OS_* settings,
// proxies or Python overrides, plus the openrc of c.
func (c *cli) env(cr creds) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "OS_"), strings.HasPrefix(k, "PYTHON"), k == "VIRTUAL_ENV",
			strings.EqualFold(k, "http_proxy"), strings.EqualFold(k, "https_proxy"),
			strings.EqualFold(k, "all_proxy"), strings.EqualFold(k, "no_proxy"),
			k == "PATH", k == "HOME", k == "PYENV_VERSION":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+childPath(),
		"HOME="+c.home,
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONWARNINGS=ignore",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"OS_AUTH_URL="+c.base+"/v3",
		"OS_USERNAME="+cr.user,
		"OS_PASSWORD="+cr.password,
		"OS_PROJECT_NAME="+cr.project,
		"OS_USER_DOMAIN_NAME=Default",
		"OS_PROJECT_DOMAIN_NAME=Default",
		"OS_IDENTITY_API_VERSION=3",
		"OS_REGION_NAME=RegionOne",
		"OS_INTERFACE=public",
	)
}

// run executes one CLI command (args[0] is openstack or neutron) as cr.
func (c *cli) run(cr creds, args ...string) result {
	c.t.Helper()
	argv := args
	if c.debug {
		argv = append([]string{args[0], "--debug"}, args[1:]...)
	}
	timeout := cmdTimeout
	if !c.deadline.IsZero() {
		left := time.Until(c.deadline)
		if left <= 0 {
			c.t.Fatalf("walk-through deadline passed before: %s", shellJoin(argv))
		}
		timeout = min(timeout, left)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if p, ok := lookPathIn(argv[0], childPath()); ok {
		cmd.Path = p
		cmd.Err = nil
	}
	cmd.Env = c.env(cr)
	cmd.Dir = c.home
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{args: argv, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	defer func() {
		if c.transcript != nil {
			fmt.Fprintf(c.transcript, "%s\n\n", r)
		}
	}()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.err = err
		if ctx.Err() != nil {
			r.err = fmt.Errorf("timed out after %s: %v", timeout, err)
		}
	}
	return r
}

// ok runs a command that must exit 0; the test stops if it does not.
func (c *cli) ok(cr creds, args ...string) result {
	c.t.Helper()
	r := c.run(cr, args...)
	if r.code != 0 || r.err != nil {
		c.t.Fatalf("command failed, want exit status 0:\n%s%s", r, c.hint())
	}
	return r
}

// fails runs a command that must exit 1 with every one of wants in its
// output. The test goes on when it does not.
func (c *cli) fails(cr creds, wants []string, args ...string) result {
	c.t.Helper()
	r := c.run(cr, args...)
	if r.code != 1 || r.err != nil {
		c.t.Errorf("want exit status 1 with %q:\n%s%s", wants, r, c.hint())
		return r
	}
	for _, w := range wants {
		if !strings.Contains(r.output(), w) {
			c.t.Errorf("output lacks %q:\n%s%s", w, r, c.hint())
		}
	}
	return r
}

func (c *cli) hint() string {
	if c.debug {
		return ""
	}
	return "\n(rerun with " + debugEnv + "=1 to see the HTTP exchanges, " + transcriptEnv + "=FILE for every command's output)"
}

// check reports a failed expectation about a command's output along with
// the command.
func (c *cli) check(r result, cond bool, format string, args ...any) {
	c.t.Helper()
	if !cond {
		c.t.Errorf("%s\n%s", fmt.Sprintf(format, args...), r)
	}
}

// ---- output parsing ----

// jsonObject decodes the `-f json` output of a show/create command.
func (c *cli) jsonObject(r result) map[string]any {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		c.t.Fatalf("stdout is not a JSON object: %v\n%s", err, r)
	}
	return m
}

// jsonList decodes the `-f json` output of a list command.
func (c *cli) jsonList(r result) []map[string]any {
	c.t.Helper()
	var l []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		c.t.Fatalf("stdout is not a JSON list of objects: %v\n%s", err, r)
	}
	return l
}

// tableRows parses a cliff/prettytable table: the first |-line is the
// header, every other |-line a row; a line whose first cell is empty
// continues the row above (multi-line values are joined with "\n").
func tableRows(out string) (header []string, rows [][]string) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \r")
		if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
			continue
		}
		cells := strings.Split(line[1:len(line)-1], "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case cells[0] == "" && len(rows) > 0 && len(cells) == len(rows[len(rows)-1]):
			prev := rows[len(rows)-1]
			for i, v := range cells {
				if v == "" {
					continue
				}
				if prev[i] == "" {
					prev[i] = v
				} else {
					prev[i] += "\n" + v
				}
			}
		default:
			rows = append(rows, cells)
		}
	}
	return header, rows
}

// fieldTable parses a two-column Field/Value table (neutron create/show).
func (c *cli) fieldTable(r result) map[string]string {
	c.t.Helper()
	header, rows := tableRows(r.stdout)
	if len(header) != 2 || header[0] != "Field" || header[1] != "Value" {
		c.t.Fatalf("stdout has no Field/Value table (header %q):\n%s", header, r)
	}
	m := map[string]string{}
	for _, row := range rows {
		m[row[0]] = row[1]
	}
	return m
}

// listTable parses a list table into one map per row, keyed by header.
func (c *cli) listTable(r result) []map[string]string {
	c.t.Helper()
	header, rows := tableRows(r.stdout)
	if header == nil {
		c.t.Fatalf("stdout has no table:\n%s", r)
	}
	var out []map[string]string
	for _, row := range rows {
		m := map[string]string{}
		for i, h := range header {
			if i < len(row) {
				m[h] = row[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// jsonLines decodes a neutron table value holding one JSON object per line
// (fixed_ips, allowed_address_pairs, security_group_rules).
func (c *cli) jsonLines(r result, field, v string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(v, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			c.t.Fatalf("%s: line %q is not a JSON object: %v\n%s", field, line, err, r)
		}
		out = append(out, m)
	}
	return out
}

// lines splits a multi-line table value; "" gives none.
func lines(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

// str renders a decoded JSON value the way the tests compare it: strings
// as is, null as "", numbers and bools with %v.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%v", x)
	default:
		return fmt.Sprintf("%v", x)
	}
}

// strs turns a decoded JSON list (or a comma/newline separated string, as
// some formatters give) into strings.
func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	case string:
		if x == "" {
			return nil
		}
		f := strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' })
		return f
	default:
		return []string{str(x)}
	}
}

// pairs turns allowed_address_pairs (a decoded JSON list of objects) into
// "ip_address,mac_address" strings.
func pairs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			m, _ := e.(map[string]any)
			out = append(out, str(m["ip_address"])+","+str(m["mac_address"]))
		}
	case []map[string]any:
		for _, m := range x {
			out = append(out, str(m["ip_address"])+","+str(m["mac_address"]))
		}
	}
	return out
}

// ---- raw API ----

// apiResponse is one raw Neutron API exchange.
type apiResponse struct {
	req    string
	status int
	header http.Header
	body   string
}

func (a apiResponse) String() string {
	return fmt.Sprintf("%s\n-> %d %v\n%s", a.req, a.status, a.header, a.body)
}

// api sends one request with X-Auth-Token, like the runbook's curl.
func (c *cli) api(token, method, path, body string) apiResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "python-neutronclient")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	a := apiResponse{req: fmt.Sprintf("%s %s %s", method, path, body), status: resp.StatusCode, header: resp.Header, body: string(b)}
	if c.transcript != nil {
		fmt.Fprintf(c.transcript, "$ curl -X %s\n%s\n\n", method, a)
	}
	return a
}

// object decodes {"<key>": {...}} from a raw response.
func (c *cli) object(a apiResponse, key string) map[string]any {
	c.t.Helper()
	var m map[string]map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || m[key] == nil {
		c.t.Fatalf("response is not {%q: {...}} (%v):\n%s", key, err, a)
	}
	return m[key]
}

// neutronError checks a raw response against a NeutronError body.
func (c *cli) neutronError(a apiResponse, status int, typ, message string) {
	c.t.Helper()
	var e struct {
		NeutronError *struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Detail  *string `json:"detail"`
		}
	}
	err := json.Unmarshal([]byte(a.body), &e)
	if a.status != status || err != nil || e.NeutronError == nil || e.NeutronError.Type != typ ||
		e.NeutronError.Message != message || e.NeutronError.Detail == nil || *e.NeutronError.Detail != "" {
		c.t.Errorf("want %d {\"NeutronError\": {\"type\": %q, \"message\": %q, \"detail\": \"\"}}, got:\n%s", status, typ, message, a)
	}
}
