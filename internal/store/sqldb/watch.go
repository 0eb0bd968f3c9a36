package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Retention says which change-log entries compaction keeps: the newest
// Keep entries, and every entry younger than MinAge. An agent that was
// away for less than MinAge resumes from its revision; one away longer
// (with more than Keep changes since) takes a fresh snapshot.
type Retention struct {
	Keep   int64
	MinAge time.Duration
}

// compactBatch bounds the entries one compaction transaction deletes, so
// that a large backlog does not make one long transaction.
const compactBatch = 20000

// CompactRetained compacts the change log down to what r keeps and
// returns the new watermark. Several servers may run it at once: each
// batch is one transaction that re-reads the watermark, so the losers of
// a race find nothing left to do.
func (db *DB) CompactRetained(ctx context.Context, r Retention) (int64, error) {
	var compacted, through int64
	cutoff := time.Now().Add(-r.MinAge).UTC().Format(model.TimeFormat)
	err := db.Read(ctx, func(tx store.Tx) error {
		t := tx.(*sqlTx)
		var newest int64
		var err error
		if compacted, newest, err = t.ChangeBounds(ctx); err != nil {
			return err
		}
		limit := newest - max(r.Keep, 0)
		if limit <= compacted {
			through = compacted
			return nil
		}
		err = t.tx.QueryRowContext(ctx, db.dialect.Rebind("SELECT COALESCE(MAX(seq), 0) FROM changes WHERE changed_at <= ? AND seq <= ?"), cutoff, limit).Scan(&through)
		return wrap("compaction bound", err)
	})
	if err != nil {
		return 0, err
	}
	for next := compacted; next < through; {
		next = min(next+compactBatch, through)
		if err := db.CompactChanges(ctx, next); err != nil {
			return 0, err
		}
	}
	return max(through, compacted), nil
}

// RunRetention compacts the change log every interval until ctx ends.
func (db *DB) RunRetention(ctx context.Context, r Retention, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := db.CompactRetained(ctx, r); err != nil && ctx.Err() == nil {
			log.Warn("change-log compaction failed", "err", fmt.Errorf("compact: %w", err))
		}
	}
}

// CompactChanges drops change-log entries up to throughSeq (never past the
// newest one) and records the watermark, so a watcher positioned before it
// is told to resync.
func (db *DB) CompactChanges(ctx context.Context, throughSeq int64) error {
	var watermark int64
	err := db.Write(ctx, func(tx store.Tx) error {
		t := tx.(*sqlTx)
		compacted, newest, err := t.ChangeBounds(ctx)
		if err != nil {
			return err
		}
		throughSeq = min(throughSeq, newest)
		if throughSeq <= compacted {
			watermark = compacted
			return nil
		}
		watermark = throughSeq
		if _, err := t.exec(ctx, "DELETE FROM change_keys WHERE seq <= ?", throughSeq); err != nil {
			return wrap("compact changes", err)
		}
		if _, err := t.exec(ctx, "DELETE FROM changes WHERE seq <= ?", throughSeq); err != nil {
			return wrap("compact changes", err)
		}
		_, err = t.exec(ctx, "UPDATE counters SET value = ? WHERE name = 'changes_compacted'", throughSeq)
		return wrap("compact changes", err)
	})
	if err == nil {
		db.notify.SetCompacted(watermark)
	}
	return err
}

func (t *sqlTx) ChangeBounds(ctx context.Context) (compacted, newest int64, err error) {
	err = t.tx.QueryRowContext(ctx, t.db.dialect.Rebind(
		"SELECT COALESCE((SELECT value FROM counters WHERE name = 'changes_compacted'), 0), COALESCE((SELECT MAX(seq) FROM changes), 0)")).
		Scan(&compacted, &newest)
	if err != nil {
		return 0, 0, wrap("change bounds", err)
	}
	return compacted, max(newest, compacted), nil
}

