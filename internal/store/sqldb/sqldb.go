// Package sqldb implements store.Store on database/sql with portable SQL.
// Dialect differences (placeholders, unique-violation codes, how a write
// transaction takes its lock) live in a Dialect value, so PostgreSQL can
// slot in beside SQLite without touching the layers above.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Dialect captures what differs between SQL engines.
type Dialect struct {
	Name string
	// Rebind turns '?' placeholders into the engine's own.
	Rebind func(string) string
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
}

// DB is a store.Store over a writer and a reader connection pool (the same
// pool where the engine allows concurrent writers).
type DB struct {
	dialect Dialect
	writer  *sql.DB
	reader  *sql.DB
	stmts   sync.Map // query text -> *sql.Stmt on reader
	notify  *store.Notifier
}

// New wraps open pools.
func New(d Dialect, writer, reader *sql.DB) *DB {
	return &DB{dialect: d, writer: writer, reader: reader, notify: store.NewNotifier()}
}

// Notifier is signalled after every commit that appended changes.
func (db *DB) Notifier() *store.Notifier { return db.notify }

// Close closes both pools.
func (db *DB) Close() error {
	err := db.writer.Close()
	if db.reader != db.writer {
		if e := db.reader.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (db *DB) readerStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.reader.PrepareContext(ctx, db.dialect.Rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// GetDoc reads one document without a transaction.
func (db *DB) GetDoc(ctx context.Context, t store.Table, id string) ([]byte, string, error) {
	st, err := db.readerStmt(ctx, "SELECT doc, project_id FROM "+string(t)+" WHERE id = ?")
	if err != nil {
		return nil, "", fmt.Errorf("store: prepare get %s: %w", t, err)
	}
	var doc []byte
	var project string
	if err := st.QueryRowContext(ctx, id).Scan(&doc, &project); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", store.ErrNotFound
		}
		return nil, "", fmt.Errorf("store: get %s %s: %w", t, id, err)
	}
	return doc, project, nil
}

// Read runs fn in a read-only transaction.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	if err := fn(&sqlTx{db: db, tx: tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// Write runs fn in a write transaction and commits.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin write: %w", err)
	}
	defer tx.Rollback()
	t := &sqlTx{db: db, tx: tx, write: true}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flushPortKeys(ctx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if t.lastSeq > 0 {
		db.notify.Publish(t.lastSeq)
	}
	return nil
}

// Changes reads the change log after seq.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.reader.QueryContext(ctx, db.dialect.Rebind(
		"SELECT seq, resource, resource_id, revision, op, project_id, changed_at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Seq, &c.Resource, &c.ResourceID, &c.Revision, &c.Op, &c.ProjectID, &c.ChangedAt); err != nil {
			return nil, fmt.Errorf("store: changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

type sqlTx struct {
	db    *DB
	tx    *sql.Tx
	write bool
	// lastSeq is the newest change this transaction appended.
	lastSeq int64
	// ports holds, for every port this transaction touched, its state
	// before the transaction and the changes it logged for it: their watch
	// keys are written just before commit, from the before and after
	// states (see flushPortKeys).
	ports map[string]*portTouch
}

func (t *sqlTx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, t.db.dialect.Rebind(q), args...)
	if err != nil && t.db.dialect.IsUnique(err) {
		return nil, fmt.Errorf("%w: %v", store.ErrDuplicate, err)
	}
	return res, err
}

func (t *sqlTx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.dialect.Rebind(q), args...)
}

func (t *sqlTx) Get(ctx context.Context, tb store.Table, id string) (store.Row, error) {
	r := store.Row{ID: id}
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT project_id, revision, doc FROM "+string(tb)+" WHERE id = ?"), id).
		Scan(&r.ProjectID, &r.Revision, &r.Doc)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: get %s %s: %w", tb, id, err)
	}
	return r, nil
}

func validColumn(tb store.Table, col string) bool {
	switch col {
	case "id", "project_id":
		return true
	}
	for _, c := range store.Columns[tb] {
		if c == col {
			return true
		}
	}
	return false
}

