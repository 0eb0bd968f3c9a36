// Package store is Bulwark's persistence boundary. The service layer sees
// only the Store and Tx interfaces below: resource rows (indexed columns
// plus the rendered document), the relations that need database-enforced
// uniqueness (IP allocations, MACs, rule fingerprints), quotas and the
// change log. Every write transaction appends to the change log and is
// acknowledged only after it commits.
package store

import (
	"context"
	"errors"
)

var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: a unique constraint rejected the write.
	ErrDuplicate = errors.New("store: duplicate")
	// ErrUnavailable: the database could not be reached (down, restarting,
	// connection lost). Nothing was committed unless the connection was
	// lost during the commit itself; the client may retry.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Table names a resource table.
type Table string

const (
	Networks       Table = "networks"
	Subnets        Table = "subnets"
	Ports          Table = "ports"
	SecurityGroups Table = "security_groups"
	Rules          Table = "security_group_rules"
	AddressGroups  Table = "address_groups"
)

// Columns lists each table's indexed columns (besides id, project_id,
// revision and doc), the only ones a Query may filter on.
var Columns = map[Table][]string{
	Networks:       {"name", "shared"},
	Subnets:        {"name", "network_id"},
	Ports:          {"name", "network_id", "mac_address", "device_id", "device_owner", "host_id"},
	SecurityGroups: {"name"},
	Rules:          {"security_group_id", "remote_group_id", "remote_address_group_id", "fingerprint"},
	AddressGroups:  {"name"},
}

// Resource is the change-log name of each table's rows.
var Resource = map[Table]string{
	Networks: "network", Subnets: "subnet", Ports: "port",
	SecurityGroups: "security_group", Rules: "security_group_rule", AddressGroups: "address_group",
}

// Row is one resource as stored.
type Row struct {
	ID        string
	ProjectID string
	Revision  int64
	Cols      map[string]any // values for Columns[table]
	Doc       []byte         // the resource's JSON document
}

// Query selects rows by equality on indexed columns; several values for
// one column match any of them. Rows come back ordered by id.
type Query struct {
	Eq map[string][]string
	// AfterID, when set, returns only rows with id > AfterID.
	AfterID string
	// Limit, when > 0, bounds the number of rows.
	Limit int
	// DocsOnly fills only Row.Doc: the cheapest read for a list whose
	// documents go to the client as they are.
	DocsOnly bool
}

// Change is one entry of the change log.
type Change struct {
	Seq        int64
	Resource   string
	ResourceID string
	Revision   int64
	Op         string // "create", "update", "delete"
	ProjectID  string
	ChangedAt  string
}

// Allocation is one fixed IP held by a port.
type Allocation struct {
	SubnetID, IPAddress, NetworkID, PortID string
}

// Store opens transactions.
type Store interface {
	// Read runs fn in a read-only transaction (a consistent snapshot).
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction and commits it durably
	// before returning; an error from fn rolls everything back.
	Write(ctx context.Context, fn func(Tx) error) error
	// GetDoc is a fast single-row read outside any transaction.
	GetDoc(ctx context.Context, t Table, id string) (doc []byte, projectID string, err error)
	// Changes returns change-log entries after seq, oldest first.
	Changes(ctx context.Context, afterSeq int64, limit int) ([]Change, error)
	// Notifier is signalled after every commit that appended changes.
	Notifier() *Notifier
	// CompactChanges drops the change-log entries up to and including
	// seq; a watcher whose position is older must resync.
	CompactChanges(ctx context.Context, throughSeq int64) error
	Close() error
}

// Tx is what a transaction can do.
type Tx interface {
	Get(ctx context.Context, t Table, id string) (Row, error)
	List(ctx context.Context, t Table, q Query) ([]Row, error)
	Count(ctx context.Context, t Table, col, value string) (int, error)
	// Insert, Update and Delete also append to the change log.
	Insert(ctx context.Context, t Table, r Row) error
	Update(ctx context.Context, t Table, r Row) error
	Delete(ctx context.Context, t Table, id, projectID string, revision int64) error

	// NextCounter returns the next value of a named sequence (from 1).
	NextCounter(ctx context.Context, name string) (int64, error)

	// IP allocations: AllocateIP fails with ErrDuplicate when taken.
	AllocateIP(ctx context.Context, a Allocation) error
	IPAllocated(ctx context.Context, subnetID, ip string) (bool, error)
	ReleaseIP(ctx context.Context, subnetID, ip string) error
	ReleasePortIPs(ctx context.Context, portID string) error
	SubnetAllocations(ctx context.Context, subnetID string) ([]Allocation, error)

	// Port <-> security group membership, for "in use" checks and agents.
	SetPortGroups(ctx context.Context, portID string, groups []string) error
	PortsUsingGroup(ctx context.Context, groupID string) (int, error)

	// Per-project default security group.
	DefaultGroup(ctx context.Context, projectID string) (string, error)
	SetDefaultGroup(ctx context.Context, projectID, groupID string) error
	DeleteDefaultGroup(ctx context.Context, projectID string) error
	IsDefaultGroup(ctx context.Context, groupID string) (bool, error)

	// Quotas: explicit per-project limits (absent = the default).
	Quotas(ctx context.Context, projectID string) (map[string]int, error)
	SetQuota(ctx context.Context, projectID, resource string, limit int) error
	DeleteQuotas(ctx context.Context, projectID string) error
	QuotaProjects(ctx context.Context) ([]string, error)
	CountByProject(ctx context.Context, t Table, projectID string) (int, error)

	// The change log as the watch feed reads it, in the transaction's
	// snapshot. ChangeBounds returns the last compacted sequence number
	// (entries up to it are gone) and the newest one (0 for an empty log).
	ChangeBounds(ctx context.Context) (compacted, newest int64, err error)
	// ChangesAfter returns up to limit entries after seq with their keys.
	ChangesAfter(ctx context.Context, afterSeq int64, limit int) ([]WatchChange, error)
	// HostRefs reads what the agent of host depends on now.
	HostRefs(ctx context.Context, host string) (HostRefs, error)
	// GroupMembers returns, for each group, the ids of its ports (any host).
	GroupMembers(ctx context.Context, groups []string) (map[string][]string, error)

	// Agents (not resources: their writes are not in the change log).
	ListAgents(ctx context.Context) ([]AgentRow, error)
	GetAgent(ctx context.Context, id string) (AgentRow, error)
	FindAgent(ctx context.Context, binary, host string) (AgentRow, error)
	// InsertAgent fails with ErrDuplicate when (binary, host) is taken.
	InsertAgent(ctx context.Context, a AgentRow) error
	UpdateAgent(ctx context.Context, a AgentRow) error
	DeleteAgent(ctx context.Context, id string) error
}
