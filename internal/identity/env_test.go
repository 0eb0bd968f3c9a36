package identity_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/bulwark-net/bulwark/internal/testserver"
)

// adminPassword is the bootstrap password of every test server; distinct
// enough that finding it in a log or a file is never a coincidence.
const adminPassword = "Adm1n-pw-7f3c9e1b"

var (
	// Keystone's token timestamps: microseconds and a Z.
	tokenTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)
	idRe        = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// lockedBuf is a log sink safe for the server's goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// kenv is one `bulwark server --auth keystone` on a fresh SQLite file.
type kenv struct {
	t      *testing.T
	dir    string // holds the database (and its WAL)
	dbPath string
	st     *sqldb.DB
	ids    *identity.Service
	srv    *httptest.Server
	log    *lockedBuf
	admin  string // an admin-scoped token
	*shared
}

type shared struct {
	mu      sync.Mutex
	secrets []string // passwords and tokens: never in the log
}

// in returns the environment reporting to t (a subtest's).
func (e *kenv) in(t *testing.T) *kenv {
	c := *e
	c.t = t
	return &c
}

// newKEnv starts the server; no request of any test may get a 5xx.
func newKEnv(t *testing.T, ttl time.Duration) *kenv {
	t.Helper()
	e := &kenv{t: t, log: &lockedBuf{}, shared: &shared{}}
	ts := testserver.Start(t, testserver.Options{Keystone: true, AdminPassword: adminPassword, TokenTTL: ttl,
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})), NoServerErrors: true})
	e.dir, e.dbPath, e.st, e.ids, e.srv = ts.Dir, ts.DBPath, ts.Store, ts.Identity, ts.HTTP
	e.secret(adminPassword)
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		logged := e.log.String()
		for _, s := range e.secrets {
			if strings.Contains(logged, s) {
				t.Errorf("secret %.6s... appears in the server log:\n%s", s, logged)
			}
		}
	})
	e.admin, _ = e.auth(201, pwByName("admin", adminPassword), projectByName("admin"))
	return e
}

// secret records a string that must never be logged.
func (e *kenv) secret(s string) {
	e.mu.Lock()
	e.secrets = append(e.secrets, s)
	e.mu.Unlock()
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
	req    string
}

func (r *resp) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v: %q", r.req, err, r.Body)
	}
	return m
}

// do sends one request; token, when not empty, goes in X-Auth-Token; hdr
// is key, value, ...
func (e *kenv) do(method, path string, body any, token string, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
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
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
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
func (e *kenv) must(want int, method, path string, body any, token string, hdr ...string) *resp {
	e.t.Helper()
	r := e.do(method, path, body, token, hdr...)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// pwByName, pwByID and projectByName/ID build the parts of an auth request.
func pwByName(name, pw string) map[string]any {
	return map[string]any{"name": name, "domain": map[string]any{"name": "Default"}, "password": pw}
}

func pwByID(id, pw string) map[string]any { return map[string]any{"id": id, "password": pw} }

func projectByName(name string) map[string]any {
	return map[string]any{"project": map[string]any{"name": name, "domain": map[string]any{"name": "Default"}}}
}

func projectByID(id string) map[string]any {
	return map[string]any{"project": map[string]any{"id": id}}
}

// authBody is a password auth request; scope nil is unscoped.
func authBody(user, scope map[string]any) map[string]any {
	a := map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": user}}}
	if scope != nil {
		a["scope"] = scope
	}
	return map[string]any{"auth": a}
}

// auth POSTs /v3/auth/tokens, expects status want, and on success returns
// the X-Subject-Token and the "token" object.
func (e *kenv) auth(want int, user, scope map[string]any) (string, map[string]any) {
	e.t.Helper()
	r := e.do("POST", "/v3/auth/tokens", authBody(user, scope), "")
	if r.Status != want {
		e.t.Fatalf("auth as %v scope %v: status %d, want %d: %s", user["name"], scope, r.Status, want, r.Body)
	}
	if want != 201 {
		if s := r.Header.Get("X-Subject-Token"); s != "" {
			e.t.Errorf("failed auth answered with X-Subject-Token %q", s)
		}
		return "", r.JSON(e.t)
	}
	secret := r.Header.Get("X-Subject-Token")
	if secret == "" {
		e.t.Fatalf("auth: no X-Subject-Token: %s", r.Body)
	}
	e.secret(secret)
	tok, ok := r.JSON(e.t)["token"].(map[string]any)
	if !ok {
		e.t.Fatalf("auth: no token object: %s", r.Body)
	}
	return secret, tok
}

// mkProject creates a project and returns its id.
func (e *kenv) mkProject(name string) string {
	e.t.Helper()
	p := e.must(201, "POST", "/v3/projects", map[string]any{"project": map[string]any{"name": name}}, e.admin).JSON(e.t)
	return str(at(p, "project.id"))
}

// mkUser creates a user with a password (and extra attributes).
func (e *kenv) mkUser(name, pw string, extra map[string]any) string {
	e.t.Helper()
	u := map[string]any{"name": name, "password": pw}
	for k, v := range extra {
		u[k] = v
	}
	e.secret(pw)
	res := e.must(201, "POST", "/v3/users", map[string]any{"user": u}, e.admin).JSON(e.t)
	return str(at(res, "user.id"))
}

// roleID finds a role by name.
func (e *kenv) roleID(name string) string {
	e.t.Helper()
	rs := at(e.must(200, "GET", "/v3/roles?name="+name, nil, e.admin).JSON(e.t), "roles").([]any)
	if len(rs) != 1 {
		e.t.Fatalf("roles named %s: %v", name, rs)
	}
	return str(at(rs[0], "id"))
}

func (e *kenv) grant(project, user, role string) {
	e.t.Helper()
	e.must(204, "PUT", "/v3/projects/"+project+"/users/"+user+"/roles/"+e.roleID(role), nil, e.admin)
}

// at walks a decoded JSON value by a dotted path ("token.roles.0.name").
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// names lists the "name" of each object in a JSON list.
func names(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		out = append(out, str(at(x, "name")))
	}
	return out
}

// keystoneError checks a Keystone error body: {"error": {"code", "title", "message"}}.
func keystoneError(t *testing.T, r *resp, code int, title string) string {
	t.Helper()
	if r.Status != code {
		t.Errorf("%s: status %d, want %d: %s", r.req, r.Status, code, r.Body)
	}
	var b struct {
		Error *struct {
			Code    *int    `json:"code"`
			Title   *string `json:"title"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Error == nil || b.Error.Code == nil || b.Error.Title == nil || b.Error.Message == nil {
		t.Fatalf("%s: not a Keystone error body: %s", r.req, r.Body)
	}
	if *b.Error.Code != code || *b.Error.Title != title || *b.Error.Message == "" {
		t.Errorf("%s: error %d %q %q, want %d %q", r.req, *b.Error.Code, *b.Error.Title, *b.Error.Message, code, title)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", r.req, ct)
	}
	return *b.Error.Message
}
