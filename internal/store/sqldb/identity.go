package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/identity"
)

// The identity tables are small and written rarely; each call is its own
// statement (or transaction), on the same writer that serialises every
// other write.

func (db *DB) idExec(ctx context.Context, q string, args ...any) error {
	res, err := db.writer.ExecContext(ctx, db.dialect.Rebind(q), args...)
	if err != nil {
		if db.dialect.IsUnique(err) {
			return identity.ErrConflict
		}
		if db.dialect.IsForeignKey != nil && db.dialect.IsForeignKey(err) {
			return identity.ErrConflict
		}
		return fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	if strings.HasPrefix(q, "UPDATE") || strings.HasPrefix(q, "DELETE") {
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
	}
	return nil
}

func idQuery[T any](ctx context.Context, db *DB, q string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := db.reader.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("identity store: %w", db.unavailable(err))
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (db *DB) Domains(ctx context.Context) ([]identity.Domain, error) {
	return idQuery(ctx, db, "SELECT id, name, description, enabled FROM domains ORDER BY id", func(r *sql.Rows) (identity.Domain, error) {
		var d identity.Domain
		err := r.Scan(&d.ID, &d.Name, &d.Description, &d.Enabled)
		return d, err
	})
}

func (db *DB) CreateDomain(ctx context.Context, d identity.Domain) error {
	return db.idExec(ctx, "INSERT INTO domains (id, name, description, enabled) VALUES (?, ?, ?, ?)", d.ID, d.Name, d.Description, b2i(d.Enabled))
}

func (db *DB) Projects(ctx context.Context) ([]identity.Project, error) {
	return idQuery(ctx, db, "SELECT id, domain_id, name, description, enabled FROM projects ORDER BY id", func(r *sql.Rows) (identity.Project, error) {
		var p identity.Project
		err := r.Scan(&p.ID, &p.DomainID, &p.Name, &p.Description, &p.Enabled)
		return p, err
	})
}

func (db *DB) CreateProject(ctx context.Context, p identity.Project) error {
	return db.idExec(ctx, "INSERT INTO projects (id, domain_id, name, description, enabled) VALUES (?, ?, ?, ?, ?)",
		p.ID, p.DomainID, p.Name, p.Description, b2i(p.Enabled))
}

func (db *DB) UpdateProject(ctx context.Context, p identity.Project) error {
	return db.idExec(ctx, "UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?", p.Name, p.Description, b2i(p.Enabled), p.ID)
}

func (db *DB) DeleteProject(ctx context.Context, id string) error {
	return db.idTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.dialect.Rebind("DELETE FROM role_assignments WHERE project_id = ?"), id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, db.dialect.Rebind("DELETE FROM projects WHERE id = ?"), id)
	})
}

func (db *DB) Users(ctx context.Context) ([]identity.User, error) {
	return idQuery(ctx, db, "SELECT id, domain_id, name, password_hash, enabled, default_project_id, email, description FROM users ORDER BY id", func(r *sql.Rows) (identity.User, error) {
		var u identity.User
		err := r.Scan(&u.ID, &u.DomainID, &u.Name, &u.PasswordHash, &u.Enabled, &u.DefaultProjectID, &u.Email, &u.Descript)
		return u, err
	})
}

func (db *DB) CreateUser(ctx context.Context, u identity.User) error {
	return db.idExec(ctx, "INSERT INTO users (id, domain_id, name, password_hash, enabled, default_project_id, email, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.DomainID, u.Name, u.PasswordHash, b2i(u.Enabled), u.DefaultProjectID, u.Email, u.Descript)
}

func (db *DB) UpdateUser(ctx context.Context, u identity.User) error {
	return db.idExec(ctx, "UPDATE users SET name = ?, password_hash = ?, enabled = ?, default_project_id = ?, email = ?, description = ? WHERE id = ?",
		u.Name, u.PasswordHash, b2i(u.Enabled), u.DefaultProjectID, u.Email, u.Descript, u.ID)
}

func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.idTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{"DELETE FROM role_assignments WHERE user_id = ?", "UPDATE tokens SET revoked = 1 WHERE user_id = ?"} {
			if _, err := tx.ExecContext(ctx, db.dialect.Rebind(q), id); err != nil {
				return err
			}
		}
		return deleteOne(ctx, tx, db.dialect.Rebind("DELETE FROM users WHERE id = ?"), id)
	})
}

func (db *DB) Roles(ctx context.Context) ([]identity.Role, error) {
	return idQuery(ctx, db, "SELECT id, name FROM roles ORDER BY id", func(r *sql.Rows) (identity.Role, error) {
		var x identity.Role
		err := r.Scan(&x.ID, &x.Name)
		return x, err
	})
}