func (t *sqlTx) ChangesAfter(ctx context.Context, after int64, limit int) ([]store.WatchChange, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := t.query(ctx, "SELECT seq, resource, resource_id, revision, op, project_id, changed_at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, wrap("changes", err)
	}
	var out []store.WatchChange
	for rows.Next() {
		var c store.WatchChange
		if err := rows.Scan(&c.Seq, &c.Resource, &c.ResourceID, &c.Revision, &c.Op, &c.ProjectID, &c.ChangedAt); err != nil {
			rows.Close()
			return nil, wrap("changes", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, wrap("changes", err)
	}
	krows, err := t.query(ctx, "SELECT seq, watch_key FROM change_keys WHERE seq > ? AND seq <= ? ORDER BY seq, watch_key", after, out[len(out)-1].Seq)
	if err != nil {
		return nil, wrap("change keys", err)
	}
	defer krows.Close()
	i := 0
	for krows.Next() {
		var seq int64
		var key string
		if err := krows.Scan(&seq, &key); err != nil {
			return nil, wrap("change keys", err)
		}
		for i < len(out) && out[i].Seq < seq {
			i++
		}
		if i < len(out) && out[i].Seq == seq {
			out[i].Keys = append(out[i].Keys, key)
		}
	}
	return out, wrap("change keys", krows.Err())
}

func (t *sqlTx) HostRefs(ctx context.Context, host string) (store.HostRefs, error) {
	var r store.HostRefs
	// The host's ports by the host index, then their groups by the
	// membership primary key: work proportional to the host's ports, never
	// to the table (a join lets the planner hash the whole membership
	// table, and every watcher runs this on every wake-up).
	rows, err := t.query(ctx, "SELECT id, network_id FROM ports WHERE host_id = ?", host)
	if err != nil {
		return r, wrap("host refs", err)
	}
	var portIDs []string
	nets := map[string]bool{}
	for rows.Next() {
		var id, net string
		if err := rows.Scan(&id, &net); err != nil {
			rows.Close()
			return r, wrap("host refs", err)
		}
		portIDs = append(portIDs, id)
		nets[net] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, wrap("host refs", err)
	}
	r.Networks = slices.Sorted(maps.Keys(nets))
	groups := map[string]bool{}
	for chunk := range slices.Chunk(portIDs, 500) {
		gs, err := t.strings(ctx, "SELECT DISTINCT security_group_id FROM port_security_groups WHERE port_id IN ("+placeholders(len(chunk))+")", anySlice(chunk)...)
		if err != nil {
			return r, err
		}
		for _, g := range gs {
			groups[g] = true
		}
	}
	r.Groups = slices.Sorted(maps.Keys(groups))
	remote, addr := map[string]bool{}, map[string]bool{}
	for chunk := range slices.Chunk(r.Groups, 500) {
		rows, err := t.query(ctx, "SELECT DISTINCT remote_group_id, remote_address_group_id FROM security_group_rules WHERE security_group_id IN ("+placeholders(len(chunk))+")", anySlice(chunk)...)
		if err != nil {
			return r, wrap("host refs", err)
		}
		for rows.Next() {
			var rg, ag string
			if err := rows.Scan(&rg, &ag); err != nil {
				rows.Close()
				return r, wrap("host refs", err)
			}
			if rg != "" {
				remote[rg] = true
			}
			if ag != "" {
				addr[ag] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r, wrap("host refs", err)
		}
	}
	r.RemoteGroups = slices.Sorted(maps.Keys(remote))
	r.AddressGroups = slices.Sorted(maps.Keys(addr))
	return r, nil
}

func (t *sqlTx) GroupMembers(ctx context.Context, groups []string) (map[string][]string, error) {
	out := map[string][]string{}
	for chunk := range slices.Chunk(groups, 500) {
		rows, err := t.query(ctx, "SELECT security_group_id, port_id FROM port_security_groups WHERE security_group_id IN ("+placeholders(len(chunk))+") ORDER BY security_group_id, port_id", anySlice(chunk)...)
		if err != nil {
			return nil, wrap("group members", err)
		}
		for rows.Next() {
			var g, p string
			if err := rows.Scan(&g, &p); err != nil {
				rows.Close()
				return nil, wrap("group members", err)
			}
			out[g] = append(out[g], p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap("group members", err)
		}
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

const agentColumns = "id, agent_type, agent_binary, topic, host, admin_state_up, description, configurations, created_at, started_at, heartbeat_at"

func scanAgent(sc interface{ Scan(...any) error }) (store.AgentRow, error) {
	var a store.AgentRow
	var up int
	var desc sql.NullString
	var conf string
	err := sc.Scan(&a.ID, &a.AgentType, &a.Binary, &a.Topic, &a.Host, &up, &desc, &conf, &a.CreatedAt, &a.StartedAt, &a.HeartbeatAt)
	a.AdminStateUp = up != 0
	if desc.Valid {
		a.Description = &desc.String
	}
	a.Configurations = []byte(conf)
	return a, err
}

func (t *sqlTx) ListAgents(ctx context.Context) ([]store.AgentRow, error) {
	rows, err := t.query(ctx, "SELECT "+agentColumns+" FROM agents ORDER BY id")
	if err != nil {
		return nil, wrap("agents", err)
	}
	defer rows.Close()
	var out []store.AgentRow
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, wrap("agents", err)
		}
		out = append(out, a)
	}
	return out, wrap("agents", rows.Err())
}

func (t *sqlTx) agentWhere(ctx context.Context, where string, args ...any) (store.AgentRow, error) {
	a, err := scanAgent(t.tx.QueryRowContext(ctx, t.db.dialect.Rebind("SELECT "+agentColumns+" FROM agents WHERE "+where), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNotFound
	}
	return a, wrap("agent", err)
}

func (t *sqlTx) GetAgent(ctx context.Context, id string) (store.AgentRow, error) {
	return t.agentWhere(ctx, "id = ?", id)
}

func (t *sqlTx) FindAgent(ctx context.Context, binary, host string) (store.AgentRow, error) {
	return t.agentWhere(ctx, "agent_binary = ? AND host = ?", binary, host)
}

func nullable(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func (t *sqlTx) InsertAgent(ctx context.Context, a store.AgentRow) error {
	_, err := t.exec(ctx, "INSERT INTO agents ("+agentColumns+") VALUES ("+placeholders(11)+")",
		a.ID, a.AgentType, a.Binary, a.Topic, a.Host, b2i(a.AdminStateUp), nullable(a.Description), string(a.Configurations),
		a.CreatedAt, a.StartedAt, a.HeartbeatAt)
	if errors.Is(err, store.ErrDuplicate) {
		return err
	}
	return wrap("insert agent", err)
}

func (t *sqlTx) UpdateAgent(ctx context.Context, a store.AgentRow) error {
	res, err := t.exec(ctx, "UPDATE agents SET agent_type = ?, agent_binary = ?, topic = ?, host = ?, admin_state_up = ?, description = ?, configurations = ?, created_at = ?, started_at = ?, heartbeat_at = ? WHERE id = ?",
		a.AgentType, a.Binary, a.Topic, a.Host, b2i(a.AdminStateUp), nullable(a.Description), string(a.Configurations),
		a.CreatedAt, a.StartedAt, a.HeartbeatAt, a.ID)
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return err
		}
		return wrap("update agent", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (t *sqlTx) DeleteAgent(ctx context.Context, id string) error {
	res, err := t.exec(ctx, "DELETE FROM agents WHERE id = ?", id)
	if err != nil {
		return wrap("delete agent", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ensure the interfaces are met.
var (
	_ store.Store = (*DB)(nil)
	_ store.Tx    = (*sqlTx)(nil)
)
