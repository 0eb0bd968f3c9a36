package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// DefaultDomainID is Keystone's default domain.
const DefaultDomainID = "default"

// ErrNeedPassword: Bootstrap must create the admin user and was given no
// password for it.
var ErrNeedPassword = errors.New("identity: bootstrap needs an admin password")

// Implied roles, as Keystone's bootstrap sets them up: admin implies
// member, member implies reader.
var implied = map[string][]string{"admin": {"member", "reader"}, "member": {"reader"}}

// Service issues and validates tokens and manages identity data.
type Service struct {
	st  Store
	ttl time.Duration

	mu        sync.Mutex
	cache     map[string]cachedToken // token hash -> validated info
	lastPurge time.Time
}

// purgeEvery bounds how often issuing a token also deletes expired ones
// (kept a day past expiry so that a late validation still reads 401 from
// a known token rather than nothing), so the table does not grow forever.
const purgeEvery = 10 * time.Minute

func (s *Service) purgeNow(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastPurge) >= purgeEvery
	if due {
		s.lastPurge = now
	}
	s.mu.Unlock()
	if due {
		_ = s.st.PurgeTokens(ctx, now.Add(-24*time.Hour)) // best effort; the next issue retries
	}
}

type cachedToken struct {
	info  *TokenInfo
	until time.Time
}

// New returns a Service whose tokens live for ttl.
func New(st Store, ttl time.Duration) *Service {
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &Service{st: st, ttl: ttl, cache: map[string]cachedToken{}}
}

// TokenInfo is what a valid token stands for.
type TokenInfo struct {
	Methods   []string
	User      User
	Domain    Domain // the user's domain
	Project   *Project
	ProjectDm Domain
	Roles     []Role
	AuditID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// RoleNames lists the token's role names.
func (t *TokenInfo) RoleNames() []string {
	out := make([]string, len(t.Roles))
	for i, r := range t.Roles {
		out[i] = r.Name
	}
	return out
}

// Error is an identity failure with Keystone's status and title.
type Error struct {
	Code    int
	Title   string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Title, e.Message) }

func unauthorized() *Error {
	return &Error{401, "Unauthorized", "The request you have made requires authentication."}
}

func badRequest(format string, a ...any) *Error {
	return &Error{400, "Bad Request", fmt.Sprintf(format, a...)}
}

func notFound(kind, id string) *Error {
	return &Error{404, "Not Found", fmt.Sprintf("Could not find %s: %s.", kind, id)}
}

func conflict(format string, a ...any) *Error {
	return &Error{409, "Conflict", fmt.Sprintf(format, a...)}
}

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) > 72 {
		return "", badRequest("Invalid input for field 'password': the password is longer than 72 bytes.")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("identity: hash password: %w", err)
	}
	return string(h), nil
}

// Bootstrap makes sure the default domain, the three standard roles and
// an admin user with the admin role on an admin project exist. A non-empty
// password is (re)set on the admin user, as keystone-manage bootstrap does.
// It reports whether the admin user was created.
func (s *Service) Bootstrap(ctx context.Context, adminPassword string) (created bool, err error) {
	doms, err := s.st.Domains(ctx)
	if err != nil {
		return false, err
	}
	if !slices.ContainsFunc(doms, func(d Domain) bool { return d.ID == DefaultDomainID }) {
		if err := s.st.CreateDomain(ctx, Domain{ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true}); err != nil {
			return false, err
		}
	}
	roles, err := s.st.Roles(ctx)
	if err != nil {
		return false, err
	}
	roleID := map[string]string{}
	for _, r := range roles {
		roleID[r.Name] = r.ID
	}
	for _, name := range []string{"admin", "member", "reader"} {
		if roleID[name] == "" {
			id := newID()
			if err := s.st.CreateRole(ctx, Role{ID: id, Name: name}); err != nil {
				return false, err
			}
			roleID[name] = id
		}
	}
	project, err := s.findProject(ctx, "admin", DefaultDomainID)
	if err != nil {
		project = Project{ID: newID(), DomainID: DefaultDomainID, Name: "admin", Description: "Bootstrap project for initializing the cloud.", Enabled: true}
		if err := s.st.CreateProject(ctx, project); err != nil {
			return false, err
		}
	}
	user, err := s.findUser(ctx, "admin", DefaultDomainID)
	if err != nil {
		if adminPassword == "" {
			return false, ErrNeedPassword
		}
		hash, err := HashPassword(adminPassword)
		if err != nil {
			return false, err
		}
		user = User{ID: newID(), DomainID: DefaultDomainID, Name: "admin", PasswordHash: hash, Enabled: true, DefaultProjectID: project.ID}
		if err := s.st.CreateUser(ctx, user); err != nil {
			return false, err
		}
		created = true
	} else if adminPassword != "" && bcrypt.CompareHashAndPassword([]byte(user.PasswordHash), []byte(adminPassword)) != nil {
		if user.PasswordHash, err = HashPassword(adminPassword); err != nil {
			return false, err
		}
		if err := s.st.UpdateUser(ctx, user); err != nil {
			return false, err
		}
	}
	return created, s.st.Assign(ctx, Assignment{ProjectID: project.ID, UserID: user.ID, RoleID: roleID["admin"]})
}

