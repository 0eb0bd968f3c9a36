package pgtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// Backend names the database engine a test run uses.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Backends returns the engines to run a package's tests on, from
// BULWARK_TEST_DB (sqlite, postgres, both). The default is both when
// PostgreSQL's binaries are installed and sqlite alone otherwise, except
// on CI (CI=true), where a missing PostgreSQL is an error rather than a
// silent skip.
func Backends() ([]string, error) {
	switch v := strings.ToLower(os.Getenv("BULWARK_TEST_DB")); v {
	case "sqlite":
		return []string{SQLite}, nil
	case "postgres", "postgresql", "pg":
		return []string{Postgres}, nil
	case "both":
		return []string{SQLite, Postgres}, nil
	case "":
		if _, err := BinDir(); err != nil {
			if os.Getenv("CI") == "true" {
				return nil, fmt.Errorf("CI=true but PostgreSQL is missing: %w", err)
			}
			fmt.Fprintf(os.Stderr, "pgtest: %v; running on SQLite only\n", err)
			return []string{SQLite}, nil
		}
		return []string{SQLite, Postgres}, nil
	default:
		return nil, fmt.Errorf("BULWARK_TEST_DB=%q: want sqlite, postgres or both", v)
	}
}

// The package's shared cluster and its migrated template database.
var (
	shared     *Cluster
	sharedMu   sync.Mutex
	templateDB string
)

// Main runs the package's tests once per backend (testing.M.Run may run
// several times), calling use(backend) before each run, and stops the
// shared cluster at the end. It returns the exit code for os.Exit.
func Main(m *testing.M, use func(backend string)) int {
	backends, err := Backends()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Listing tests, fuzzing (and the fuzzer's worker processes) run the
	// binary once, on SQLite: twice would list every test twice and start
	// a cluster in every fuzz worker.
	flag.Parse()
	if flagSet("test.list") || flagSet("test.fuzz") || flagSet("test.fuzzworker") {
		backends = []string{SQLite}
	}
	defer StopShared()
	code := 0
	for _, b := range backends {
		if len(backends) > 1 {
			fmt.Printf("=== backend %s\n", b)
		}
		use(b)
		if c := m.Run(); c != 0 {
			fmt.Printf("--- FAIL on backend %s\n", b)
			code = c
		}
	}
	return code
}

func flagSet(name string) bool {
	f := flag.Lookup(name)
	if f == nil {
		return false
	}
	v := f.Value.String()
	return v != "" && v != "false"
}

// Shared returns the package's cluster, starting it on first use.
func Shared() (*Cluster, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		return shared, nil
	}
	c, err := Start(Options{})
	if err != nil {
		return nil, err
	}
	shared = c
	return c, nil
}

// StopShared stops the package's cluster if it was started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
		templateDB = ""
	}
}

// NewDatabase returns the URL of a fresh, migrated database on the
// shared cluster, dropped when the test ends. Each is a copy of a
// template migrated once per package, which is much faster than
// migrating every database.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c, err := Shared()
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	ctx := context.Background()
	sharedMu.Lock()
	if templateDB == "" {
		url, err := c.CreateNamedDatabase(ctx, "bulwark_template")
		if err == nil {
			var db *sqldb.DB
			if db, err = sqldb.OpenPostgres(ctx, url, sqldb.PostgresOptions{MaxConns: 2}); err == nil {
				err = db.Close()
			}
		}
		if err != nil {
			sharedMu.Unlock()
			t.Fatalf("migrate the template database: %v", err)
		}
		templateDB = "bulwark_template"
	}
	sharedMu.Unlock()
	url, err := c.CreateDatabase(ctx, templateDB)
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	name := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	t.Cleanup(func() {
		// WITH (FORCE) ends connections a failed test left open.
		_ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return url
}
