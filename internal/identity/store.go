// Package identity is Bulwark's Keystone v3-compatible identity service:
// domains, projects, users, roles and role assignments in the same store
// as everything else, password authentication, scoped tokens with a
// service catalog, and the Authenticator that turns X-Auth-Token into a
// policy.Caller for the Networking API.
package identity

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound and ErrConflict are what a Store reports.
var (
	ErrNotFound = errors.New("identity: not found")
	ErrConflict = errors.New("identity: conflict")
)

// Domain is a Keystone domain.
type Domain struct {
	ID, Name, Description string
	Enabled               bool
}

// Project is a Keystone project.
type Project struct {
	ID, DomainID, Name, Description string
	Enabled                         bool
}

// User is a Keystone user; PasswordHash is bcrypt.
type User struct {
	ID, DomainID, Name, PasswordHash  string
	Enabled                           bool
	DefaultProjectID, Email, Descript string
}

// Role is a Keystone role.
type Role struct{ ID, Name string }

// Assignment grants a role to a user on a project.
type Assignment struct{ ProjectID, UserID, RoleID string }

// Token is an issued token, stored by the SHA-256 of its secret.
type Token struct {
	Hash, UserID, ProjectID string
	Methods                 []string
	AuditID                 string
	IssuedAt, ExpiresAt     time.Time
	Revoked                 bool
}

// Store persists identity data. Small tables: listing returns all rows.
type Store interface {
	Domains(ctx context.Context) ([]Domain, error)
	CreateDomain(ctx context.Context, d Domain) error

	Projects(ctx context.Context) ([]Project, error)
	CreateProject(ctx context.Context, p Project) error
	UpdateProject(ctx context.Context, p Project) error
	DeleteProject(ctx context.Context, id string) error

	Users(ctx context.Context) ([]User, error)
	CreateUser(ctx context.Context, u User) error
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, id string) error

	Roles(ctx context.Context) ([]Role, error)
	CreateRole(ctx context.Context, r Role) error
	UpdateRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, id string) error

	Assignments(ctx context.Context) ([]Assignment, error)
	Assign(ctx context.Context, a Assignment) error
	Unassign(ctx context.Context, a Assignment) error

	SaveToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash string) (Token, error)
	RevokeToken(ctx context.Context, hash string) error
	// PurgeTokens deletes tokens that expired before the given time.
	PurgeTokens(ctx context.Context, expiredBefore time.Time) error
}
