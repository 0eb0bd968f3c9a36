// Package testserver starts a real Bulwark server in-process for tests: the
// API and service on a fresh SQLite file (or a store the test opened),
// optionally in keystone mode with Identity v3 under /v3, behind an
// httptest.Server that records every 5xx it answers.
//
// It is a normal package so that tests of several packages can share it,
// but only tests import it; nothing of the product does.
package testserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// DefaultAdminPassword is the keystone bootstrap password when
// Options.AdminPassword is empty.
const DefaultAdminPassword = "testserver-Adm1n-pw"

// Options shape the server; the zero value is a noauth server whose
// default project is "admin".
type Options struct {
	// Keystone serves Identity v3 under /v3 and authenticates the API
	// with its tokens; otherwise the API runs noauth.
	Keystone bool
	// AdminPassword is the keystone bootstrap password
	// (DefaultAdminPassword when empty).
	AdminPassword string
	// TokenTTL is the keystone tokens' lifetime (an hour when zero).
	TokenTTL time.Duration
	// DefaultProject is the noauth project ("admin" when empty).
	DefaultProject string
	// Logger receives the server's log (discarded when nil).
	Logger *slog.Logger
	// Store, when set, is used instead of a new SQLite file; Start
	// still closes it when the test ends.
	Store *sqldb.DB
	// Wrap, when set, wraps the server's handler (to count or record
	// requests); it sits inside the 5xx recorder.
	Wrap func(http.Handler) http.Handler
	// NoServerErrors fails the test, when it ends, for every 5xx the
	// server answered.
	NoServerErrors bool
}

// Server is one running test server; Start closes it when the test ends.
type Server struct {
	URL  string
	HTTP *httptest.Server
	// Store is the server's database.
	Store *sqldb.DB
	// Dir holds the SQLite file (and its WAL) at DBPath; both are empty
	// when Options.Store was given.
	Dir, DBPath string
	// Identity is the keystone service (nil in noauth mode), bootstrapped
	// with AdminPassword.
	Identity      *identity.Service
	AdminPassword string

	mu     sync.Mutex
	errors []string
}

// Start starts a server for t.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ctx := context.Background()
	s := &Server{Store: o.Store}
	if s.Store == nil {
		s.Dir = t.TempDir()
		s.DBPath = filepath.Join(s.Dir, "b.db")
		st, err := sqldb.OpenSQLite(ctx, s.DBPath)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		s.Store = st
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	svc := service.New(s.Store, service.DefaultConfig())
	var h http.Handler
	if o.Keystone {
		ttl := o.TokenTTL
		if ttl == 0 {
			ttl = time.Hour
		}
		s.AdminPassword = o.AdminPassword
		if s.AdminPassword == "" {
			s.AdminPassword = DefaultAdminPassword
		}
		s.Identity = identity.New(s.Store, ttl)
		if _, err := s.Identity.Bootstrap(ctx, s.AdminPassword); err != nil {
			_ = s.Store.Close()
			t.Fatalf("bootstrap: %v", err)
		}
		h = identity.Route(identity.NewHandler(s.Identity, "", log), api.New(svc, identity.Authenticator{Svc: s.Identity}, log))
	} else {
		project := o.DefaultProject
		if project == "" {
			project = "admin"
		}
		h = api.New(svc, api.NoAuth{DefaultProject: project}, log)
	}
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	s.HTTP = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 500 {
			s.mu.Lock()
			s.errors = append(s.errors, fmt.Sprintf("%s %s -> %d", r.Method, r.URL, rec.status))
			s.mu.Unlock()
		}
	}))
	s.URL = s.HTTP.URL
	t.Cleanup(func() {
		s.HTTP.Close()
		if err := s.Store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		if o.NoServerErrors {
			for _, f := range s.ServerErrors() {
				t.Errorf("server error: %s", f)
			}
		}
	})
	return s
}

// ServerErrors lists the 5xx answers so far, as "METHOD URL -> status".
func (s *Server) ServerErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

// statusRecorder remembers the status a handler answered with.
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
