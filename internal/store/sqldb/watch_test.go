package sqldb_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/store"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// portRow is a port row with the columns the watch keys derive from.
func portRow(id, host, owner string) store.Row {
	return store.Row{ID: id, ProjectID: "p1", Revision: 1, Doc: []byte(`{}`),
		Cols: map[string]any{"name": id, "network_id": "net-parent", "mac_address": "fa:16:3e:00:00:" + id[len(id)-2:],
			"device_id": "", "device_owner": owner, "host_id": host}}
}

func watchChanges(t *testing.T, db *sqldb.DB, after int64) []store.WatchChange {
	t.Helper()
	var out []store.WatchChange
	if err := db.Read(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ChangesAfter(ctx, after, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func bounds(t *testing.T, db *sqldb.DB) (int64, int64) {
	t.Helper()
	var c, n int64
	if err := db.Read(ctx, func(tx store.Tx) error {
		var err error
		c, n, err = tx.ChangeBounds(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c, n
}

// TestWatchKeys: every change-log row carries the keys of the state
// before and after its transaction, whatever order the writes came in.
func TestWatchKeys(t *testing.T) {
	db, _ := newDB(t)
	parents := seedParents(t, db)
	write(t, db, func(tx store.Tx) error {
		return tx.Insert(ctx, store.SecurityGroups, row(store.SecurityGroups, "sg-2", "p0", 1, "two", nil))
	})
	_, start := bounds(t, db)
	step := func(fn func(tx store.Tx) error) []store.WatchChange {
		t.Helper()
		_, before := bounds(t, db)
		write(t, db, fn)
		return watchChanges(t, db, before)
	}
	keysOf := func(cs []store.WatchChange) [][]string {
		out := [][]string{}
		for _, c := range cs {
			out = append(out, c.Keys)
		}
		return out
	}
	for _, c := range []struct {
		what string
		fn   func(tx store.Tx) error
		want [][]string
	}{
		{"port created, then its groups", func(tx store.Tx) error {
			if err := tx.Insert(ctx, store.Ports, portRow("port-01", "host-a", "compute:nova")); err != nil {
				return err
			}
			return tx.SetPortGroups(ctx, "port-01", []string{"sg-parent"})
		}, [][]string{{"host:host-a", "member:sg-parent"}}},
		{"port moved and regrouped (groups first)", func(tx store.Tx) error {
			if err := tx.SetPortGroups(ctx, "port-01", []string{"sg-2"}); err != nil {
				return err
			}
			return tx.Update(ctx, store.Ports, portRow("port-01", "host-b", "compute:nova"))
		}, [][]string{{"host:host-a", "host:host-b", "member:sg-2", "member:sg-parent"}}},
		{"two updates of one port in one transaction", func(tx store.Tx) error {
			if err := tx.Update(ctx, store.Ports, portRow("port-01", "host-c", "compute:nova")); err != nil {
				return err
			}
			return tx.Update(ctx, store.Ports, portRow("port-01", "", "compute:nova"))
		}, [][]string{{"host:host-b", "member:sg-2"}, {"host:host-b", "member:sg-2"}}},
		{"DHCP port", func(tx store.Tx) error {
			return tx.Insert(ctx, store.Ports, portRow("port-02", "net-node", "network:dhcp"))
		}, [][]string{{"host:net-node", "netport:net-parent"}}},
		{"port deleted (groups dropped first)", func(tx store.Tx) error {
			if err := tx.SetPortGroups(ctx, "port-01", nil); err != nil {
				return err
			}
			return tx.Delete(ctx, store.Ports, "port-01", "p1", 3)
		}, [][]string{{"member:sg-2"}}},
		{"rule naming a remote group created, updated, deleted", func(tx store.Tx) error {
			r := row(store.Rules, "r1", "p0", 0, "a", parents)
			if err := tx.Insert(ctx, store.Rules, r); err != nil {
				return err
			}
			if err := tx.Update(ctx, store.Rules, r); err != nil {
				return err
			}
			return tx.Delete(ctx, store.Rules, "r1", "p0", 0)
		}, [][]string{{"sg:sg-parent", "sgrefs:sg-parent"}, {"sg:sg-parent", "sgrefs:sg-parent"}, {"sg:sg-parent", "sgrefs:sg-parent"}}},
		{"plain rule created, deleted", func(tx store.Tx) error {
			r := row(store.Rules, "r2", "p0", 0, "b", parents)
			r.Cols["remote_group_id"], r.Cols["remote_address_group_id"] = "", ""
			if err := tx.Insert(ctx, store.Rules, r); err != nil {
				return err
			}
			return tx.Delete(ctx, store.Rules, "r2", "p0", 0)
		}, [][]string{{"sg:sg-parent"}, {"sg:sg-parent"}}},
		{"group and address group", func(tx store.Tx) error {
			if err := tx.Update(ctx, store.SecurityGroups, row(store.SecurityGroups, "sg-2", "p0", 2, "two", nil)); err != nil {
				return err
			}
			return tx.Insert(ctx, store.AddressGroups, row(store.AddressGroups, "ag-1", "p0", 1, "a", nil))
		}, [][]string{{"sg:sg-2"}, {"ag:ag-1"}}},
		{"network", func(tx store.Tx) error {
			return tx.Update(ctx, store.Networks, row(store.Networks, "net-parent", "p0", 2, "x", nil))
		}, [][]string{nil}},
	} {
		if got := keysOf(step(c.fn)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: keys %v, want %v", c.what, got, c.want)
		}
	}
	if all := watchChanges(t, db, start); len(all) != 14 {
		t.Errorf("%d changes", len(all))
	}

	// A membership change without a change of the port is refused: no
	// agent would hear of it.
	err := db.Write(ctx, func(tx store.Tx) error { return tx.SetPortGroups(ctx, "port-02", []string{"sg-2"}) })
	if err == nil {
		t.Error("silent membership change committed")
	}
}

func TestNotifyAfterCommit(t *testing.T) {
	db, _ := newDB(t)
	ch, _ := db.Notifier().Wait()
	// Writes without changes (agents) and rolled-back writes wake nobody.
	write(t, db, func(tx store.Tx) error {
		return tx.InsertAgent(ctx, store.AgentRow{ID: "a1", AgentType: "Bulwark agent", Binary: "bulwark-agent", Topic: "N/A", Host: "h",
			AdminStateUp: true, Configurations: []byte(`{}`), CreatedAt: "2026-01-01 00:00:00", StartedAt: "2026-01-01 00:00:00", HeartbeatAt: "2026-01-01 00:00:00"})
	})
	_ = db.Write(ctx, func(tx store.Tx) error {
		if err := tx.Insert(ctx, store.Networks, row(store.Networks, "n1", "p", 1, "x", nil)); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	select {
	case <-ch:
		t.Fatal("woken without a committed change")
	default:
	}
	write(t, db, func(tx store.Tx) error {
		return tx.Insert(ctx, store.Networks, row(store.Networks, "n1", "p", 1, "x", nil))
	})
	select {
	case <-ch:
	default:
		t.Fatal("commit did not wake the waiter")
	}
	_, newest := bounds(t, db)
	if _, last := db.Notifier().Wait(); last != newest {
		t.Errorf("published %d, newest change %d", last, newest)
	}
}

func TestHostRefsAndMembers(t *testing.T) {
	db, _ := newDB(t)
	parents := seedParents(t, db)
	write(t, db, func(tx store.Tx) error {
		for _, g := range []string{"sg-2", "sg-3"} {
			if err := tx.Insert(ctx, store.SecurityGroups, row(store.SecurityGroups, g, "p0", 1, g, nil)); err != nil {
				return err
			}
		}
		r := row(store.Rules, "r1", "p0", 0, "a", parents)
		r.Cols["remote_group_id"], r.Cols["remote_address_group_id"] = "sg-3", ""
		r2 := row(store.Rules, "r2", "p0", 0, "b", parents)
		r2.Cols["remote_group_id"], r2.Cols["remote_address_group_id"] = "", "ag-9"
		for _, x := range []store.Row{r, r2} {
			if err := tx.Insert(ctx, store.Rules, x); err != nil {
				return err
			}
		}
		for _, p := range []struct {
			id, host string
			groups   []string
		}{
			{"port-01", "host-a", []string{"sg-parent"}},
			{"port-02", "host-a", []string{"sg-parent", "sg-2"}},
			{"port-03", "host-b", []string{"sg-3"}},
		} {
			if err := tx.Insert(ctx, store.Ports, portRow(p.id, p.host, "")); err != nil {
				return err
			}
			if err := tx.SetPortGroups(ctx, p.id, p.groups); err != nil {
				return err
			}
		}
		return nil
	})
	err := db.Read(ctx, func(tx store.Tx) error {
		refs, err := tx.HostRefs(ctx, "host-a")
		if err != nil {
			return err
		}
		want := store.HostRefs{Networks: []string{"net-parent"}, Groups: []string{"sg-2", "sg-parent"}, RemoteGroups: []string{"sg-3"}, AddressGroups: []string{"ag-9"}}
		if !reflect.DeepEqual(refs, want) {
			t.Errorf("host-a refs %+v, want %+v", refs, want)
		}
		keys := refs.Keys("host-a")
		for _, k := range []string{"host:host-a", "sg:sg-parent", "sg:sg-2", "member:sg-3", "ag:ag-9", "netport:net-parent"} {
			if !keys[k] {
				t.Errorf("interest lacks %s", k)
			}
		}
		if none, err := tx.HostRefs(ctx, "nowhere"); err != nil || len(none.Groups)+len(none.Networks)+len(none.RemoteGroups)+len(none.AddressGroups) != 0 {
			t.Errorf("unknown host refs %+v %v", none, err)
		}
		m, err := tx.GroupMembers(ctx, []string{"sg-parent", "sg-3", "sg-none"})
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(m, map[string][]string{"sg-parent": {"port-01", "port-02"}, "sg-3": {"port-03"}}) {
			t.Errorf("members %v", m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAgentsAndCompaction(t *testing.T) {
	db, _ := newDB(t)
	desc := "d"
	a := store.AgentRow{ID: "a1", AgentType: "Bulwark agent", Binary: "bulwark-agent", Topic: "N/A", Host: "h1", AdminStateUp: true,
		Description: &desc, Configurations: []byte(`{"ports":1}`), CreatedAt: "2026-01-01 00:00:00", StartedAt: "2026-01-01 00:00:01", HeartbeatAt: "2026-01-01 00:00:02"}
	write(t, db, func(tx store.Tx) error { return tx.InsertAgent(ctx, a) })
	dup := a
	dup.ID = "a2"
	if err := db.Write(ctx, func(tx store.Tx) error { return tx.InsertAgent(ctx, dup) }); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second agent for (binary, host): %v", err)
	}
	err := db.Read(ctx, func(tx store.Tx) error {
		got, err := tx.FindAgent(ctx, "bulwark-agent", "h1")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("find %+v %v", got, err)
		}
		if _, err := tx.GetAgent(ctx, "a2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get missing: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Description, a.AdminStateUp = nil, false
	write(t, db, func(tx store.Tx) error { return tx.UpdateAgent(ctx, a) })
	_ = db.Read(ctx, func(tx store.Tx) error {
		l, err := tx.ListAgents(ctx)
		if err != nil || len(l) != 1 || l[0].Description != nil || l[0].AdminStateUp {
			t.Errorf("list %+v %v", l, err)
		}
		return nil
	})
	write(t, db, func(tx store.Tx) error { return tx.DeleteAgent(ctx, "a1") })
	if err := db.Write(ctx, func(tx store.Tx) error { return tx.DeleteAgent(ctx, "a1") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if c, n := bounds(t, db); c != 0 || n != 0 {
		t.Errorf("agents wrote changes: %d %d", c, n)
	}

	// Compaction drops entries and their keys, and keeps the position.
	seedParents(t, db)
	write(t, db, func(tx store.Tx) error { return tx.Insert(ctx, store.Ports, portRow("port-01", "h1", "")) })
	_, newest := bounds(t, db)
	if err := db.CompactChanges(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if c, n := bounds(t, db); c != 2 || n != newest {
		t.Errorf("bounds after compaction: %d %d", c, n)
	}
	if cs := watchChanges(t, db, 0); len(cs) != int(newest-2) || cs[0].Seq != 3 || !slices.Equal(cs[len(cs)-1].Keys, []string{"host:h1"}) {
		t.Errorf("changes after compaction: %+v", cs)
	}
	if err := db.CompactChanges(ctx, 1); err != nil { // never backwards
		t.Fatal(err)
	}
	if err := db.CompactChanges(ctx, newest+10); err != nil { // never past the newest
		t.Fatal(err)
	}
	if c, n := bounds(t, db); c != newest || n != newest || len(watchChanges(t, db, 0)) != 0 {
		t.Errorf("bounds after compacting everything: %d %d", c, n)
	}
}

// TestChangeLogCommitOrder: on PostgreSQL, writers on two store handles
// (two servers) append to the change log concurrently. A transaction
// that drew a lower seq but has not committed yet must hold back one
// that drew a higher seq, or a watcher that read the higher one would
// skip the lower one forever. The second writer therefore waits for the
// first one's commit (the change-log lock) and its change becomes
// visible only after the first one's.
func TestChangeLogCommitOrder(t *testing.T) {
	if backend != pgtest.Postgres {
		t.Skip("SQLite has a single writer")
	}
	url := pgtest.NewDatabase(t)
	first, second := open(t, url), open(t, url)
	defer first.Close()
	defer second.Close()
	appended, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	sqldb.SetBeforeCommit(first, func() {
		once.Do(func() { close(appended); <-release })
	})
	errs := make(chan error, 2)
	go func() {
		errs <- first.Write(ctx, func(tx store.Tx) error {
			return tx.Insert(ctx, store.Networks, row(store.Networks, "n-first", "p", 1, "a", nil))
		})
	}()
	<-appended // first holds its seq, uncommitted
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- second.Write(ctx, func(tx store.Tx) error {
			return tx.Insert(ctx, store.Networks, row(store.Networks, "n-second", "p", 1, "b", nil))
		})
	}()
	select {
	case err := <-secondDone:
		t.Fatalf("second writer committed while the first held a lower seq: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if cs := changes(t, second, 0); len(cs) != 0 {
		t.Fatalf("visible before the first commit: %+v", cs)
	}
	close(release)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	cs := changes(t, second, 0)
	if len(cs) != 2 || cs[0].ResourceID != "n-first" || cs[1].ResourceID != "n-second" || cs[0].Seq >= cs[1].Seq {
		t.Errorf("change log %+v, want n-first then n-second", cs)
	}
}

// TestRetention: compaction keeps the newest Keep entries and everything
// younger than MinAge; several handles (servers) compacting at once
// agree on the result.
func TestRetention(t *testing.T) {
	db, path := newDB(t)
	for i := range 10 {
		write(t, db, func(tx store.Tx) error {
			return tx.Insert(ctx, store.Networks, row(store.Networks, fmt.Sprintf("n%02d", i), "p", 1, "x", nil))
		})
	}
	_, newest := bounds(t, db)
	if w, err := db.CompactRetained(ctx, sqldb.Retention{Keep: 3, MinAge: time.Hour}); err != nil || w != 0 {
		t.Fatalf("young entries compacted: watermark %d %v", w, err)
	}
	if w, err := db.CompactRetained(ctx, sqldb.Retention{Keep: 3}); err != nil || w != newest-3 {
		t.Fatalf("keep 3: watermark %d %v, want %d", w, err, newest-3)
	}
	if cs := changes(t, db, 0); len(cs) != 3 || cs[0].Seq != newest-2 {
		t.Fatalf("after compaction: %+v", cs)
	}
	others := []*sqldb.DB{db}
	if backend == pgtest.Postgres {
		for range 2 {
			o := open(t, path)
			defer o.Close()
			others = append(others, o)
		}
	}
	var wg sync.WaitGroup
	for _, o := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w, err := o.CompactRetained(ctx, sqldb.Retention{Keep: 1}); err != nil || w != newest-1 {
				t.Errorf("concurrent keep 1: watermark %d %v, want %d", w, err, newest-1)
			}
		}()
	}
	wg.Wait()
	if compacted, n := bounds(t, db); compacted != newest-1 || n != newest {
		t.Errorf("bounds %d %d, want %d %d", compacted, n, newest-1, newest)
	}
}
