package identity_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"golang.org/x/crypto/bcrypt"
)

// svcAuth authenticates through the Service (no HTTP).
func svcAuth(t *testing.T, ids *identity.Service, user, pw, project string) (string, *identity.TokenInfo, error) {
	t.Helper()
	b, _ := json.Marshal(authBody(pwByName(user, pw), projectByName(project)))
	var req identity.AuthRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return ids.Authenticate(context.Background(), req)
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := identity.New(st, time.Hour)

	step := func(pw string, wantCreated bool, wantErr error) {
		t.Helper()
		created, err := ids.Bootstrap(ctx, pw)
		if !errors.Is(err, wantErr) || created != wantCreated {
			t.Fatalf("Bootstrap(%q) = %v, %v; want %v, %v", pw, created, err, wantCreated, wantErr)
		}
	}
	// The first start needs a password for the admin user it creates.
	step("", false, identity.ErrNeedPassword)
	step("first-pw-1", true, nil)
	// Later starts keep it.
	step("", false, nil)
	step("first-pw-1", false, nil)
	adminHash := func() string {
		us, err := st.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.Name == "admin" {
				return u.PasswordHash
			}
		}
		t.Fatal("no admin user")
		return ""
	}
	h1 := adminHash()
	step("first-pw-1", false, nil)
	if h2 := adminHash(); h2 != h1 {
		t.Errorf("the same password was re-hashed")
	}
	if _, info, err := svcAuth(t, ids, "admin", "first-pw-1", "admin"); err != nil || !slices.Equal(info.RoleNames(), []string{"admin", "member", "reader"}) {
		t.Fatalf("admin login: %v %v", err, info)
	}

	// Exactly one of everything, whatever the number of starts.
	check := func() {
		t.Helper()
		ds, _ := st.Domains(ctx)
		ps, _ := st.Projects(ctx)
		us, _ := st.Users(ctx)
		rs, _ := st.Roles(ctx)
		as, _ := st.Assignments(ctx)
		var roles []string
		for _, r := range rs {
			roles = append(roles, r.Name)
		}
		slices.Sort(roles)
		if len(ds) != 1 || ds[0].ID != "default" || ds[0].Name != "Default" || !ds[0].Enabled ||
			len(ps) != 1 || ps[0].Name != "admin" || ps[0].DomainID != "default" ||
			len(us) != 1 || us[0].Name != "admin" || us[0].DefaultProjectID != ps[0].ID || !us[0].Enabled ||
			!slices.Equal(roles, []string{"admin", "member", "reader"}) ||
			len(as) != 1 || as[0].UserID != us[0].ID || as[0].ProjectID != ps[0].ID {
			t.Errorf("after bootstrap:\n domains %+v\n projects %+v\n users %d\n roles %v\n assignments %+v", ds, ps, len(us), roles, as)
		}
	}
	check()

	// An explicit new password resets the admin's.
	step("second-pw-2", false, nil)
	if _, _, err := svcAuth(t, ids, "admin", "first-pw-1", "admin"); err == nil {
		t.Errorf("the old admin password still works")
	}
	if _, _, err := svcAuth(t, ids, "admin", "second-pw-2", "admin"); err != nil {
		t.Errorf("the new admin password: %v", err)
	}
	// A lost admin role is given back; a restart (new Service) keeps it all.
	as, _ := st.Assignments(ctx)
	if err := st.Unassign(ctx, as[0]); err != nil {
		t.Fatal(err)
	}
	ids = identity.New(st, time.Hour)
	step("", false, nil)
	check()
	if _, _, err := svcAuth(t, ids, "admin", "second-pw-2", "admin"); err != nil {
		t.Errorf("after restart: %v", err)
	}
}

