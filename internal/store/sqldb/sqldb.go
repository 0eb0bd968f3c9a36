// Package sqldb implements store.Store on database/sql with portable SQL.
// Dialect differences (placeholders, error codes, isolation, how the
// change log is appended) live in a Dialect value, so SQLite and
// PostgreSQL share every query and the layers above see one store.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// IsForeignKey reports whether err is a foreign-key violation.
	IsForeignKey func(error) bool
	// IsRetryable reports whether a transaction lost a race with another
	// one (serialization failure, deadlock) and may simply run again.
	IsRetryable func(error) bool
	// IsUnavailable reports whether err means the database cannot be
	// reached (down, restarting, connection lost).
	IsUnavailable func(error) bool
	// WriteOptions and ReadOptions open write and read transactions.
	WriteOptions, ReadOptions *sql.TxOptions
	// LockChangeLog, when set, runs in a write transaction just before it
	// appends to the change log and holds until commit, so that change-log
	// sequence numbers become visible in the order they were taken.
	LockChangeLog string
	// AnnounceChanges, when set, runs (with the newest seq as its only
	// argument) after the append, inside the transaction: it tells the
	// other servers at commit that the log advanced.
	AnnounceChanges string
	// WriteShared and WriteAlone, when set, start every write
	// transaction: WriteShared normally, WriteAlone for a transaction
	// that already lost aloneAfter races. WriteAlone waits until no other
	// write transaction runs and keeps new ones waiting until it commits,
	// so it cannot lose again: racing writers always make progress.
	WriteShared, WriteAlone string
}

// aloneAfter is the number of lost races after which a write transaction
// runs alone (Dialect.WriteAlone).
const aloneAfter = 3

// DB is a store.Store over a writer and a reader connection pool (the same
// pool where the engine allows concurrent writers).
type DB struct {
	dialect Dialect
	writer  *sql.DB
	reader  *sql.DB
	stmts   sync.Map // query text -> *sql.Stmt on reader
	notify  *store.Notifier
	// closers run on Close, before the pools close (the LISTEN loop).
	closers []func()
	// beforeCommit, when set (tests), runs after the change log was
	// appended and before COMMIT.
	beforeCommit func()
	// maxIdle is the pools' idle-connection limit (restored after
	// flushIdle).
	maxIdle int
}

func (db *DB) isUnavailable(err error) bool {
	return err != nil && db.dialect.IsUnavailable != nil && db.dialect.IsUnavailable(err)
}

// flushIdle closes every idle connection of pool. After the database
// restarted, each of them is dead and would fail one request in turn.
func (db *DB) flushIdle(pool *sql.DB) {
	pool.SetMaxIdleConns(0)
	pool.SetMaxIdleConns(db.maxIdle)
}

// begin opens a transaction. A connection that turns out dead at BEGIN
// (the database restarted since it was pooled) costs nothing to replace:
// the idle ones are flushed and BEGIN is tried again.
func (db *DB) begin(ctx context.Context, pool *sql.DB, opts *sql.TxOptions) (*sql.Tx, error) {
	for attempt := 1; ; attempt++ {
		tx, err := pool.BeginTx(ctx, opts)
		if err == nil || attempt >= 3 || ctx.Err() != nil || !db.isUnavailable(err) {
			return tx, err
		}
		db.flushIdle(pool)
	}
}

// New wraps open pools.
func New(d Dialect, writer, reader *sql.DB) *DB {
	return &DB{dialect: d, writer: writer, reader: reader, notify: store.NewNotifier()}
}

// Dialect returns the SQL dialect of the store.
func (db *DB) Dialect() Dialect { return db.dialect }

// Notifier is signalled after every commit that appended changes.
func (db *DB) Notifier() *store.Notifier { return db.notify }

// Close stops background work and closes both pools.
func (db *DB) Close() error {
	for _, c := range db.closers {
		c()
	}
	db.closers = nil
	err := db.writer.Close()
	if db.reader != db.writer {
		if e := db.reader.Close(); err == nil {
			err = e
		}
	}
	return err
}

// unavailable marks err as store.ErrUnavailable when the dialect says the
// database could not be reached, so the API answers 503 instead of 500.
func (db *DB) unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || db.dialect.IsUnavailable == nil || !db.dialect.IsUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

func (db *DB) readerStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.reader.PrepareContext(ctx, db.dialect.Rebind(q))
	if err != nil {
		return nil, db.unavailable(err)
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
	err = st.QueryRowContext(ctx, id).Scan(&doc, &project)
	if db.isUnavailable(err) && ctx.Err() == nil {
		db.flushIdle(db.reader) // one read, safe to repeat on a fresh connection
		err = st.QueryRowContext(ctx, id).Scan(&doc, &project)
	}
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", store.ErrNotFound
		}
		return nil, "", fmt.Errorf("store: get %s %s: %w", t, id, db.unavailable(err))
	}
	return doc, project, nil
}

