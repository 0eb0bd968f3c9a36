package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-net/bulwark/internal/store/migrations"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteDialect is SQLite's flavour of the portable SQL.
var SQLiteDialect = Dialect{
	Name:   "sqlite",
	Rebind: func(q string) string { return q },
	IsUnique: func(err error) bool {
		var se *sqlite.Error
		if errors.As(err, &se) {
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return true
			}
		}
		return false
	},
	IsForeignKey: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || strings.Contains(err.Error(), "FOREIGN KEY"))
	},
	// One writer connection: transactions never race, nothing to retry,
	// and a file cannot be "unreachable".
	ReadOptions: &sql.TxOptions{ReadOnly: true},
}

// OpenSQLite opens (creating if needed) the database file at path and
// migrates it. Writes go through one connection, so SQLite's single
// writer never sees lock contention; WAL lets readers run beside it, and
// synchronous=FULL makes every commit durable before it is acknowledged.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create %s: %w", dir, err)
		}
	}
	base := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	writer, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, writer, goose.DialectSQLite3, migrations.SQLite, "sqlite"); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open reader %s: %w", path, err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	return New(SQLiteDialect, writer, reader), nil
}

func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, files fs.FS, dir string, opts ...goose.ProviderOption) error {
	fsys, err := fs.Sub(files, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
