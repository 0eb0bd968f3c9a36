package sqldb

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Open opens the store named by url: "sqlite:PATH" (or a bare path) for
// the embedded database, "postgres://..." or "postgresql://..." for a
// PostgreSQL database shared by any number of servers.
func Open(ctx context.Context, url string) (*DB, error) {
	return OpenWithLog(ctx, url, nil)
}

// OpenWithLog is Open with a logger for background work (PostgreSQL's
// LISTEN loop).
func OpenWithLog(ctx context.Context, url string, log *slog.Logger) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("store: %q names no file", url)
		}
		return OpenSQLite(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return OpenPostgres(ctx, url, PostgresOptions{Log: log})
	case !strings.Contains(url, ":"):
		return OpenSQLite(ctx, url)
	}
	return nil, fmt.Errorf("store: unknown database URL %q (want sqlite:PATH or postgres://...)", url)
}
