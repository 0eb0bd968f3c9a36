// Package pgtest runs a private PostgreSQL server for tests and tools: a
// fresh cluster (initdb) in a temporary directory, listening on 127.0.0.1
// on a free port and on a unix socket inside that directory, stopped and
// removed at the end. When the process runs as root the cluster runs as
// the "postgres" system user (initdb refuses root), else as the caller.
//
// Test packages that run against both engines use Main in TestMain and
// Backends to learn which ones to run: BULWARK_TEST_DB=sqlite, postgres
// or both (the default: both when PostgreSQL's binaries are installed; on
// CI, CI=true, PostgreSQL is never skipped silently).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Cluster is one running PostgreSQL server.
type Cluster struct {
	Dir  string // data directory, socket directory and log live under it
	Port int
	bin  string
	user string // OS user the server runs as ("" = this process's)
	uid  int
	gid  int

	mu      sync.Mutex
	stopped bool
	counter atomic.Int64
}

// BinDir returns PostgreSQL's server binaries directory: $PG_BINDIR, else
// the newest /usr/lib/postgresql/*/bin with initdb, else the directory of
// initdb on $PATH.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql or set PG_BINDIR")
}

// Options tune Start.
type Options struct {
	// Durable keeps fsync on (benchmarks); tests turn it off for speed.
	Durable bool
	// Settings are extra "-c name=value" server settings.
	Settings []string
}

// Start creates and starts a cluster under a new temporary directory.
func Start(o Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// As root the server runs as another user, who must be able to reach
	// the directory: $TMPDIR may be private to root, /tmp is not.
	parent := ""
	if os.Geteuid() == 0 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "bulwark-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{Dir: dir, bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		c.user = "postgres"
		u, err := user.Lookup(c.user)
		if err != nil {
			c.user = "nobody"
			if u, err = user.Lookup(c.user); err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("pgtest: running as root and neither user postgres nor nobody exists: %w", err)
			}
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	if err := c.startServer(o); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startServer(o Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	settings := []string{
		"listen_addresses=127.0.0.1",
		"port=" + strconv.Itoa(port),
		"unix_socket_directories=" + c.Dir,
		"max_connections=400",
		"shared_buffers=128MB",
		"log_min_messages=warning",
	}
	if !o.Durable {
		settings = append(settings, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	settings = append(settings, o.Settings...)
	var opts []string
	for _, s := range settings {
		opts = append(opts, "-c "+s)
	}
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// Restart stops the server (fast shutdown: connections are cut) and,
// after down, starts it again on the same port.
func (c *Cluster) Restart(down time.Duration) error {
	if err := c.StopServer(); err != nil {
		return err
	}
	time.Sleep(down)
	return c.StartServer()
}

// StopServer stops the server, keeping its data.
func (c *Cluster) StopServer() error {
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// StartServer starts a stopped server again on the same port.
func (c *Cluster) StartServer() error {
	port := c.Port
	opts := []string{"-c listen_addresses=127.0.0.1", "-c port=" + strconv.Itoa(port), "-c unix_socket_directories=" + c.Dir}
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start")
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	_, err := c.run("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(c.Dir); err == nil {
		err = rmErr
	}
	return err
}

// URL returns the connection URL of database name (TCP on 127.0.0.1).
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// Exec runs statements in database "postgres".
func (c *Cluster) Exec(ctx context.Context, stmts ...string) error {
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("pgtest: %s: %w", s, err)
		}
	}
	return nil
}

// CreateDatabase creates a new empty database (from template0, or from
// template when it is not "") and returns its URL. Copying a template
// fails while anything is connected to it, which a just-closed pool may
// still briefly be: that is retried.
func (c *Cluster) CreateDatabase(ctx context.Context, template string) (string, error) {
	name := fmt.Sprintf("db_%d_%d", os.Getpid(), c.counter.Add(1))
	if template == "" {
		template = "template0"
	}
	var err error
	for range 100 {
		err = c.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template))
		if err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", err
	}
	return c.URL(name), nil
}

// CreateNamedDatabase creates database name from template0.
func (c *Cluster) CreateNamedDatabase(ctx context.Context, name string) (string, error) {
	if err := c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", err
	}
	return c.URL(name), nil
}

// run runs one of PostgreSQL's binaries as the cluster's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	if c.uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
		cmd.Env = append(os.Environ(), "HOME="+c.Dir)
	}
	// pg_ctl's server must not die with the test's process group signals.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
