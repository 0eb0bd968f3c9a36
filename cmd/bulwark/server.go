package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/spf13/cobra"
)

type serverOptions struct {
	listen, db, auth, defaultProject, adminPassword, publicURL string
	maxPairs                                                   int
	tokenTTL                                                   time.Duration
	// Change-log retention: keep the newest changesKeep entries and every
	// entry younger than changesKeepFor; compact every compactEvery.
	changesKeep                  int64
	changesKeepFor, compactEvery time.Duration
}

func serverCmd() *cobra.Command {
	var o serverOptions
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the OpenStack Networking (Neutron) v2.0 API and, in keystone mode, Identity v3 under /v3",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.adminPassword == "" {
				o.adminPassword = os.Getenv("BULWARK_ADMIN_PASSWORD")
			}
			return runServer(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9696", "address to serve the API on")
	f.StringVar(&o.db, "db", "sqlite:./var/bulwark.db", "database URL: sqlite:PATH (embedded, one server) or postgres://USER@HOST/DB (any number of servers share it)")
	f.StringVar(&o.auth, "auth", "keystone", "keystone (tokens from the built-in Identity v3 service under /v3) or noauth (every request is admin; project from X-Project-Id or the body)")
	f.StringVar(&o.defaultProject, "default-project", "admin", "noauth: project of requests that name none")
	f.StringVar(&o.adminPassword, "admin-password", "", "keystone: password of the bootstrap admin user (default $BULWARK_ADMIN_PASSWORD; else generated on first start and written to admin-openrc beside the database)")
	f.StringVar(&o.publicURL, "public-url", "", "keystone: base URL put in the service catalog (default: the URL each client used)")
	f.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "keystone: lifetime of issued tokens")
	f.IntVar(&o.maxPairs, "max-allowed-address-pairs", 10, "maximum allowed_address_pairs per port")
	f.Int64Var(&o.changesKeep, "changes-keep", 100000, "change-log retention: always keep at least this many newest entries")
	f.DurationVar(&o.changesKeepFor, "changes-keep-for", time.Hour, "change-log retention: keep every entry younger than this (an agent away for less resumes without a full resync)")
	f.DurationVar(&o.compactEvery, "compact-every", time.Minute, "how often this server compacts the change log (0: never; safe on several servers at once)")
	return cmd
}

func runServer(parent context.Context, o serverOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	if o.auth != "noauth" && o.auth != "keystone" {
		return fmt.Errorf("--auth must be keystone or noauth, not %q", o.auth)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := sqldb.OpenWithLog(ctx, o.db, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.compactEvery > 0 {
		go st.RunRetention(ctx, sqldb.Retention{Keep: o.changesKeep, MinAge: o.changesKeepFor}, o.compactEvery, log)
	}
	cfg := service.DefaultConfig()
	cfg.MaxAddressPairs = o.maxPairs
	svc := service.New(st, cfg)

	var handler http.Handler
	if o.auth == "noauth" {
		handler = api.New(svc, api.NoAuth{DefaultProject: o.defaultProject}, log)
	} else {
		ids := identity.New(st, o.tokenTTL)
		// An explicit password is (re)set on the admin; without one, an
		// existing admin keeps its password and a new one gets a generated
		// password written to admin-openrc.
		password := o.adminPassword
		created, err := ids.Bootstrap(ctx, password)
		if errors.Is(err, identity.ErrNeedPassword) {
			password = randomPassword()
			created, err = ids.Bootstrap(ctx, password)
		}
		if err != nil {
			return fmt.Errorf("bootstrap identity: %w", err)
		}
		if created {
			rc, err := writeOpenrc(o, password)
			if err != nil {
				return err
			}
			log.Info("bootstrapped the admin user", "openrc", rc)
		}
		neutron := api.New(svc, identity.Authenticator{Svc: ids}, log)
		keystone := identity.NewHandler(ids, o.publicURL, log)
		handler = identity.Route(keystone, neutron)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	log.Info("bulwark server listening", "addr", ln.Addr().String(), "db", redactURL(o.db), "auth", o.auth)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return err
		}
	}
	return nil
}

// redactURL hides a password in a database URL before it is logged.
func redactURL(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeOpenrc writes the admin credentials, readable by the owner only,
// beside the database file.
func writeOpenrc(o serverOptions, password string) (string, error) {
	dir := "."
	if path, ok := strings.CutPrefix(o.db, "sqlite:"); ok {
		dir = filepath.Dir(path)
	}
	host := o.listen
	if h, p, err := net.SplitHostPort(o.listen); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("127.0.0.1", p)
	}
	rc := filepath.Join(dir, "admin-openrc")
	body := fmt.Sprintf(`# Bulwark admin credentials (written at first start; keep private)
export OS_AUTH_URL=http://%s/v3
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD='%s'
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=%s
`, host, password, identity.Region)
	if err := os.WriteFile(rc, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", rc, err)
	}
	return rc, os.Chmod(rc, 0o600)
}