// Read runs fn in a read-only transaction.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	opts := db.dialect.ReadOptions
	if opts == nil {
		opts = &sql.TxOptions{ReadOnly: true}
	}
	tx, err := db.begin(ctx, db.reader, opts)
	if err != nil {
		return fmt.Errorf("store: begin read: %w", db.unavailable(err))
	}
	defer tx.Rollback()
	if err := fn(&sqlTx{db: db, tx: tx}); err != nil {
		return db.unavailable(err)
	}
	return db.unavailable(tx.Commit())
}

// maxWriteAttempts bounds how often a write transaction that lost a race
// (or found a dead pooled connection before committing) is run again.
const maxWriteAttempts = 30

// Write runs fn in a write transaction and commits. Where the engine
// lets writers run concurrently (PostgreSQL, serializable), a transaction
// that loses a race with another one is rolled back and fn runs again
// from the start on fresh reads, so fn must not keep state across runs
// except by resetting it. A connection lost before the commit was sent is
// retried the same way; one lost during the commit is not (the outcome is
// unknown) and becomes store.ErrUnavailable.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		seq, committing, err := db.writeOnce(ctx, fn, attempt > aloneAfter)
		if err == nil {
			if seq > 0 {
				db.notify.Publish(seq)
			}
			return nil
		}
		retry := db.dialect.IsRetryable != nil && db.dialect.IsRetryable(err)
		if !retry && !committing && db.dialect.IsUnavailable != nil && db.dialect.IsUnavailable(err) && attempt < 3 {
			retry = true
		}
		if !retry || attempt >= maxWriteAttempts || ctx.Err() != nil {
			if retry && ctx.Err() == nil {
				// Cannot happen with WriteAlone; never a 500 if it does.
				return fmt.Errorf("%w: write lost %d races: %w", store.ErrUnavailable, attempt, err)
			}
			return db.unavailable(err)
		}
		// Jittered backoff so that racing writers do not meet again.
		backoff := time.Duration(1<<min(attempt, 5)) * time.Millisecond
		select {
		case <-time.After(backoff/2 + rand.N(backoff)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeOnce runs one attempt of Write. committing reports that the error
// came from COMMIT itself.
func (db *DB) writeOnce(ctx context.Context, fn func(store.Tx) error, alone bool) (seq int64, committing bool, err error) {
	tx, err := db.begin(ctx, db.writer, db.dialect.WriteOptions)
	if err != nil {
		return 0, false, fmt.Errorf("store: begin write: %w", err)
	}
	defer tx.Rollback()
	if q := db.dialect.WriteShared; alone && db.dialect.WriteAlone != "" {
		q = db.dialect.WriteAlone
		_, err = tx.ExecContext(ctx, q)
	} else if q != "" {
		_, err = tx.ExecContext(ctx, q)
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: write lock: %w", err)
	}
	t := &sqlTx{db: db, tx: tx, write: true}
	if err := fn(t); err != nil {
		return 0, false, err
	}
	if err := t.appendChanges(ctx); err != nil {
		return 0, false, err
	}
	if db.beforeCommit != nil {
		db.beforeCommit()
	}
	if err := tx.Commit(); err != nil {
		return 0, true, fmt.Errorf("store: commit: %w", err)
	}
	return t.lastSeq, false, nil
}

// Changes reads the change log after seq.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.reader.QueryContext(ctx, db.dialect.Rebind(
		"SELECT seq, resource, resource_id, revision, op, project_id, changed_at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: changes: %w", db.unavailable(err))
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Seq, &c.Resource, &c.ResourceID, &c.Revision, &c.Op, &c.ProjectID, &c.ChangedAt); err != nil {
			return nil, fmt.Errorf("store: changes: %w", db.unavailable(err))
		}
		out = append(out, c)
	}
	return out, db.unavailable(rows.Err())
}

type sqlTx struct {
	db    *DB
	tx    *sql.Tx
	write bool
	// lastSeq is the newest change this transaction appended.
	lastSeq int64
	// pending holds the transaction's change-log entries in order; they
	// are appended just before commit (appendChanges), when the watch
	// keys of port changes are known and for as short a time as possible
	// under the change-log lock.
	pending []pendingChange
	// ports holds, for every port this transaction touched, its state
	// before the transaction: a port change's watch keys come from the
	// before and after states.
	ports map[string]*portTouch
}

