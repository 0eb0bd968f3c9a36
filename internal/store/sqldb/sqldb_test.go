package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/store"
	"github.com/bulwark-net/bulwark/internal/store/migrations"
	"github.com/bulwark-net/bulwark/internal/store/pgtest"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

var ctx = context.Background()

// backend is the engine of this run: TestMain runs every test once per
// engine (pgtest.Backends: BULWARK_TEST_DB=sqlite|postgres|both).
var backend = pgtest.SQLite

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(b string) { backend = b }))
}

// open opens the store at path: a SQLite file, or a postgres:// URL.
func open(t *testing.T, path string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

// freshPath names a new empty database on the run's backend: a file in a
// temporary directory (whose missing parent the store creates) or a new
// PostgreSQL database.
func freshPath(t *testing.T) string {
	t.Helper()
	if backend == pgtest.Postgres {
		return pgtest.NewDatabase(t)
	}
	return filepath.Join(t.TempDir(), "sub", "bulwark.db")
}

// newDB opens a fresh database.
func newDB(t *testing.T) (*sqldb.DB, string) {
	t.Helper()
	path := freshPath(t)
	db := open(t, path)
	t.Cleanup(func() { db.Close() })
	return db, path
}

func write(t *testing.T, db store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := db.Write(ctx, fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func changes(t *testing.T, db store.Store, after int64) []store.Change {
	t.Helper()
	cs, err := db.Changes(ctx, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// row builds a row for table tb whose indexed columns derive from tag,
// with parent references filled from parents.
func row(tb store.Table, id, project string, rev int64, tag string, parents map[string]string) store.Row {
	cols := map[string]any{}
	for _, c := range store.Columns[tb] {
		switch c {
		case "shared":
			cols[c] = tag == "shared"
		case "network_id", "security_group_id":
			cols[c] = parents[c]
		default:
			cols[c] = c + "-" + tag
		}
	}
	return store.Row{ID: id, ProjectID: project, Revision: rev, Cols: cols,
		Doc: []byte(fmt.Sprintf(`{"id": %q, "tag": %q, "revision_number": %d}`, id, tag, rev))}
}

// seedParents inserts the network and security group that subnets, ports
// and rules reference.
func seedParents(t *testing.T, db store.Store) map[string]string {
	t.Helper()
	parents := map[string]string{"network_id": "net-parent", "security_group_id": "sg-parent"}
	write(t, db, func(tx store.Tx) error {
		if err := tx.Insert(ctx, store.Networks, row(store.Networks, "net-parent", "p0", 1, "parent", nil)); err != nil {
			return err
		}
		return tx.Insert(ctx, store.SecurityGroups, row(store.SecurityGroups, "sg-parent", "p0", 1, "parent", nil))
	})
	return parents
}

var tables = []store.Table{store.Networks, store.Subnets, store.Ports, store.SecurityGroups, store.Rules, store.AddressGroups}

func TestCRUDEveryTable(t *testing.T) {
	db, _ := newDB(t)
	parents := seedParents(t, db)
	for _, tb := range tables {
		t.Run(string(tb), func(t *testing.T) {
			a := row(tb, "id-a", "p1", 1, "a", parents)
			b := row(tb, "id-b", "p2", 3, "b", parents)
			write(t, db, func(tx store.Tx) error {
				if err := tx.Insert(ctx, tb, a); err != nil {
					return err
				}
				return tx.Insert(ctx, tb, b)
			})
			// Get inside a read transaction and through the fast path.
			if err := db.Read(ctx, func(tx store.Tx) error {
				got, err := tx.Get(ctx, tb, "id-a")
				if err != nil {
					return err
				}
				if got.ID != "id-a" || got.ProjectID != "p1" || got.Revision != 1 || string(got.Doc) != string(a.Doc) {
					t.Errorf("Get = %+v", got)
				}
				if _, err := tx.Get(ctx, tb, "nope"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get(nope) = %v", err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			doc, project, err := db.GetDoc(ctx, tb, "id-b")
			if err != nil || project != "p2" || string(doc) != string(b.Doc) {
				t.Errorf("GetDoc = %s %q %v", doc, project, err)
			}
			if _, _, err := db.GetDoc(ctx, tb, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetDoc(nope) = %v", err)
			}

			// List filters on every indexed column.
			for _, col := range store.Columns[tb] {
				if col == "network_id" || col == "security_group_id" || col == "shared" {
					continue
				}
				ids := listIDs(t, db, tb, store.Query{Eq: map[string][]string{col: {col + "-b"}}})
				if !reflect.DeepEqual(ids, []string{"id-b"}) {
					t.Errorf("List %s=%s-b: %v", col, col, ids)
				}
			}
			if ids := listIDs(t, db, tb, store.Query{Eq: map[string][]string{"project_id": {"p1", "p2"}}}); !reflect.DeepEqual(ids, []string{"id-a", "id-b"}) {
				t.Errorf("List project_id in (p1,p2): %v", ids)
			}
			if err := db.Read(ctx, func(tx store.Tx) error {
				n, err := tx.CountByProject(ctx, tb, "p2")
				if err != nil || n != 1 {
					t.Errorf("CountByProject = %d %v", n, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}

			// Update replaces the row (and its indexed columns).
			a2 := row(tb, "id-a", "p1", 2, "a2", parents)
			write(t, db, func(tx store.Tx) error { return tx.Update(ctx, tb, a2) })
			doc, _, _ = db.GetDoc(ctx, tb, "id-a")
			if string(doc) != string(a2.Doc) {
				t.Errorf("after update: %s", doc)
			}
			if col := firstPlainColumn(tb); col != "" {
				if ids := listIDs(t, db, tb, store.Query{Eq: map[string][]string{col: {col + "-a2"}}}); !reflect.DeepEqual(ids, []string{"id-a"}) {
					t.Errorf("List %s after update: %v", col, ids)
				}
				if ids := listIDs(t, db, tb, store.Query{Eq: map[string][]string{col: {col + "-a"}}}); len(ids) != 0 {
					t.Errorf("old %s still matches: %v", col, ids)
				}
			}

			// Missing rows.
			for name, fn := range map[string]func(tx store.Tx) error{
				"update": func(tx store.Tx) error { return tx.Update(ctx, tb, row(tb, "nope", "p1", 1, "x", parents)) },
				"delete": func(tx store.Tx) error { return tx.Delete(ctx, tb, "nope", "p1", 1) },
			} {
				if err := db.Write(ctx, fn); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s missing row: %v", name, err)
				}
			}
			// Same id twice.
			if err := db.Write(ctx, func(tx store.Tx) error { return tx.Insert(ctx, tb, a) }); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("insert existing id: %v", err)
			}

			write(t, db, func(tx store.Tx) error { return tx.Delete(ctx, tb, "id-a", "p1", 3) })
			if _, _, err := db.GetDoc(ctx, tb, "id-a"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("after delete: %v", err)
			}
			if ids := listIDs(t, db, tb, store.Query{Eq: map[string][]string{"project_id": {"p1", "p2"}}}); !reflect.DeepEqual(ids, []string{"id-b"}) {
				t.Errorf("after delete: %v", ids)
			}
			write(t, db, func(tx store.Tx) error { return tx.Delete(ctx, tb, "id-b", "p2", 4) })
		})
	}
}

func firstPlainColumn(tb store.Table) string {
	for _, c := range store.Columns[tb] {
		if c != "network_id" && c != "security_group_id" && c != "shared" {
			return c
		}
	}
	return ""
}

func listIDs(t *testing.T, db store.Store, tb store.Table, q store.Query) []string {
	t.Helper()
	var ids []string
	if err := db.Read(ctx, func(tx store.Tx) error {
		rows, err := tx.List(ctx, tb, q)
		if err != nil {
			return err
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return nil
	}); err != nil {
		t.Fatalf("List %s %+v: %v", tb, q, err)
	}
	return ids
}

func TestListQuery(t *testing.T) {
	db, _ := newDB(t)
	write(t, db, func(tx store.Tx) error {
		for i, name := range []string{"c", "a", "b", "a", "d"} {
			r := store.Row{ID: fmt.Sprintf("n%d", 5-i), ProjectID: "p", Revision: 1, Doc: []byte("{}"),
				Cols: map[string]any{"name": name, "shared": i%2 == 0}}
			if err := tx.Insert(ctx, store.Networks, r); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		q    store.Query
		want []string
	}{
		{store.Query{}, []string{"n1", "n2", "n3", "n4", "n5"}}, // ordered by id
		{store.Query{Eq: map[string][]string{"name": {"a"}}}, []string{"n2", "n4"}},
		{store.Query{Eq: map[string][]string{"name": {"a", "d"}}}, []string{"n1", "n2", "n4"}},      // repeated values: OR
		{store.Query{Eq: map[string][]string{"name": {"a", "b"}, "shared": {"1"}}}, []string{"n3"}}, // columns: AND
		{store.Query{Eq: map[string][]string{"shared": {"0"}}}, []string{"n2", "n4"}},
		{store.Query{Eq: map[string][]string{"name": {}}}, []string{"n1", "n2", "n3", "n4", "n5"}},
		{store.Query{Eq: map[string][]string{"id": {"n3", "zz"}}}, []string{"n3"}},
		{store.Query{AfterID: "n2"}, []string{"n3", "n4", "n5"}},
		{store.Query{AfterID: "n2", Limit: 2}, []string{"n3", "n4"}},
		{store.Query{Limit: 1, Eq: map[string][]string{"name": {"b", "c"}}}, []string{"n3"}},
		{store.Query{Eq: map[string][]string{"name": {"zzz"}}}, nil},
		{store.Query{Eq: map[string][]string{"name": {"a' OR '1'='1"}}}, nil},
	} {
		if got := listIDs(t, db, store.Networks, tc.q); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List %+v = %v, want %v", tc.q, got, tc.want)
		}
	}
	// Only indexed columns may be used.
	err := db.Read(ctx, func(tx store.Tx) error {
		_, err := tx.List(ctx, store.Networks, store.Query{Eq: map[string][]string{"doc": {"x"}}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not indexed") {
		t.Errorf("List on doc: %v", err)
	}
	err = db.Read(ctx, func(tx store.Tx) error {
		_, err := tx.Count(ctx, store.Networks, "name; DROP TABLE networks", "x")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not indexed") {
		t.Errorf("Count on bad column: %v", err)
	}
	if err := db.Read(ctx, func(tx store.Tx) error {
		n, err := tx.Count(ctx, store.Networks, "name", "a")
		if n != 2 {
			t.Errorf("Count name=a: %d", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestUniqueViolations(t *testing.T) {
	db, _ := newDB(t)
	parents := seedParents(t, db)
	port := func(id, net, mac string) store.Row {
		r := row(store.Ports, id, "p", 1, id, parents)
		r.Cols["network_id"], r.Cols["mac_address"] = net, mac
		return r
	}
	ruleRow := func(id, group, fp string) store.Row {
		r := row(store.Rules, id, "p", 0, id, parents)
		r.Cols["security_group_id"], r.Cols["fingerprint"] = group, fp
		return r
	}
	write(t, db, func(tx store.Tx) error {
		if err := tx.Insert(ctx, store.Networks, row(store.Networks, "net-2", "p", 1, "n2", nil)); err != nil {
			return err
		}
		if err := tx.Insert(ctx, store.SecurityGroups, row(store.SecurityGroups, "sg-2", "p", 1, "s2", nil)); err != nil {
			return err
		}
		if err := tx.Insert(ctx, store.Ports, port("port-1", "net-parent", "fa:16:3e:00:00:01")); err != nil {
			return err
		}
		if err := tx.Insert(ctx, store.Rules, ruleRow("rule-1", "sg-parent", "ingress|IPv4|112||||")); err != nil {
			return err
		}
		if err := tx.AllocateIP(ctx, store.Allocation{SubnetID: "sub-1", IPAddress: "10.0.0.5", NetworkID: "net-parent", PortID: "port-1"}); err != nil {
			return err
		}
		return tx.SetDefaultGroup(ctx, "p", "sg-parent")
	})
	before := len(changes(t, db, 0))

	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx) error
		dup  bool
	}{
		{"same ip in the same subnet", func(tx store.Tx) error {
			return tx.AllocateIP(ctx, store.Allocation{SubnetID: "sub-1", IPAddress: "10.0.0.5", NetworkID: "net-parent", PortID: "port-2"})
		}, true},
		{"same mac on the same network", func(tx store.Tx) error {
			return tx.Insert(ctx, store.Ports, port("port-2", "net-parent", "fa:16:3e:00:00:01"))
		}, true},
		{"port updated to a taken mac", func(tx store.Tx) error {
			if err := tx.Insert(ctx, store.Ports, port("port-3", "net-parent", "fa:16:3e:00:00:03")); err != nil {
				return err
			}
			return tx.Update(ctx, store.Ports, port("port-3", "net-parent", "fa:16:3e:00:00:01"))
		}, true},
		{"same rule fingerprint in the same group", func(tx store.Tx) error {
			return tx.Insert(ctx, store.Rules, ruleRow("rule-2", "sg-parent", "ingress|IPv4|112||||"))
		}, true},
		{"second default group", func(tx store.Tx) error { return tx.SetDefaultGroup(ctx, "p", "sg-2") }, true},
		// Not duplicates.
		{"same ip in another subnet", func(tx store.Tx) error {
			return tx.AllocateIP(ctx, store.Allocation{SubnetID: "sub-2", IPAddress: "10.0.0.5", NetworkID: "net-2", PortID: "port-9"})
		}, false},
		{"same mac on another network", func(tx store.Tx) error {
			return tx.Insert(ctx, store.Ports, port("port-4", "net-2", "fa:16:3e:00:00:01"))
		}, false},
		{"same fingerprint in another group", func(tx store.Tx) error {
			return tx.Insert(ctx, store.Rules, ruleRow("rule-3", "sg-2", "ingress|IPv4|112||||"))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errRollback := errors.New("roll back")
			err := db.Write(ctx, func(tx store.Tx) error {
				if err := tx.Insert(ctx, store.AddressGroups, row(store.AddressGroups, "ag-probe", "p", 1, "probe", nil)); err != nil {
					return err
				}
				if err := tc.fn(tx); err != nil {
					return err
				}
				return errRollback // keep the database as it was
			})
			if tc.dup && !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("got %v, want store.ErrDuplicate", err)
			}
			if !tc.dup && err != errRollback {
				t.Fatalf("got %v, want success", err)
			}
			// Either way nothing of the transaction remains.
			if _, _, err := db.GetDoc(ctx, store.AddressGroups, "ag-probe"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("probe row survived: %v", err)
			}
		})
	}
	if after := len(changes(t, db, 0)); after != before {
		t.Errorf("rolled back transactions left %d change rows", after-before)
	}
	// A foreign-key failure is an error, but not a duplicate.
	err := db.Write(ctx, func(tx store.Tx) error {
		r := row(store.Subnets, "sub-x", "p", 0, "x", map[string]string{"network_id": "no-such-network"})
		return tx.Insert(ctx, store.Subnets, r)
	})
	if err == nil || errors.Is(err, store.ErrDuplicate) {
		t.Errorf("subnet on a missing network: %v", err)
	}
}

func TestChangeLog(t *testing.T) {
	db, _ := newDB(t)
	start := changes(t, db, 0)
	if len(start) != 0 {
		t.Fatalf("fresh database has %d changes", len(start))
	}
	write(t, db, func(tx store.Tx) error {
		if err := tx.Insert(ctx, store.Networks, row(store.Networks, "n1", "p1", 1, "a", nil)); err != nil {
			return err
		}
		return tx.Insert(ctx, store.SecurityGroups, row(store.SecurityGroups, "g1", "p1", 1, "a", nil))
	})
	write(t, db, func(tx store.Tx) error {
		return tx.Update(ctx, store.Networks, row(store.Networks, "n1", "p1", 2, "b", nil))
	})
	write(t, db, func(tx store.Tx) error {
		return tx.Insert(ctx, store.Rules, row(store.Rules, "r1", "p2", 0, "a", map[string]string{"security_group_id": "g1"}))
	})
	write(t, db, func(tx store.Tx) error {
		if err := tx.Delete(ctx, store.Rules, "r1", "p2", 0); err != nil {
			return err
		}
		return tx.Delete(ctx, store.Networks, "n1", "p1", 3)
	})
	// A rolled-back transaction leaves neither rows nor changes.
	boom := errors.New("boom")
	missingNet := func(tx store.Tx) {
		if err := tx.Insert(ctx, store.Ports, row(store.Ports, "port-x", "p1", 1, "x", map[string]string{"network_id": "n-none"})); err == nil {
			t.Error("port on a missing network inserted")
		}
	}
	if backend == pgtest.Postgres {
		// A failed statement aborts a PostgreSQL transaction (the service
		// never continues after one): check it on its own.
		_ = db.Write(ctx, func(tx store.Tx) error { missingNet(tx); return boom })
	}
	err := db.Write(ctx, func(tx store.Tx) error {
		if backend == pgtest.SQLite {
			missingNet(tx)
		}
		if err := tx.Insert(ctx, store.Networks, row(store.Networks, "n9", "p1", 1, "x", nil)); err != nil {
			return err
		}
		if err := tx.Update(ctx, store.SecurityGroups, row(store.SecurityGroups, "g1", "p1", 7, "x", nil)); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Write returned %v, want the function's own error", err)
	}
	if _, _, err := db.GetDoc(ctx, store.Networks, "n9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled-back insert visible: %v", err)
	}
	if doc, _, _ := db.GetDoc(ctx, store.SecurityGroups, "g1"); !strings.Contains(string(doc), `"revision_number": 1`) {
		t.Errorf("rolled-back update visible: %s", doc)
	}

	got := changes(t, db, 0)
	want := []store.Change{
		{Resource: "network", ResourceID: "n1", Revision: 1, Op: "create", ProjectID: "p1"},
		{Resource: "security_group", ResourceID: "g1", Revision: 1, Op: "create", ProjectID: "p1"},
		{Resource: "network", ResourceID: "n1", Revision: 2, Op: "update", ProjectID: "p1"},
		{Resource: "security_group_rule", ResourceID: "r1", Revision: 0, Op: "create", ProjectID: "p2"},
		{Resource: "security_group_rule", ResourceID: "r1", Revision: 0, Op: "delete", ProjectID: "p2"},
		{Resource: "network", ResourceID: "n1", Revision: 3, Op: "delete", ProjectID: "p1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(got), len(want), got)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	for i, c := range got {
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("seq not increasing: %d after %d", c.Seq, got[i-1].Seq)
		}
		if !stamp.MatchString(c.ChangedAt) {
			t.Errorf("changed_at %q", c.ChangedAt)
		}
		c.Seq, c.ChangedAt = 0, ""
		if c != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, c, want[i])
		}
	}
	// Paging by sequence number.
	if page := changes(t, db, got[3].Seq); len(page) != 2 || page[0].Seq != got[4].Seq {
		t.Errorf("Changes after %d: %+v", got[3].Seq, page)
	}
	page, err := db.Changes(ctx, got[0].Seq, 2)
	if err != nil || len(page) != 2 || page[0].Seq != got[1].Seq || page[1].Seq != got[2].Seq {
		t.Errorf("Changes limit 2: %+v %v", page, err)
	}
	if page := changes(t, db, got[len(got)-1].Seq); len(page) != 0 {
		t.Errorf("Changes after the last: %+v", page)
	}
}

func TestReadIsReadOnly(t *testing.T) {
	db, _ := newDB(t)
	err := db.Read(ctx, func(tx store.Tx) error {
		return tx.Insert(ctx, store.Networks, row(store.Networks, "n1", "p", 1, "a", nil))
	})
	if err == nil {
		t.Fatal("insert inside Read succeeded")
	}
	if _, _, err := db.GetDoc(ctx, store.Networks, "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row written by Read: %v", err)
	}
	if cs := changes(t, db, 0); len(cs) != 0 {
		t.Errorf("changes written by Read: %+v", cs)
	}
	// The function's error comes back as it is.
	boom := errors.New("boom")
	if err := db.Read(ctx, func(store.Tx) error { return boom }); err != boom {
		t.Errorf("Read returned %v", err)
	}
}

func TestAllocationsGroupsQuotasCounters(t *testing.T) {
	db, _ := newDB(t)
	write(t, db, func(tx store.Tx) error {
		for _, a := range []store.Allocation{
			{SubnetID: "s1", IPAddress: "10.0.0.2", NetworkID: "n1", PortID: "port-a"},
			{SubnetID: "s1", IPAddress: "10.0.0.3", NetworkID: "n1", PortID: "port-a"},
			{SubnetID: "s1", IPAddress: "10.0.0.4", NetworkID: "n1", PortID: "port-b"},
			{SubnetID: "s2", IPAddress: "2001:db8::2", NetworkID: "n1", PortID: "port-a"},
		} {
			if err := tx.AllocateIP(ctx, a); err != nil {
				return err
			}
		}
		if err := tx.SetPortGroups(ctx, "port-a", []string{"g1", "g2"}); err != nil {
			return err
		}
		if err := tx.SetPortGroups(ctx, "port-b", []string{"g1"}); err != nil {
			return err
		}
		if err := tx.SetQuota(ctx, "p1", "port", 5); err != nil {
			return err
		}
		if err := tx.SetQuota(ctx, "p1", "port", 7); err != nil { // replaces
			return err
		}
		if err := tx.SetQuota(ctx, "p1", "network", -1); err != nil {
			return err
		}
		return tx.SetQuota(ctx, "p0", "subnet", 3)
	})
	err := db.Read(ctx, func(tx store.Tx) error {
		for ip, want := range map[string]bool{"10.0.0.2": true, "10.0.0.4": true, "10.0.0.5": false, "2001:db8::2": false} {
			if got, err := tx.IPAllocated(ctx, "s1", ip); err != nil || got != want {
				t.Errorf("IPAllocated(s1, %s) = %v %v", ip, got, err)
			}
		}
		allocs, err := tx.SubnetAllocations(ctx, "s1")
		if err != nil || len(allocs) != 3 {
			t.Errorf("SubnetAllocations(s1) = %+v %v", allocs, err)
		}
		for g, want := range map[string]int{"g1": 2, "g2": 1, "g3": 0} {
			if n, err := tx.PortsUsingGroup(ctx, g); err != nil || n != want {
				t.Errorf("PortsUsingGroup(%s) = %d %v", g, n, err)
			}
		}
		q, err := tx.Quotas(ctx, "p1")
		if err != nil || !reflect.DeepEqual(q, map[string]int{"port": 7, "network": -1}) {
			t.Errorf("Quotas(p1) = %v %v", q, err)
		}
		if q, _ := tx.Quotas(ctx, "p9"); len(q) != 0 {
			t.Errorf("Quotas(p9) = %v", q)
		}
		if ps, err := tx.QuotaProjects(ctx); err != nil || !reflect.DeepEqual(ps, []string{"p0", "p1"}) {
			t.Errorf("QuotaProjects = %v %v", ps, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	write(t, db, func(tx store.Tx) error {
		if err := tx.ReleaseIP(ctx, "s1", "10.0.0.4"); err != nil {
			return err
		}
		if err := tx.ReleasePortIPs(ctx, "port-a"); err != nil {
			return err
		}
		if err := tx.SetPortGroups(ctx, "port-a", nil); err != nil {
			return err
		}
		return tx.DeleteQuotas(ctx, "p1")
	})
	err = db.Read(ctx, func(tx store.Tx) error {
		for _, s := range []string{"s1", "s2"} {
			if allocs, err := tx.SubnetAllocations(ctx, s); err != nil || len(allocs) != 0 {
				t.Errorf("after release, %s: %+v %v", s, allocs, err)
			}
		}
		if n, _ := tx.PortsUsingGroup(ctx, "g2"); n != 0 {
			t.Errorf("g2 still used by %d ports", n)
		}
		if n, _ := tx.PortsUsingGroup(ctx, "g1"); n != 1 {
			t.Errorf("g1 used by %d ports", n)
		}
		if ps, _ := tx.QuotaProjects(ctx); !reflect.DeepEqual(ps, []string{"p0"}) {
			t.Errorf("QuotaProjects after delete = %v", ps)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Default groups.
	write(t, db, func(tx store.Tx) error {
		if _, err := tx.DefaultGroup(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DefaultGroup before set: %v", err)
		}
		if err := tx.SetDefaultGroup(ctx, "p1", "g1"); err != nil {
			return err
		}
		if g, err := tx.DefaultGroup(ctx, "p1"); err != nil || g != "g1" {
			t.Errorf("DefaultGroup = %q %v", g, err)
		}
		for g, want := range map[string]bool{"g1": true, "g2": false} {
			if ok, err := tx.IsDefaultGroup(ctx, g); err != nil || ok != want {
				t.Errorf("IsDefaultGroup(%s) = %v %v", g, ok, err)
			}
		}
		if err := tx.DeleteDefaultGroup(ctx, "p1"); err != nil {
			return err
		}
		if ok, _ := tx.IsDefaultGroup(ctx, "g1"); ok {
			t.Error("still default after delete")
		}
		return nil
	})

	// Counters start at 1, are independent, and roll back with their
	// transaction.
	next := func(name string) int64 {
		var v int64
		write(t, db, func(tx store.Tx) error {
			var err error
			v, err = tx.NextCounter(ctx, name)
			return err
		})
		return v
	}
	if a, b, c := next("standard_attr"), next("standard_attr"), next("other"); a != 1 || b != 2 || c != 1 {
		t.Errorf("counters %d %d %d", a, b, c)
	}
	_ = db.Write(ctx, func(tx store.Tx) error {
		if v, _ := tx.NextCounter(ctx, "standard_attr"); v != 3 {
			t.Errorf("counter in tx = %d", v)
		}
		return errors.New("roll back")
	})
	if v := next("standard_attr"); v != 3 {
		t.Errorf("counter after rollback = %d, want 3", v)
	}
}

func TestRestartDurability(t *testing.T) {
	path := freshPath(t)
	db := open(t, path)
	parents := seedParents(t, db)
	write(t, db, func(tx store.Tx) error {
		if err := tx.Insert(ctx, store.Ports, row(store.Ports, "port-1", "p1", 1, "x", parents)); err != nil {
			return err
		}
		if err := tx.AllocateIP(ctx, store.Allocation{SubnetID: "s1", IPAddress: "10.0.0.9", NetworkID: "net-parent", PortID: "port-1"}); err != nil {
			return err
		}
		if err := tx.SetPortGroups(ctx, "port-1", []string{"sg-parent"}); err != nil {
			return err
		}
		if err := tx.SetDefaultGroup(ctx, "p1", "sg-parent"); err != nil {
			return err
		}
		if err := tx.SetQuota(ctx, "p1", "port", 9); err != nil {
			return err
		}
		_, err := tx.NextCounter(ctx, "standard_attr")
		return err
	})
	before := changes(t, db, 0)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for round := 0; round < 2; round++ { // reopening twice: migrations stay idempotent
		db = open(t, path)
		if doc, project, err := db.GetDoc(ctx, store.Ports, "port-1"); err != nil || project != "p1" || !strings.Contains(string(doc), `"port-1"`) {
			t.Fatalf("round %d: port after restart: %s %q %v", round, doc, project, err)
		}
		if got := changes(t, db, 0); !reflect.DeepEqual(got, before) {
			t.Fatalf("round %d: change log after restart:\n%+v\nwant\n%+v", round, got, before)
		}
		err := db.Read(ctx, func(tx store.Tx) error {
			if ok, _ := tx.IPAllocated(ctx, "s1", "10.0.0.9"); !ok {
				t.Error("allocation lost")
			}
			if n, _ := tx.PortsUsingGroup(ctx, "sg-parent"); n != 1 {
				t.Error("port groups lost")
			}
			if g, _ := tx.DefaultGroup(ctx, "p1"); g != "sg-parent" {
				t.Error("default group lost")
			}
			if q, _ := tx.Quotas(ctx, "p1"); q["port"] != 9 {
				t.Error("quota lost")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Writes after a restart continue the sequences.
	db = open(t, path)
	defer db.Close()
	var attr int64
	write(t, db, func(tx store.Tx) error {
		var err error
		if attr, err = tx.NextCounter(ctx, "standard_attr"); err != nil {
			return err
		}
		return tx.Insert(ctx, store.Networks, row(store.Networks, "net-new", "p1", 1, "new", nil))
	})
	if attr != 2 {
		t.Errorf("counter after restart = %d, want 2", attr)
	}
	after := changes(t, db, before[len(before)-1].Seq)
	if len(after) != 1 || after[0].ResourceID != "net-new" || after[0].Seq <= before[len(before)-1].Seq {
		t.Errorf("change after restart: %+v", after)
	}
	// Uniqueness still holds across the restart.
	err := db.Write(ctx, func(tx store.Tx) error {
		return tx.AllocateIP(ctx, store.Allocation{SubnetID: "s1", IPAddress: "10.0.0.9", NetworkID: "net-parent", PortID: "port-2"})
	})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("allocation after restart: %v", err)
	}
	db.Close()

	// The migration ran exactly once: goose recorded each version once.
	if backend == pgtest.Postgres {
		checkGooseVersions(t, "pgx", path, migrations.Postgres, "postgres")
		return
	}
	checkGooseVersions(t, "sqlite", "file:"+path, migrations.SQLite, "sqlite")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q %v", mode, err)
	}
}

// checkGooseVersions checks that goose applied every embedded migration
// exactly once.
func checkGooseVersions(t *testing.T, driver, dsn string, files fs.FS, dir string) {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if want := embeddedVersions(t, files, dir); !reflect.DeepEqual(versions, want) {
		t.Errorf("goose versions applied: %v, want %v (each once)", versions, want)
	}
}

func TestConcurrentWriters(t *testing.T) {
	db, path := newDB(t)
	const writers, each = 12, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("net-%02d-%02d", w, i)
				err := db.Write(ctx, func(tx store.Tx) error {
					if _, err := tx.NextCounter(ctx, "shared-counter"); err != nil {
						return err
					}
					if err := tx.Insert(ctx, store.Networks, row(store.Networks, id, fmt.Sprintf("p%d", w), 1, id, nil)); err != nil {
						return err
					}
					return tx.AllocateIP(ctx, store.Allocation{SubnetID: "s", IPAddress: fmt.Sprintf("10.%d.%d.1", w, i), NetworkID: id, PortID: id})
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
				}
				// Readers run beside the writers.
				if _, _, err := db.GetDoc(ctx, store.Networks, id); err != nil {
					errs <- fmt.Errorf("read-your-write %s: %w", id, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	ids := listIDs(t, db, store.Networks, store.Query{})
	if len(ids) != writers*each {
		t.Fatalf("%d networks, want %d", len(ids), writers*each)
	}
	cs := changes(t, db, 0)
	if len(cs) != writers*each {
		t.Fatalf("%d changes, want %d", len(cs), writers*each)
	}
	seen := map[string]bool{}
	for i, c := range cs {
		if i > 0 && c.Seq <= cs[i-1].Seq {
			t.Fatalf("seq %d after %d", c.Seq, cs[i-1].Seq)
		}
		seen[c.ResourceID] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct resources in the change log", len(seen))
	}
	var counter int64
	write(t, db, func(tx store.Tx) error {
		var err error
		counter, err = tx.NextCounter(ctx, "shared-counter")
		return err
	})
	if counter != writers*each+1 {
		t.Errorf("counter = %d, want %d (lost updates)", counter, writers*each+1)
	}
	if err := db.Read(ctx, func(tx store.Tx) error {
		allocs, err := tx.SubnetAllocations(ctx, "s")
		if len(allocs) != writers*each {
			t.Errorf("%d allocations", len(allocs))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// And a second handle on the same file sees everything.
	db.Close()
	again := open(t, path)
	defer again.Close()
	if got := listIDs(t, again, store.Networks, store.Query{}); !sort.StringsAreSorted(got) || len(got) != writers*each {
		t.Errorf("after reopen: %d networks", len(got))
	}
}

func TestOpenURL(t *testing.T) {
	if backend == pgtest.Postgres {
		t.Skip("SQLite URLs; PostgreSQL URLs are what every other test opens")
	}
	dir := t.TempDir()
	for _, url := range []string{"sqlite:" + filepath.Join(dir, "a.db"), "sqlite://" + filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")} {
		db, err := sqldb.Open(ctx, url)
		if err != nil {
			t.Errorf("Open(%s): %v", url, err)
			continue
		}
		write(t, db, func(tx store.Tx) error {
			return tx.Insert(ctx, store.Networks, row(store.Networks, "n", "p", 1, "x", nil))
		})
		db.Close()
	}
	for _, url := range []string{"sqlite:", "postgres://localhost/x", "postgresql://x", "mysql://x"} {
		if db, err := sqldb.Open(ctx, url); err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded", url)
		}
	}
}

// embeddedVersions lists the migration versions shipped in the binary.
func embeddedVersions(t *testing.T, files fs.FS, dir string) []int64 {
	t.Helper()
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) == 0 {
		t.Fatal("no migrations embedded")
	}
	return out
}

func TestWriteSurvivesPanicAndCancel(t *testing.T) {
	db, _ := newDB(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_ = db.Write(ctx, func(tx store.Tx) error {
			if err := tx.Insert(ctx, store.Networks, row(store.Networks, "n-panic", "p", 1, "x", nil)); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	// The single writer connection is free again and nothing was committed.
	done := make(chan error, 1)
	go func() {
		done <- db.Write(ctx, func(tx store.Tx) error {
			return tx.Insert(ctx, store.Networks, row(store.Networks, "n-after", "p", 1, "x", nil))
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer stuck after a panicking transaction")
	}
	if ids := listIDs(t, db, store.Networks, store.Query{}); !reflect.DeepEqual(ids, []string{"n-after"}) {
		t.Errorf("networks %v", ids)
	}
	if cs := changes(t, db, 0); len(cs) != 1 || cs[0].ResourceID != "n-after" {
		t.Errorf("changes %+v", cs)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := db.Write(cancelled, func(tx store.Tx) error {
		return tx.Insert(cancelled, store.Networks, row(store.Networks, "n-cancel", "p", 1, "x", nil))
	})
	if err == nil {
		t.Error("write with a cancelled context succeeded")
	}
	if _, _, err := db.GetDoc(ctx, store.Networks, "n-cancel"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled write visible: %v", err)
	}
}

// TestMigrateOnceConcurrently: servers that start together on an empty
// PostgreSQL database migrate it once (goose's session advisory lock);
// every one of them opens.
func TestMigrateOnceConcurrently(t *testing.T) {
	if backend != pgtest.Postgres {
		t.Skip("one SQLite file has one server")
	}
	c, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.CreateDatabase(ctx, "") // empty: not the migrated template
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	dbs := make([]*sqldb.DB, 4)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = sqldb.Open(ctx, url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	write(t, dbs[0], func(tx store.Tx) error {
		return tx.Insert(ctx, store.Networks, row(store.Networks, "n", "p", 1, "x", nil))
	})
	if _, _, err := dbs[3].GetDoc(ctx, store.Networks, "n"); err != nil {
		t.Errorf("another server: %v", err)
	}
	checkGooseVersions(t, "pgx", url, migrations.Postgres, "postgres")
}
