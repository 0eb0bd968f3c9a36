package iptables

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// TestCompiledReferenceCases applies what the compiler makes of each
// Neutron reference case into a namespace: it must load, read back
// exactly as written (no drift: every rule is in iptables-save's form),
// and a restarted applier must adopt it without writing anything.
func TestCompiledReferenceCases(t *testing.T) {
	needKernel(t)
	shared := os.Getenv("BULWARK_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "..", "shared")
	}
	dir := filepath.Join(shared, "reference", "neutron-iptables", "iptables")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("reference cases not found at %s (set BULWARK_SHARED)", dir)
	}
	ctx := context.Background()
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "model.json"))
		if err != nil {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			h, err := firewall.LoadReferenceModel(data)
			if err != nil {
				t.Fatal(err)
			}
			ns := newNetns(t)
			rec := newRecorder(ns)
			a := &Applier{Exec: rec.Exec}
			if err := a.Apply(ctx, firewall.Compile(h)); err != nil {
				t.Fatal(err)
			}
			d, err := a.Drift(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range d {
				t.Errorf("drift: %s", l)
			}
			rec.take()
			b := &Applier{Exec: rec.Exec}
			if err := b.Apply(ctx, firewall.Compile(h)); err != nil {
				t.Fatal(err)
			}
			if w := writes(rec.take()); len(w) > 0 {
				t.Errorf("adoption wrote %q:\n%s", cmdNames(w), w[0].stdin)
			}
		})
	}
}
