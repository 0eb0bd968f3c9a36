// Package service implements the Neutron resource operations: it validates
// (through model), decides (through ipam), checks ownership (through
// policy) and runs each request as one store transaction. It knows nothing
// about HTTP; the api package turns its results and *apierr.Error values
// into responses.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Config holds the service's tunables.
type Config struct {
	// MaxAddressPairs bounds allowed_address_pairs per port (Neutron: 10).
	MaxAddressPairs int
	// DefaultQuotas per resource; -1 is unlimited.
	DefaultQuotas map[string]int
	// AgentDownTime is how long after its last heartbeat an agent still
	// counts as alive (Neutron's agent_down_time: 75 s).
	AgentDownTime time.Duration
	// Clock is the time agents' heartbeats are judged by (nil: time.Now).
	Clock func() time.Time
}

// DefaultConfig is Neutron's defaults.
func DefaultConfig() Config {
	return Config{
		MaxAddressPairs: 10,
		DefaultQuotas: map[string]int{
			"network": 100, "subnet": 100, "port": 500,
			"security_group": 10, "security_group_rule": 100,
		},
		AgentDownTime: DefaultAgentDownTime,
	}
}

// DefaultAgentDownTime is Neutron's agent_down_time default.
const DefaultAgentDownTime = 75 * time.Second

// Service is the resource API over a store.
type Service struct {
	st  store.Store
	cfg Config
	// feed is the change-log tail shared by this server's watchers.
	feed *feed
	// watchCache holds the hosts' interests and recent documents for
	// watch answers (watchdocs.go).
	watchCache watchCache
}

// New returns a Service.
func New(st store.Store, cfg Config) *Service {
	if cfg.DefaultQuotas == nil {
		cfg.DefaultQuotas = DefaultConfig().DefaultQuotas
	}
	if cfg.AgentDownTime <= 0 {
		cfg.AgentDownTime = DefaultAgentDownTime
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{st: st, cfg: cfg, feed: &feed{st: st}}
}

// Store exposes the underlying store (for the change feed and tests).
func (s *Service) Store() store.Store { return s.st }

// IfMatch carries an If-Match: revision_number=N constraint (nil = none).
type IfMatch *int64

func checkRevision(want IfMatch, current int64) error {
	if want != nil && *want != current {
		return apierr.New(412, "RevisionNumberConstraintFailed",
			"Constrained to %d, but current revision is %d", *want, current)
	}
	return nil
}

func decode[T any](doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("service: corrupt document: %w", err)
	}
	return v, nil
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("service: encode %T: %v", v, err)) // model types always encode
	}
	return b
}

// get loads one row and decodes it, mapping absence to notFound.
func get[T any](ctx context.Context, tx store.Tx, t store.Table, id string, notFound func() error) (*T, store.Row, error) {
	row, err := tx.Get(ctx, t, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, row, notFound()
	}
	if err != nil {
		return nil, row, err
	}
	v, err := decode[T](row.Doc)
	return v, row, err
}

func callerProject(c policy.Caller, fromBody string) (string, error) {
	if fromBody == "" {
		return c.ProjectID, nil
	}
	if err := c.CheckBodyProject(fromBody); err != nil {
		return "", err
	}
	return fromBody, nil
}

// checkQuota fails with OverQuota when adding n more of resource would
// exceed the project's limit.
func (s *Service) checkQuota(ctx context.Context, tx store.Tx, project, resource string, t store.Table, n int) error {
	limits, err := tx.Quotas(ctx, project)
	if err != nil {
		return err
	}
	limit, ok := limits[resource]
	if !ok {
		limit = s.cfg.DefaultQuotas[resource]
	}
	if limit < 0 {
		return nil
	}
	used, err := tx.CountByProject(ctx, t, project)
	if err != nil {
		return err
	}
	if used+n > limit {
		return apierr.Conflict("OverQuota", "Quota exceeded for resources: ['%s'].", resource)
	}
	return nil
}

func notFound(typ, format string) func(id string) func() error {
	return func(id string) func() error {
		return func() error { return apierr.NotFound(typ, format, id) }
	}
}

var (
	networkNotFound   = notFound("NetworkNotFound", "Network %s could not be found.")
	subnetNotFound    = notFound("SubnetNotFound", "Subnet %s could not be found.")
	portNotFound      = notFound("PortNotFound", "Port %s could not be found.")
	groupNotFound     = notFound("SecurityGroupNotFound", "Security group %s does not exist")
	ruleNotFound      = notFound("SecurityGroupRuleNotFound", "Security group rule %s does not exist")
	addrGroupNotFound = notFound("AddressGroupNotFound", "Address group %s could not be found.")
)

// NotFoundFor returns the 404 a GET of an unknown id of table gets.
func NotFoundFor(t store.Table, id string) error {
	switch t {
	case store.Networks:
		return networkNotFound(id)()
	case store.Subnets:
		return subnetNotFound(id)()
	case store.Ports:
		return portNotFound(id)()
	case store.SecurityGroups:
		return groupNotFound(id)()
	case store.Rules:
		return ruleNotFound(id)()
	case store.AddressGroups:
		return addrGroupNotFound(id)()
	}
	return apierr.NotFound("HTTPNotFound", "The resource could not be found.")
}

// GetDoc returns the stored document of one visible resource without
// decoding it: the hot path of GET /v2.0/{collection}/{id}. Security
// groups (which need their rules attached) go through GetSecurityGroup.
func (s *Service) GetDoc(ctx context.Context, c policy.Caller, t store.Table, id string) (json.RawMessage, error) {
	doc, owner, err := s.st.GetDoc(ctx, t, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, NotFoundFor(t, id)
	}
	if err != nil {
		return nil, err
	}
	visible := c.CanSee(owner, false)
	switch t {
	case store.Networks:
		var n struct {
			Shared   bool
			External bool `json:"router:external"`
		}
		visible = json.Unmarshal(doc, &n) == nil && c.CanSeeNetwork(owner, n.Shared, n.External)
	case store.Subnets:
		if !c.CanSeeSubnet(owner, false) {
			_, err := s.GetSubnet(ctx, c, id)
			visible = err == nil
		}
	}
	if visible {
		return doc, nil
	}
	return nil, NotFoundFor(t, id)
}
