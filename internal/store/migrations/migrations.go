// Package migrations embeds the versioned schema for each SQL dialect.
// Both dialects have the same versions with the same meaning; only the
// SQL spelling differs.
package migrations

import "embed"

// SQLite holds the SQLite migrations (goose format).
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds the PostgreSQL migrations (goose format).
//
//go:embed postgres/*.sql
var Postgres embed.FS