func (t *sqlTx) List(ctx context.Context, tb store.Table, q store.Query) ([]store.Row, error) {
	var where []string
	var args []any
	for col, vals := range q.Eq {
		if !validColumn(tb, col) {
			return nil, fmt.Errorf("store: list %s: column %q is not indexed", tb, col)
		}
		if len(vals) == 0 {
			continue
		}
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
		where = append(where, col+" IN ("+ph+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if q.AfterID != "" {
		where = append(where, "id > ?")
		args = append(args, q.AfterID)
	}
	sqlText := "SELECT id, project_id, revision, doc FROM " + string(tb)
	if q.DocsOnly {
		sqlText = "SELECT doc FROM " + string(tb)
	}
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY id"
	if q.Limit > 0 {
		sqlText += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := t.query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", tb, err)
	}
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		var r store.Row
		dst := []any{&r.ID, &r.ProjectID, &r.Revision, &r.Doc}
		if q.DocsOnly {
			dst = dst[3:]
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("store: list %s: %w", tb, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *sqlTx) Count(ctx context.Context, tb store.Table, col, value string) (int, error) {
	if !validColumn(tb, col) {
		return 0, fmt.Errorf("store: count %s: column %q is not indexed", tb, col)
	}
	var n int
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT COUNT(*) FROM "+string(tb)+" WHERE "+col+" = ?"), value).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count %s: %w", tb, err)
	}
	return n, nil
}

func (t *sqlTx) CountByProject(ctx context.Context, tb store.Table, projectID string) (int, error) {
	return t.Count(ctx, tb, "project_id", projectID)
}

// logChange appends one change-log row and its watch keys. A port's keys
// depend on the whole transaction and are written by flushPortKeys; the
// keys of the other resources are known now (groupID: a rule's group).
func (t *sqlTx) logChange(ctx context.Context, tb store.Table, id, project string, rev int64, op, groupID string) error {
	var seq int64
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind(
		"INSERT INTO changes (resource, resource_id, revision, op, project_id, changed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq"),
		store.Resource[tb], id, rev, op, project, model.Now()).Scan(&seq)
	if err != nil {
		return fmt.Errorf("store: change log: %w", err)
	}
	t.lastSeq = seq
	var keys []string
	switch tb {
	case store.Ports:
		pt := t.ports[id]
		if pt == nil {
			return fmt.Errorf("store: change log: port %s changed without its state captured", id)
		}
		pt.seqs = append(pt.seqs, seq)
	case store.SecurityGroups:
		keys = []string{store.KeyGroup + id}
	case store.Rules:
		keys = []string{store.KeyGroup + groupID}
	case store.AddressGroups:
		keys = []string{store.KeyAddressGroup + id}
	}
	return t.insertKeys(ctx, seq, keys)
}

func (t *sqlTx) insertKeys(ctx context.Context, seq int64, keys []string) error {
	for _, k := range keys {
		if _, err := t.exec(ctx, "INSERT INTO change_keys (seq, watch_key) VALUES (?, ?)", seq, k); err != nil {
			return fmt.Errorf("store: change keys: %w", err)
		}
	}
	return nil
}

// portTouch is a port's state before the transaction and the changes the
// transaction logged for it.
type portTouch struct {
	before store.PortState
	seqs   []int64
}

// touchPort records port id's state the first time the transaction
// touches it (row or group membership).
func (t *sqlTx) touchPort(ctx context.Context, id string) error {
	if _, ok := t.ports[id]; ok {
		return nil
	}
	st, err := t.portState(ctx, id)
	if err != nil {
		return err
	}
	if t.ports == nil {
		t.ports = map[string]*portTouch{}
	}
	t.ports[id] = &portTouch{before: st}
	return nil
}

func (t *sqlTx) portState(ctx context.Context, id string) (store.PortState, error) {
	var st store.PortState
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT host_id, network_id, device_owner FROM ports WHERE id = ?"), id).
		Scan(&st.Host, &st.NetworkID, &st.DeviceOwner)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: port state: %w", err)
	}
	st.Exists = true
	st.Groups, err = t.strings(ctx, "SELECT security_group_id FROM port_security_groups WHERE port_id = ? ORDER BY security_group_id", id)
	return st, err
}

