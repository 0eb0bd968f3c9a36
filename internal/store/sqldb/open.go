package sqldb

import (
	"context"
	"fmt"
	"strings"
)

// Open opens the store named by url: "sqlite:PATH" (or a bare path).
// PostgreSQL ("postgres://...") is planned; it is refused clearly here.
func Open(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("store: %q names no file", url)
		}
		return OpenSQLite(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return nil, fmt.Errorf("store: PostgreSQL is not supported yet; use sqlite:PATH")
	case !strings.Contains(url, ":"):
		return OpenSQLite(ctx, url)
	}
	return nil, fmt.Errorf("store: unknown database URL %q (want sqlite:PATH)", url)
}