// TestSecretsAtRest reads the database behind the server's back: tokens
// are stored hashed, passwords as bcrypt, and no secret is in any file.
func TestSecretsAtRest(t *testing.T) {
	t.Parallel()
	e := newKEnv(t, time.Hour)
	demoP := e.mkProject("demo")
	carol := e.mkUser("carol", "carol-pw-9z", nil)
	e.grant(demoP, carol, "member")
	toks := []string{e.admin}
	for range 3 {
		s, _ := e.auth(201, pwByName("carol", "carol-pw-9z"), projectByName("demo"))
		toks = append(toks, s)
	}

	// Unguessable: long, random-looking, unrelated to each other and to ids.
	b64url := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for i, a := range toks {
		if len(a) < 40 || !b64url.MatchString(a) {
			t.Errorf("token %q: want 40+ URL-safe characters", a)
		}
		if strings.Contains(a, carol) || strings.Contains(a, demoP) {
			t.Errorf("token %q contains an id", a)
		}
		for _, b := range toks[i+1:] {
			same := 0
			for k := 0; k < min(len(a), len(b)); k++ {
				if a[k] == b[k] {
					same++
				}
			}
			if a == b || same > 12 {
				t.Errorf("tokens %q and %q share %d positions", a, b, same)
			}
		}
	}

	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM tokens")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			for _, s := range toks {
				if strings.Contains(v.String, s) || (len(v.String) >= 16 && strings.Contains(s, v.String)) {
					t.Errorf("tokens.%s holds the token secret: %q", cols[i], v.String)
				}
			}
		}
	}
	rows.Close()
	if n < len(toks) {
		t.Errorf("%d token rows for %d tokens", n, len(toks))
	}

	pws := map[string]string{"admin": adminPassword, "carol": "carol-pw-9z"}
	rows, err = db.Query("SELECT name, password_hash FROM users")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, hash string
		if err := rows.Scan(&name, &hash); err != nil {
			t.Fatal(err)
		}
		cost, err := bcrypt.Cost([]byte(hash))
		if !strings.HasPrefix(hash, "$2") || err != nil || cost < bcrypt.DefaultCost {
			t.Errorf("%s: password_hash %q is not bcrypt (cost %d, %v)", name, hash, cost, err)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pws[name])); err != nil {
			t.Errorf("%s: hash does not match the password: %v", name, err)
		}
		delete(pws, name)
	}
	rows.Close()
	if len(pws) != 0 {
		t.Errorf("users not found: %v", pws)
	}

	// No file of the store (database, WAL, anything) holds a secret.
	files, _ := os.ReadDir(e.dir)
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(e.dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(slices.Clone(toks), adminPassword, "carol-pw-9z") {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the secret %.6s...", f.Name(), s)
			}
		}
	}
}

// TestSecretsNotLogged (not parallel: it sets the default logger) sends secrets in every way a request can carry
// them, makes the server fail (a closed store) so that it logs, and
// checks that the log holds none of them.
func TestSecretsNotLogged(t *testing.T) {
	ctx := context.Background()
	st, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	ids := identity.New(st, time.Hour)
	if _, err := ids.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	secret, _, err := svcAuth(t, ids, "admin", adminPassword, "admin")
	if err != nil {
		t.Fatal(err)
	}
	buf := &lockedBuf{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Whatever logs through the default logger lands in buf too.
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })
	srv := httptest.NewServer(identity.Route(identity.NewHandler(ids, "", log),
		api.New(service.New(st, service.DefaultConfig()), identity.Authenticator{Svc: ids}, log)))
	defer srv.Close()
	e := &kenv{t: t, srv: srv, shared: &shared{}}

	const wrong, forged = "Wr0ng-pw-c4a1e9", "bwForgedT0ken-9f8e7d6c5b4a"
	e.must(401, "POST", "/v3/auth/tokens", authBody(pwByName("admin", wrong), projectByName("admin")), "")
	e.must(400, "POST", "/v3/auth/tokens", `{"auth": {"identity": {"password": {"user": {"password": "`+wrong+`"`, "")
	e.must(401, "GET", "/v2.0/networks", nil, forged)
	e.must(401, "GET", "/v3/projects", nil, forged)
	e.must(404, "GET", "/v3/auth/tokens", nil, secret, "X-Subject-Token", forged)
	e.must(404, "DELETE", "/v3/auth/tokens", nil, secret, "X-Subject-Token", forged)

	// The store fails: every request is a 500, and is logged.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	fresh := "bwNeverSeenBefore-0a1b2c3d4e5f"
	e.must(500, "GET", "/v2.0/networks", nil, fresh)
	e.must(500, "GET", "/v3/projects", nil, fresh)
	e.must(500, "GET", "/v2.0/ports", nil, secret)
	e.must(500, "POST", "/v3/auth/tokens", authBody(pwByName("admin", adminPassword), projectByName("admin")), "")
	e.must(500, "POST", "/v3/auth/tokens", authBody(pwByName("admin", wrong), projectByName("admin")), "")

	logged := buf.String()
	if !strings.Contains(logged, "identity: internal error") {
		t.Errorf("the identity service's failures are not in its log:\n%s", logged)
	}
	for _, s := range []string{adminPassword, wrong, forged, fresh, secret} {
		if strings.Contains(logged, s) {
			t.Errorf("the log holds the secret %.6s...:\n%s", s, logged)
		}
	}
}