func (db *DB) CreateRole(ctx context.Context, r identity.Role) error {
	return db.idExec(ctx, "INSERT INTO roles (id, name) VALUES (?, ?)", r.ID, r.Name)
}

func (db *DB) UpdateRole(ctx context.Context, r identity.Role) error {
	return db.idExec(ctx, "UPDATE roles SET name = ? WHERE id = ?", r.Name, r.ID)
}

func (db *DB) DeleteRole(ctx context.Context, id string) error {
	return db.idTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.dialect.Rebind("DELETE FROM role_assignments WHERE role_id = ?"), id); err != nil {
			return err
		}
		return deleteOne(ctx, tx, db.dialect.Rebind("DELETE FROM roles WHERE id = ?"), id)
	})
}

func (db *DB) Assignments(ctx context.Context) ([]identity.Assignment, error) {
	return idQuery(ctx, db, "SELECT project_id, user_id, role_id FROM role_assignments ORDER BY project_id, user_id, role_id", func(r *sql.Rows) (identity.Assignment, error) {
		var a identity.Assignment
		err := r.Scan(&a.ProjectID, &a.UserID, &a.RoleID)
		return a, err
	})
}

func (db *DB) Assign(ctx context.Context, a identity.Assignment) error {
	err := db.idExec(ctx, "INSERT INTO role_assignments (project_id, user_id, role_id) VALUES (?, ?, ?)", a.ProjectID, a.UserID, a.RoleID)
	if errors.Is(err, identity.ErrConflict) {
		// Granting a role twice is not an error (Keystone answers 204).
		var n int
		if e := db.reader.QueryRowContext(ctx, db.dialect.Rebind("SELECT COUNT(*) FROM role_assignments WHERE project_id = ? AND user_id = ? AND role_id = ?"),
			a.ProjectID, a.UserID, a.RoleID).Scan(&n); e == nil && n == 1 {
			return nil
		}
	}
	return err
}

func (db *DB) Unassign(ctx context.Context, a identity.Assignment) error {
	return db.idExec(ctx, "DELETE FROM role_assignments WHERE project_id = ? AND user_id = ? AND role_id = ?", a.ProjectID, a.UserID, a.RoleID)
}

const tokenTime = "2006-01-02T15:04:05.000000Z"

func (db *DB) SaveToken(ctx context.Context, t identity.Token) error {
	return db.idExec(ctx, "INSERT INTO tokens (hash, user_id, project_id, methods, audit_id, issued_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
		t.Hash, t.UserID, t.ProjectID, strings.Join(t.Methods, ","), t.AuditID, t.IssuedAt.UTC().Format(tokenTime), t.ExpiresAt.UTC().Format(tokenTime))
}

func (db *DB) GetToken(ctx context.Context, hash string) (identity.Token, error) {
	st, err := db.readerStmt(ctx, "SELECT user_id, project_id, methods, audit_id, issued_at, expires_at, revoked FROM tokens WHERE hash = ?")
	if err != nil {
		return identity.Token{}, fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	t := identity.Token{Hash: hash}
	var methods, issued, expires string
	err = st.QueryRowContext(ctx, hash).Scan(&t.UserID, &t.ProjectID, &methods, &t.AuditID, &issued, &expires, &t.Revoked)
	if db.isUnavailable(err) && ctx.Err() == nil {
		db.flushIdle(db.reader) // one read, safe to repeat on a fresh connection
		err = st.QueryRowContext(ctx, hash).Scan(&t.UserID, &t.ProjectID, &methods, &t.AuditID, &issued, &expires, &t.Revoked)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return t, identity.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	t.Methods = strings.Split(methods, ",")
	t.IssuedAt, _ = time.Parse(tokenTime, issued)
	t.ExpiresAt, _ = time.Parse(tokenTime, expires)
	return t, nil
}

func (db *DB) RevokeToken(ctx context.Context, hash string) error {
	return db.idExec(ctx, "UPDATE tokens SET revoked = 1 WHERE hash = ?", hash)
}

func (db *DB) idTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return err
		}
		return fmt.Errorf("identity store: %w", db.unavailable(err))
	}
	return db.unavailable(tx.Commit())
}

func deleteOne(ctx context.Context, tx *sql.Tx, q, id string) error {
	res, err := tx.ExecContext(ctx, q, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return identity.ErrNotFound
	}
	return nil
}

func (db *DB) PurgeTokens(ctx context.Context, before time.Time) error {
	_, err := db.writer.ExecContext(ctx, db.dialect.Rebind("DELETE FROM tokens WHERE expires_at < ?"), before.UTC().Format(tokenTime))
	if err != nil {
		return fmt.Errorf("identity store: purge tokens: %w", db.unavailable(err))
	}
	return nil
}
