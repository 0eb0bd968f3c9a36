// Package migrations embeds the versioned schema for each SQL dialect.
package migrations

import "embed"

// SQLite holds the SQLite migrations (goose format).
//
//go:embed sqlite/*.sql
var SQLite embed.FS