// pendingChange is a change-log entry waiting for commit.
type pendingChange struct {
	resource, id, project, op, changedAt string
	revision                             int64
	keys                                 []string
	portID                               string // a port change: keys from its states
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

// logChange records one change-log entry with its watch keys; it is
// appended at commit. A port's keys depend on the whole transaction and
// are computed then; the keys of the other resources are known now
// (groupID: a rule's group; groupRefs: the rule names a remote group or
// address group).
func (t *sqlTx) logChange(ctx context.Context, tb store.Table, id, project string, rev int64, op, groupID string, groupRefs bool) error {
	c := pendingChange{resource: store.Resource[tb], id: id, project: project, op: op, revision: rev, changedAt: model.Now()}
	switch tb {
	case store.Ports:
		if t.ports[id] == nil {
			return fmt.Errorf("store: change log: port %s changed without its state captured", id)
		}
		c.portID = id
	case store.SecurityGroups:
		c.keys = []string{store.KeyGroup + id}
	case store.Rules:
		c.keys = []string{store.KeyGroup + groupID}
		if groupRefs {
			c.keys = append(c.keys, store.KeyGroupRefs+groupID)
		}
	case store.AddressGroups:
		c.keys = []string{store.KeyAddressGroup + id}
	}
	t.pending = append(t.pending, c)
	if c.portID != "" {
		t.ports[id].logged = true
	}
	return nil
}

// appendChanges writes the transaction's change-log entries and their
// watch keys, after checking that every port whose membership changed
// also logged a change (otherwise no agent would hear of it).
//
// On engines with concurrent writers (PostgreSQL) a sequence number taken
// by one transaction can become visible after a higher one taken by a
// transaction that committed first; a watcher that had read past the
// higher one would never see the lower one. LockChangeLog (a
// transaction-level advisory lock) closes that gap: it is taken here, just
// before the numbers are drawn, and released by the commit, so the log
// grows in commit order. Only this tail of a write transaction is
// serialized.
func (t *sqlTx) appendChanges(ctx context.Context) error {
	portKeys := map[string][]string{}
	for id, pt := range t.ports {
		after, err := t.portState(ctx, id)
		if err != nil {
			return err
		}
		if !pt.logged {
			if pt.before.Exists != after.Exists || !slices.Equal(pt.before.Groups, after.Groups) {
				return fmt.Errorf("store: port %s changed without a change-log entry", id)
			}
			continue
		}
		portKeys[id] = store.PortKeys(pt.before, after)
	}
	if len(t.pending) == 0 {
		return nil
	}
	if q := t.db.dialect.LockChangeLog; q != "" {
		if _, err := t.tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: lock change log: %w", err)
		}
	}
	var keySeqs []int64
	var keys []string
	for _, c := range t.pending {
		var seq int64
		err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind(
			"INSERT INTO changes (resource, resource_id, revision, op, project_id, changed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq"),
			c.resource, c.id, c.revision, c.op, c.project, c.changedAt).Scan(&seq)
		if err != nil {
			return fmt.Errorf("store: change log: %w", err)
		}
		t.lastSeq = seq
		ks := c.keys
		if c.portID != "" {
			ks = portKeys[c.portID]
		}
		for _, k := range ks {
			keySeqs = append(keySeqs, seq)
			keys = append(keys, k)
		}
	}
	if err := t.insertKeys(ctx, keySeqs, keys); err != nil {
		return err
	}
	if q := t.db.dialect.AnnounceChanges; q != "" {
		if _, err := t.tx.ExecContext(ctx, q, strconv.FormatInt(t.lastSeq, 10)); err != nil {
			return fmt.Errorf("store: announce changes: %w", err)
		}
	}
	return nil
}

// insertKeys writes change_keys rows, many per statement.
func (t *sqlTx) insertKeys(ctx context.Context, seqs []int64, keys []string) error {
	const perStatement = 200
	for len(keys) > 0 {
		n := min(len(keys), perStatement)
		args := make([]any, 0, 2*n)
		for i := range n {
			args = append(args, seqs[i], keys[i])
		}
		q := "INSERT INTO change_keys (seq, watch_key) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ")
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: change keys: %w", err)
		}
		seqs, keys = seqs[n:], keys[n:]
	}
	return nil
}

// portTouch is a port's state before the transaction and whether the
// transaction logged a change for it.
type portTouch struct {
	before store.PortState
	logged bool
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

// ruleOf returns a rule row's security group and whether the rule names a
// remote group or address group (for its watch keys).
func ruleOf(tb store.Table, r store.Row) (group string, refs bool) {
	if tb != store.Rules {
		return "", false
	}
	str := func(col string) string {
		switch v := r.Cols[col].(type) {
		case string:
			return v
		case *string:
			if v != nil {
				return *v
			}
		}
		return ""
	}
	return str("security_group_id"), str("remote_group_id") != "" || str("remote_address_group_id") != ""
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
	group, refs := ruleOf(tb, r)
	return t.logChange(ctx, tb, r.ID, r.ProjectID, r.Revision, "create", group, refs)
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
	group, refs := ruleOf(tb, r)
	return t.logChange(ctx, tb, r.ID, r.ProjectID, r.Revision, "update", group, refs)
}

func (t *sqlTx) Delete(ctx context.Context, tb store.Table, id, projectID string, revision int64) error {
	var group, remoteGroup, remoteAddrGroup string
	switch tb {
	case store.Ports:
		if err := t.touchPort(ctx, id); err != nil {
			return err
		}
	case store.Rules:
		err := t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT security_group_id, remote_group_id, remote_address_group_id FROM security_group_rules WHERE id = ?"), id).Scan(&group, &remoteGroup, &remoteAddrGroup)
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
	return t.logChange(ctx, tb, id, projectID, revision, "delete", group, remoteGroup != "" || remoteAddrGroup != "")
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