// flushPortKeys writes the watch keys of every port change of the
// transaction, from each port's state before and after it. A change of a
// port's groups must come with a change of the port itself (the service
// always writes both); otherwise no agent would hear of it.
func (t *sqlTx) flushPortKeys(ctx context.Context) error {
	for id, pt := range t.ports {
		after, err := t.portState(ctx, id)
		if err != nil {
			return err
		}
		if len(pt.seqs) == 0 {
			if pt.before.Exists != after.Exists || !slices.Equal(pt.before.Groups, after.Groups) {
				return fmt.Errorf("store: port %s changed without a change-log entry", id)
			}
			continue
		}
		keys := store.PortKeys(pt.before, after)
		for _, seq := range pt.seqs {
			if err := t.insertKeys(ctx, seq, keys); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *sqlTx) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *sqlTx) columnsAndArgs(tb store.Table, r store.Row) ([]string, []any) {
	cols := []string{"id", "project_id", "revision", "doc"}
	args := []any{r.ID, r.ProjectID, r.Revision, string(r.Doc)}
	for _, c := range store.Columns[tb] {
		cols = append(cols, c)
		v := r.Cols[c]
		switch x := v.(type) {
		case nil:
			v = ""
		case bool:
			if x {
				v = 1
			} else {
				v = 0
			}
		case *string:
			if x == nil {
				v = ""
			} else {
				v = *x
			}
		}
		args = append(args, v)
	}
	return cols, args
}

// groupOf returns a rule row's security group (for its watch key).
func groupOf(tb store.Table, r store.Row) string {
	if tb != store.Rules {
		return ""
	}
	switch v := r.Cols["security_group_id"].(type) {
	case string:
		return v
	case *string:
		if v != nil {
			return *v
		}
	}
	return ""
}

func (t *sqlTx) Insert(ctx context.Context, tb store.Table, r store.Row) error {
	if tb == store.Ports {
		if err := t.touchPort(ctx, r.ID); err != nil {
			return err
		}
	}
	cols, args := t.columnsAndArgs(tb, r)
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	if _, err := t.exec(ctx, "INSERT INTO "+string(tb)+" ("+strings.Join(cols, ", ")+") VALUES ("+ph+")", args...); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return err
		}
		return fmt.Errorf("store: insert %s: %w", tb, err)
	}
	return t.logChange(ctx, tb, r.ID, r.ProjectID, r.Revision, "create", groupOf(tb, r))
}

func (t *sqlTx) Update(ctx context.Context, tb store.Table, r store.Row) error {
	if tb == store.Ports {
		if err := t.touchPort(ctx, r.ID); err != nil {
			return err
		}
	}
	cols, args := t.columnsAndArgs(tb, r)
	sets := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		sets = append(sets, c+" = ?")
	}
	args = append(args[1:], r.ID)
	res, err := t.exec(ctx, "UPDATE "+string(tb)+" SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...)
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return err
		}
		return fmt.Errorf("store: update %s: %w", tb, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return t.logChange(ctx, tb, r.ID, r.ProjectID, r.Revision, "update", groupOf(tb, r))
}

func (t *sqlTx) Delete(ctx context.Context, tb store.Table, id, projectID string, revision int64) error {
	var group string
	switch tb {
	case store.Ports:
		if err := t.touchPort(ctx, id); err != nil {
			return err
		}
	case store.Rules:
		err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT security_group_id FROM security_group_rules WHERE id = ?"), id).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: delete %s: %w", tb, err)
		}
	}
	res, err := t.exec(ctx, "DELETE FROM "+string(tb)+" WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", tb, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return t.logChange(ctx, tb, id, projectID, revision, "delete", group)
}

func (t *sqlTx) NextCounter(ctx context.Context, name string) (int64, error) {
	if _, err := t.exec(ctx, "UPDATE counters SET value = value + 1 WHERE name = ?", name); err != nil {
		return 0, fmt.Errorf("store: counter: %w", err)
	}
	var v int64
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT value FROM counters WHERE name = ?"), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := t.exec(ctx, "INSERT INTO counters (name, value) VALUES (?, 1)", name); err != nil {
			return 0, fmt.Errorf("store: counter: %w", err)
		}
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: counter: %w", err)
	}
	return v, nil
}

func (t *sqlTx) AllocateIP(ctx context.Context, a store.Allocation) error {
	_, err := t.exec(ctx, "INSERT INTO ip_allocations (subnet_id, ip_address, network_id, port_id) VALUES (?, ?, ?, ?)",
		a.SubnetID, a.IPAddress, a.NetworkID, a.PortID)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("store: allocate ip: %w", err)
	}
	return err
}

