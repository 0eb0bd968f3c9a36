package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
)

// AgentTimeFormat is how Neutron renders an agent's timestamps
// (created_at, started_at, heartbeat_timestamp): UTC, a space, no zone.
// Other resources use TimeFormat.
const AgentTimeFormat = "2006-01-02 15:04:05"

// Bulwark's agent, as it appears in GET /v2.0/agents.
const (
	AgentBinary = "bulwark-agent"
	AgentType   = "Bulwark agent"
	// AgentTopic is what Neutron shows for agents that use no AMQP topic.
	AgentTopic = "N/A"
)

// AgentTypes maps each binary that may report itself to its agent_type.
var AgentTypes = map[string]string{AgentBinary: AgentType}

// Agent is a Neutron agent (the agent extension), with the attributes the
// availability_zone and agent-resources-synced extensions add (always
// null here).
type Agent struct {
	ID                 string          `json:"id"`
	AgentType          string          `json:"agent_type"`
	Binary             string          `json:"binary"`
	Topic              string          `json:"topic"`
	Host               string          `json:"host"`
	AdminStateUp       bool            `json:"admin_state_up"`
	CreatedAt          string          `json:"created_at"`
	StartedAt          string          `json:"started_at"`
	HeartbeatTimestamp string          `json:"heartbeat_timestamp"`
	Alive              bool            `json:"alive"`
	Configurations     json.RawMessage `json:"configurations"`
	Description        *string         `json:"description"`
	AvailabilityZone   *string         `json:"availability_zone"`
	ResourcesSynced    *bool           `json:"resources_synced"`
}

// agentAttrs are the attributes of an agent; only admin_state_up and
// description may be updated, none may be sent on create.
var agentAttrs = setOf("id", "agent_type", "binary", "topic", "host", "admin_state_up", "created_at",
	"started_at", "heartbeat_timestamp", "alive", "configurations", "description",
	"availability_zone", "resources_synced")

var agentUpdatable = setOf("admin_state_up", "description")

// AgentUpdate is a validated PUT /v2.0/agents/{id} body.
type AgentUpdate struct {
	AdminStateUp   *bool
	Description    *string
	SetDescription bool
}

// ParseAgentUpdate validates an agent update as Neutron's controller does.
func ParseAgentUpdate(a Attrs) (*AgentUpdate, error) {
	if err := checkAttrs(a, false, setOf(), agentUpdatable, agentAttrs); err != nil {
		return nil, err
	}
	u := &AgentUpdate{}
	if b, ok, err := a.Bool("admin_state_up"); err != nil {
		return nil, err
	} else if ok {
		u.AdminStateUp = &b
	}
	if d, ok, err := a.NullableString("description", 255); err != nil {
		return nil, err
	} else if ok {
		u.Description, u.SetDescription = d, true
	}
	return u, nil
}

// CheckAgentCreate rejects a POST /v2.0/agents body the way Neutron's
// controller does before it asks the plugin (no attribute may be sent).
func CheckAgentCreate(a Attrs) error {
	return checkAttrs(a, true, setOf(), setOf(), agentAttrs)
}

// Heartbeat is a validated agent heartbeat: who reports (binary, host),
// its configurations (a JSON object), and when it started (zero: keep the
// stored value, or now for a new agent).
type Heartbeat struct {
	Binary         string
	Host           string
	Configurations json.RawMessage
	StartedAt      time.Time
}

var heartbeatAttrs = setOf("binary", "host", "configurations", "started_at")

// ParseHeartbeat validates the body of POST /v2.0/bulwark/agents/heartbeat:
// {"agent": {"host": H, "binary": "bulwark-agent", "configurations": {...},
// "started_at": T}}; binary defaults to bulwark-agent, configurations to
// {}, and started_at (RFC 3339 or Neutron's "YYYY-MM-DD hh:mm:ss", UTC)
// is optional.
func ParseHeartbeat(a Attrs) (*Heartbeat, error) {
	if err := a.CheckKnown(heartbeatAttrs); err != nil {
		return nil, err
	}
	h := &Heartbeat{Binary: AgentBinary, Configurations: json.RawMessage(`{}`)}
	host, ok, err := a.String("host", 255)
	if err != nil {
		return nil, err
	}
	if !ok || strings.TrimSpace(host) == "" {
		return nil, apierr.BadRequest("Failed to parse request. Required attribute 'host' not specified")
	}
	h.Host = host
	if b, ok, err := a.String("binary", 255); err != nil {
		return nil, err
	} else if ok {
		if _, known := AgentTypes[b]; !known {
			return nil, apierr.InvalidAttr("binary", fmt.Sprintf("'%s' is not a known agent binary", b))
		}
		h.Binary = b
	}
	if raw, ok := a["configurations"]; ok && !isNull(raw) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, apierr.InvalidAttr("configurations", fmt.Sprintf("'%s' is not a dictionary", pyRepr(raw)))
		}
		compact, _ := json.Marshal(m)
		h.Configurations = compact
	}
	if s, ok, err := a.String("started_at", 64); err != nil {
		return nil, err
	} else if ok {
		t, err := parseAgentTime(s)
		if err != nil {
			return nil, apierr.InvalidAttr("started_at", fmt.Sprintf("'%s' is not a valid timestamp", s))
		}
		h.StartedAt = t
	}
	return h, nil
}

func parseAgentTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, AgentTimeFormat, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// PortStatuses are the values an agent may set a port's status to.
var PortStatuses = []string{"ACTIVE", "BUILD", "DOWN", "ERROR"}

// ParsePortStatus validates {"status": S} (PUT
// /v2.0/bulwark/hosts/{host}/ports/{id}/status).
func ParsePortStatus(body []byte) (string, error) {
	var a Attrs
	if err := decodeStrict(body, &a); err != nil || a == nil {
		return "", apierr.BadRequest("Body contains invalid data")
	}
	if err := a.CheckKnown(setOf("status")); err != nil {
		return "", err
	}
	raw, ok := a["status"]
	if !ok {
		return "", apierr.BadRequest("Failed to parse request. Required attribute 'status' not specified")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, v := range PortStatuses {
			if s == v {
				return s, nil
			}
		}
	}
	return "", apierr.InvalidAttr("status", fmt.Sprintf("'%s' is not in ['ACTIVE', 'BUILD', 'DOWN', 'ERROR']", pyRepr(raw)))
}

// Network-owned device owners whose ports an agent needs to know about on
// the networks of its host: DHCP servers and router interfaces (Neutron's
// ROUTER_INTERFACE_OWNERS).
var NetworkServiceOwners = []string{
	"network:dhcp",
	"network:router_interface",
	"network:router_interface_distributed",
	"network:ha_router_replicated_interface",
}

// IsNetworkServicePort reports whether a port with this device_owner is a
// DHCP server or router interface (see NetworkServiceOwners).
func IsNetworkServicePort(deviceOwner string) bool {
	for _, o := range NetworkServiceOwners {
		if deviceOwner == o {
			return true
		}
	}
	return false
}
