package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/api"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
	"github.com/spf13/cobra"
)

func serverCmd() *cobra.Command {
	var listen, db, auth, defaultProject string
	var maxPairs int
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the OpenStack Networking (Neutron) v2.0 API",
		RunE: func(cmd *cobra.Command, args []string) error {
			if auth != "noauth" {
				if auth == "keystone" {
					return fmt.Errorf("--auth keystone is not available yet; use --auth noauth")
				}
				return fmt.Errorf("--auth must be noauth or keystone, not %q", auth)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := sqldb.Open(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			cfg := service.DefaultConfig()
			cfg.MaxAddressPairs = maxPairs
			handler := api.New(service.New(st, cfg), api.NoAuth{DefaultProject: defaultProject}, log)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
				IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
			log.Info("bulwark server listening", "addr", ln.Addr().String(), "db", db, "auth", auth)
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
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9696", "address to serve the API on")
	f.StringVar(&db, "db", "sqlite:./var/bulwark.db", "database URL (sqlite:PATH)")
	f.StringVar(&auth, "auth", "noauth", "authentication: noauth (every request is admin; project from X-Project-Id or the body)")
	f.StringVar(&defaultProject, "default-project", "admin", "noauth: project of requests that name none")
	f.IntVar(&maxPairs, "max-allowed-address-pairs", 10, "maximum allowed_address_pairs per port")
	return cmd
}