var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
	return h
})

func newID() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

func (s *Service) findProject(ctx context.Context, name, domainID string) (Project, error) {
	ps, err := s.st.Projects(ctx)
	if err != nil {
		return Project{}, err
	}
	for _, p := range ps {
		if p.Name == name && p.DomainID == domainID {
			return p, nil
		}
	}
	return Project{}, ErrNotFound
}

func (s *Service) findUser(ctx context.Context, name, domainID string) (User, error) {
	us, err := s.st.Users(ctx)
	if err != nil {
		return User{}, err
	}
	for _, u := range us {
		if u.Name == name && u.DomainID == domainID {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (s *Service) domain(ctx context.Context, id string) (Domain, error) {
	ds, err := s.st.Domains(ctx)
	if err != nil {
		return Domain{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return Domain{}, ErrNotFound
}

// resolveDomain finds a domain by {"id"} or {"name"}.
func (s *Service) resolveDomain(ctx context.Context, ref *NameOrID, in string) (Domain, error) {
	if ref == nil {
		return Domain{}, badRequest("Expecting to find domain in %s - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", in)
	}
	ds, err := s.st.Domains(ctx)
	if err != nil {
		return Domain{}, err
	}
	for _, d := range ds {
		if (ref.ID != "" && d.ID == ref.ID) || (ref.ID == "" && d.Name == ref.Name) {
			return d, nil
		}
	}
	return Domain{}, unauthorized()
}

// NameOrID is a reference by id or by name (+ domain).
type NameOrID struct {
	ID       string    `json:"id,omitempty"`
	Name     string    `json:"name,omitempty"`
	Domain   *NameOrID `json:"domain,omitempty"`
	Password *string   `json:"password,omitempty"`
}

// AuthRequest is the body of POST /v3/auth/tokens.
type AuthRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *NameOrID `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope *struct {
			Project *NameOrID `json:"project"`
			Domain  *NameOrID `json:"domain"`
			System  any       `json:"system"`
		} `json:"scope"`
	} `json:"auth"`
}

// Authenticate checks credentials and issues a token; it returns the
// secret (for X-Subject-Token) and what it stands for.
func (s *Service) Authenticate(ctx context.Context, req AuthRequest) (string, *TokenInfo, error) {
	id := req.Auth.Identity
	var user User
	var notAfter time.Time // a token from a token expires no later than its source, as in Keystone
	methods := id.Methods
	switch {
	case slices.Contains(methods, "password") && id.Password != nil && id.Password.User != nil:
		ref := id.Password.User
		if ref.Password == nil {
			return "", nil, badRequest("Invalid input for field 'identity/password/user/password': None is not of type 'string'")
		}
		var err error
		if ref.ID != "" {
			user, err = s.userByID(ctx, ref.ID)
		} else {
			var d Domain
			if d, err = s.resolveDomain(ctx, ref.Domain, "user"); err == nil {
				user, err = s.findUser(ctx, ref.Name, d.ID)
			}
		}
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrNotFound) && !(errors.As(err, &e) && e.Code == 401) {
				return "", nil, err // a malformed request (400) or a store failure (500)
			}
			// Spend a hash's time anyway: an unknown user answers as slowly as a wrong password.
			_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(*ref.Password))
			return "", nil, unauthorized()
		}
		if bcrypt.CompareHashAndPassword([]byte(user.PasswordHash), []byte(*ref.Password)) != nil || !user.Enabled {
			return "", nil, unauthorized()
		}
	case slices.Contains(methods, "token") && id.Token != nil:
		info, err := s.Validate(ctx, id.Token.ID)
		if err != nil {
			return "", nil, err
		}
		user, notAfter = info.User, info.ExpiresAt
	default:
		return "", nil, badRequest("Expecting to find identity in auth - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	projectID := ""
	if sc := req.Auth.Scope; sc != nil {
		switch {
		case sc.Project != nil:
			var p Project
			var err error
			if sc.Project.ID != "" {
				p, err = s.projectByID(ctx, sc.Project.ID)
			} else {
				var d Domain
				if d, err = s.resolveDomain(ctx, sc.Project.Domain, "project"); err == nil {
					p, err = s.findProject(ctx, sc.Project.Name, d.ID)
				}
			}
			var e *Error
			if err != nil && !errors.Is(err, ErrNotFound) && !(errors.As(err, &e) && e.Code == 401) {
				return "", nil, err
			}
			if err != nil || !p.Enabled {
				return "", nil, unauthorized()
			}
			projectID = p.ID
		case sc.Domain != nil || sc.System != nil:
			return "", nil, &Error{401, "Unauthorized", "Bulwark issues project-scoped and unscoped tokens only."}
		}
	} else if user.DefaultProjectID != "" {
		projectID = user.DefaultProjectID
	}
	if projectID != "" {
		roles, err := s.userRoles(ctx, user.ID, projectID)
		if err != nil {
			return "", nil, err
		}
		if len(roles) == 0 {
			if req.Auth.Scope == nil {
				projectID = "" // default project without a role: unscoped
			} else {
				return "", nil, &Error{401, "Unauthorized", "The request you have made requires authentication."}
			}
		}
	}
	secret := newSecret()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := Token{Hash: hashToken(secret), UserID: user.ID, ProjectID: projectID, Methods: methods,
		AuditID: base64.RawURLEncoding.EncodeToString([]byte(newID()[:16])), IssuedAt: now, ExpiresAt: now.Add(s.ttl)}
	if !notAfter.IsZero() && notAfter.Before(tok.ExpiresAt) {
		tok.ExpiresAt = notAfter
	}
	s.purgeNow(ctx, now)
	if err := s.st.SaveToken(ctx, tok); err != nil {
		return "", nil, err
	}
	info, err := s.info(ctx, tok)
	return secret, info, err
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return "bw" + base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (s *Service) userByID(ctx context.Context, id string) (User, error) {
	us, err := s.st.Users(ctx)
	if err != nil {
		return User{}, err
	}
	for _, u := range us {
		if u.ID == id {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (s *Service) projectByID(ctx context.Context, id string) (Project, error) {
	ps, err := s.st.Projects(ctx)
	if err != nil {
		return Project{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return Project{}, ErrNotFound
}

// userRoles returns the roles of user on project, implied roles included.
func (s *Service) userRoles(ctx context.Context, userID, projectID string) ([]Role, error) {
	as, err := s.st.Assignments(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.st.Roles(ctx)
	if err != nil {
		return nil, err
	}
	byID, byName := map[string]Role{}, map[string]Role{}
	for _, r := range all {
		byID[r.ID], byName[r.Name] = r, r
	}
	names := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if names[n] {
			return
		}
		names[n] = true
		for _, m := range implied[n] {
			add(m)
		}
	}
	for _, a := range as {
		if a.UserID == userID && a.ProjectID == projectID {
			if r, ok := byID[a.RoleID]; ok {
				add(r.Name)
			}
		}
	}
	var out []Role
	for n := range names {
		if r, ok := byName[n]; ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Service) info(ctx context.Context, t Token) (*TokenInfo, error) {
	user, err := s.userByID(ctx, t.UserID)
	if err != nil {
		return nil, unauthorized()
	}
	dom, err := s.domain(ctx, user.DomainID)
	if err != nil {
		return nil, err
	}
	info := &TokenInfo{Methods: t.Methods, User: user, Domain: dom, AuditID: t.AuditID, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}
	if t.ProjectID != "" {
		p, err := s.projectByID(ctx, t.ProjectID)
		if err != nil || !p.Enabled {
			return nil, unauthorized()
		}
		info.Project = &p
		if info.ProjectDm, err = s.domain(ctx, p.DomainID); err != nil {
			return nil, err
		}
		if info.Roles, err = s.userRoles(ctx, user.ID, p.ID); err != nil {
			return nil, err
		}
		if len(info.Roles) == 0 {
			return nil, unauthorized()
		}
	}
	return info, nil
}

// cacheFor is how long a validated token is trusted without a database
// read; revocation through this server evicts at once.
const cacheFor = 5 * time.Second

// Validate returns what a token secret stands for, or 401/404.
func (s *Service) Validate(ctx context.Context, secret string) (*TokenInfo, error) {
	if secret == "" {
		return nil, unauthorized()
	}
	h := hashToken(secret)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(c.until) && now.Before(c.info.ExpiresAt) {
		return c.info, nil
	}
	t, err := s.st.GetToken(ctx, h)
	if errors.Is(err, ErrNotFound) || (err == nil && (t.Revoked || !now.Before(t.ExpiresAt))) {
		return nil, unauthorized()
	}
	if err != nil {
		return nil, err
	}
	info, err := s.info(ctx, t)
	if err != nil {
		return nil, err
	}
	if !info.User.Enabled {
		return nil, unauthorized()
	}
	s.mu.Lock()
	if len(s.cache) > 100000 {
		s.cache = map[string]cachedToken{}
	}
	s.cache[h] = cachedToken{info: info, until: now.Add(cacheFor)}
	s.mu.Unlock()
	return info, nil
}

// Revoke ends a token.
func (s *Service) Revoke(ctx context.Context, secret string) error {
	h := hashToken(secret)
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
	// An unknown, expired or already revoked token is not found, as in Keystone.
	t, err := s.st.GetToken(ctx, h)
	if errors.Is(err, ErrNotFound) || (err == nil && (t.Revoked || !time.Now().Before(t.ExpiresAt))) {
		return notFound("token", "(redacted)")
	} else if err != nil {
		return err
	}
	if err := s.st.RevokeToken(ctx, h); errors.Is(err, ErrNotFound) {
		return notFound("token", "(redacted)")
	} else if err != nil {
		return err
	}
	return nil
}

// forget drops cached validations (after users, roles or assignments
// change, so that a removed role stops working at once on this server).
func (s *Service) forget() {
	s.mu.Lock()
	s.cache = map[string]cachedToken{}
	s.mu.Unlock()
}
