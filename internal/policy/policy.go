// Package policy holds who is calling and the one place that decides what
// they may see and change. The auth middleware (noauth now, Keystone
// tokens later) puts a Caller in the request context; everything below
// asks this package, never the roles directly.
package policy

import (
	"context"
	"slices"
)

// Caller is the authenticated identity of a request.
type Caller struct {
	ProjectID string
	UserID    string
	Roles     []string
}

// IsAdmin reports whether the caller holds the admin role.
func (c Caller) IsAdmin() bool { return slices.Contains(c.Roles, "admin") }

// CanWrite reports whether the caller may change anything at all
// (readers may not).
func (c Caller) CanWrite() bool {
	return c.IsAdmin() || slices.Contains(c.Roles, "member") || (len(c.Roles) > 0 && !c.readerOnly())
}

func (c Caller) readerOnly() bool {
	for _, r := range c.Roles {
		if r != "reader" {
			return false
		}
	}
	return true
}

// CanSee reports whether a resource owned by owner (shared or not) is
// visible. Invisible resources are reported as not found, as Neutron does.
func (c Caller) CanSee(owner string, shared bool) bool {
	return c.IsAdmin() || shared || owner == c.ProjectID
}

// Owns reports whether the caller may modify a resource owned by owner.
func (c Caller) Owns(owner string) bool { return c.IsAdmin() || owner == c.ProjectID }

// MayActFor reports whether the caller may create resources in project.
func (c Caller) MayActFor(project string) bool { return c.IsAdmin() || project == c.ProjectID }

type ctxKey struct{}

// WithCaller returns a context carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the request's caller (zero Caller if none).
func FromContext(ctx context.Context) Caller {
	c, _ := ctx.Value(ctxKey{}).(Caller)
	return c
}
