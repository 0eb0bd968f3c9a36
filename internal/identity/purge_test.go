package identity_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/identity"
	"github.com/bulwark-net/bulwark/internal/store/sqldb"
)

// TestExpiredTokensArePurged: issuing a token deletes tokens that expired
// more than a day ago, and keeps recent ones.
func TestExpiredTokensArePurged(t *testing.T) {
	ctx := context.Background()
	st, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	old := identity.Token{Hash: "old", UserID: "u", Methods: []string{"password"}, AuditID: "a", IssuedAt: now.Add(-50 * time.Hour), ExpiresAt: now.Add(-49 * time.Hour)}
	recent := identity.Token{Hash: "recent", UserID: "u", Methods: []string{"password"}, AuditID: "b", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	for _, tok := range []identity.Token{old, recent} {
		if err := st.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	ids := identity.New(st, time.Hour)
	if _, err := ids.Bootstrap(ctx, "secret"); err != nil {
		t.Fatal(err)
	}
	var req identity.AuthRequest
	req.Auth.Identity.Methods = []string{"password"}
	pw := "secret"
	req.Auth.Identity.Password = &struct {
		User *identity.NameOrID `json:"user"`
	}{User: &identity.NameOrID{Name: "admin", Domain: &identity.NameOrID{Name: "Default"}, Password: &pw}}
	if _, _, err := ids.Authenticate(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetToken(ctx, "old"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("token expired 49 h ago still stored (err %v)", err)
	}
	if _, err := st.GetToken(ctx, "recent"); err != nil {
		t.Fatalf("token expired 1 h ago purged too early: %v", err)
	}
}