func (t *sqlTx) IPAllocated(ctx context.Context, subnetID, ip string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT 1 FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?"), subnetID, ip).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: ip lookup: %w", err)
	}
	return true, nil
}

func (t *sqlTx) ReleaseIP(ctx context.Context, subnetID, ip string) error {
	_, err := t.exec(ctx, "DELETE FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?", subnetID, ip)
	return wrap("release ip", err)
}

func (t *sqlTx) ReleasePortIPs(ctx context.Context, portID string) error {
	_, err := t.exec(ctx, "DELETE FROM ip_allocations WHERE port_id = ?", portID)
	return wrap("release port ips", err)
}

func (t *sqlTx) SubnetAllocations(ctx context.Context, subnetID string) ([]store.Allocation, error) {
	rows, err := t.query(ctx, "SELECT subnet_id, ip_address, network_id, port_id FROM ip_allocations WHERE subnet_id = ?", subnetID)
	if err != nil {
		return nil, wrap("subnet allocations", err)
	}
	defer rows.Close()
	var out []store.Allocation
	for rows.Next() {
		var a store.Allocation
		if err := rows.Scan(&a.SubnetID, &a.IPAddress, &a.NetworkID, &a.PortID); err != nil {
			return nil, wrap("subnet allocations", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *sqlTx) SetPortGroups(ctx context.Context, portID string, groups []string) error {
	if err := t.touchPort(ctx, portID); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "DELETE FROM port_security_groups WHERE port_id = ?", portID); err != nil {
		return wrap("port groups", err)
	}
	for _, g := range groups {
		if _, err := t.exec(ctx, "INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)", portID, g); err != nil {
			return wrap("port groups", err)
		}
	}
	return nil
}

func (t *sqlTx) PortsUsingGroup(ctx context.Context, groupID string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT COUNT(*) FROM port_security_groups WHERE security_group_id = ?"), groupID).Scan(&n)
	return n, wrap("group use", err)
}

func (t *sqlTx) DefaultGroup(ctx context.Context, projectID string) (string, error) {
	var id string
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT security_group_id FROM default_security_groups WHERE project_id = ?"), projectID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return id, wrap("default group", err)
}

func (t *sqlTx) SetDefaultGroup(ctx context.Context, projectID, groupID string) error {
	_, err := t.exec(ctx, "INSERT INTO default_security_groups (project_id, security_group_id) VALUES (?, ?)", projectID, groupID)
	if errors.Is(err, store.ErrDuplicate) {
		return err
	}
	return wrap("set default group", err)
}

func (t *sqlTx) DeleteDefaultGroup(ctx context.Context, projectID string) error {
	_, err := t.exec(ctx, "DELETE FROM default_security_groups WHERE project_id = ?", projectID)
	return wrap("delete default group", err)
}

func (t *sqlTx) IsDefaultGroup(ctx context.Context, groupID string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT COUNT(*) FROM default_security_groups WHERE security_group_id = ?"), groupID).Scan(&n)
	return n > 0, wrap("is default group", err)
}

func (t *sqlTx) Quotas(ctx context.Context, projectID string) (map[string]int, error) {
	rows, err := t.query(ctx, "SELECT resource, hard_limit FROM quotas WHERE project_id = ?", projectID)
	if err != nil {
		return nil, wrap("quotas", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var r string
		var l int
		if err := rows.Scan(&r, &l); err != nil {
			return nil, wrap("quotas", err)
		}
		out[r] = l
	}
	return out, rows.Err()
}

func (t *sqlTx) SetQuota(ctx context.Context, projectID, resource string, limit int) error {
	if _, err := t.exec(ctx, "DELETE FROM quotas WHERE project_id = ? AND resource = ?", projectID, resource); err != nil {
		return wrap("set quota", err)
	}
	_, err := t.exec(ctx, "INSERT INTO quotas (project_id, resource, hard_limit) VALUES (?, ?, ?)", projectID, resource, limit)
	return wrap("set quota", err)
}

func (t *sqlTx) DeleteQuotas(ctx context.Context, projectID string) error {
	_, err := t.exec(ctx, "DELETE FROM quotas WHERE project_id = ?", projectID)
	return wrap("delete quotas", err)
}

func (t *sqlTx) QuotaProjects(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, "SELECT DISTINCT project_id FROM quotas ORDER BY project_id")
	if err != nil {
		return nil, wrap("quota projects", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrap("quota projects", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
