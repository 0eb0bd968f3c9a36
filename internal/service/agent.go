package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Agents follow Neutron's agent extension: they register themselves (here
// through a heartbeat, POST /v2.0/bulwark/agents/heartbeat, instead of
// Neutron's report_state RPC), and admins list, show, update
// (admin_state_up, description) and delete them. Everything is admin-only
// (get_agent, update_agent, delete_agent are "admin" in Neutron's
// defaults): a non-admin lists no agents, and a GET, PUT or DELETE of an
// existing agent is 404 "The resource could not be found." (Neutron's
// controller hides what get_agent refuses), while an unknown id is
// AgentNotFound as for an admin.

var agentAttributes = jsonFields(model.Agent{})

func agentNotFound(id string) error {
	return apierr.NotFound("AgentNotFound", "Agent %s could not be found.", id)
}

var errHidden = apierr.NotFound("HTTPNotFound", "The resource could not be found.")

// agentDoc renders a stored agent; alive is judged now.
func (s *Service) agentDoc(a store.AgentRow) *model.Agent {
	conf := json.RawMessage(a.Configurations)
	if len(conf) == 0 {
		conf = json.RawMessage(`{}`)
	}
	return &model.Agent{ID: a.ID, AgentType: a.AgentType, Binary: a.Binary, Topic: a.Topic, Host: a.Host,
		AdminStateUp: a.AdminStateUp, CreatedAt: a.CreatedAt, StartedAt: a.StartedAt,
		HeartbeatTimestamp: a.HeartbeatAt, Alive: s.alive(a.HeartbeatAt), Configurations: conf,
		Description: a.Description}
}

// alive is Neutron's "not is_agent_down": the last heartbeat is at most
// agent_down_time old.
func (s *Service) alive(heartbeat string) bool {
	t, err := time.Parse(model.AgentTimeFormat, heartbeat)
	if err != nil {
		return false
	}
	return s.cfg.Clock().Sub(t) <= s.cfg.AgentDownTime
}

func (s *Service) now() string { return s.cfg.Clock().UTC().Format(model.AgentTimeFormat) }

// ListAgents is GET /v2.0/agents: filters on any attribute (alive and
// admin_state_up take booleans), sorting and paging as for the other
// collections. A non-admin sees none.
func (s *Service) ListAgents(ctx context.Context, c policy.Caller, p ListParams) (ListResult, error) {
	var res ListResult
	if err := validateParams(agentAttributes, p); err != nil {
		return res, err
	}
	if !c.Allowed("get_agent", policy.Target{}) {
		return res, nil
	}
	var rows []store.AgentRow
	if err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListAgents(ctx)
		return err
	}); err != nil {
		return res, err
	}
	var marker map[string]any
	items := make([]listItem, 0, len(rows))
	for _, r := range rows {
		doc := encode(s.agentDoc(r))
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			return res, err
		}
		if r.ID == p.Marker {
			marker = m
		}
		if matches(m, p.Filters) {
			items = append(items, listItem{id: r.ID, doc: doc, m: m})
		}
	}
	if p.Marker != "" && marker == nil {
		return res, agentNotFound(p.Marker)
	}
	res.Docs, res.HasMore = sortPage(items, p, marker)
	return res, nil
}

// visibleAgent loads an agent (AgentNotFound) that the caller may apply
// action to; a caller refused get_agent gets Neutron's anonymous 404, one
// refused only action its 403.
func (s *Service) visibleAgent(ctx context.Context, tx store.Tx, c policy.Caller, id, action string) (store.AgentRow, error) {
	a, err := tx.GetAgent(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, agentNotFound(id)
	}
	if err != nil {
		return a, err
	}
	if !c.Allowed("get_agent", policy.Target{}) {
		return a, errHidden
	}
	return a, c.Authorize(action, policy.Target{})
}

// GetAgent is GET /v2.0/agents/{id}.
func (s *Service) GetAgent(ctx context.Context, c policy.Caller, id string) (*model.Agent, error) {
	var out *model.Agent
	err := s.st.Read(ctx, func(tx store.Tx) error {
		a, err := s.visibleAgent(ctx, tx, c, id, "get_agent")
		if err == nil {
			out = s.agentDoc(a)
		}
		return err
	})
	return out, err
}

// UpdateAgent is PUT /v2.0/agents/{id}: admin_state_up and description.
func (s *Service) UpdateAgent(ctx context.Context, c policy.Caller, id string, a model.Attrs) (*model.Agent, error) {
	in, err := model.ParseAgentUpdate(a)
	if err != nil {
		return nil, err
	}
	var out *model.Agent
	err = s.st.Write(ctx, func(tx store.Tx) error {
		row, err := s.visibleAgent(ctx, tx, c, id, "update_agent")
		if err != nil {
			return err
		}
		setIf(&row.AdminStateUp, in.AdminStateUp)
		if in.SetDescription {
			row.Description = in.Description
		}
		if err := tx.UpdateAgent(ctx, row); err != nil {
			return err
		}
		out = s.agentDoc(row)
		return nil
	})
	return out, err
}

// DeleteAgent is DELETE /v2.0/agents/{id}. A running agent registers
// again (with a new id) at its next heartbeat.
func (s *Service) DeleteAgent(ctx context.Context, c policy.Caller, id string) error {
	return s.st.Write(ctx, func(tx store.Tx) error {
		if _, err := s.visibleAgent(ctx, tx, c, id, "delete_agent"); err != nil {
			return err
		}
		return tx.DeleteAgent(ctx, id)
	})
}

// CreateAgents answers POST /v2.0/agents as Neutron does: no attribute
// may be sent (400), create_agent falls to the default rule (403 for
// non-admins), and the plugin refuses agent creation through the API.
func (s *Service) CreateAgents(ctx context.Context, c policy.Caller, items []model.Attrs) error {
	for _, a := range items {
		if err := model.CheckAgentCreate(a); err != nil {
			return err
		}
	}
	if err := c.Authorize("create_agent", policy.Target{}); err != nil {
		return err
	}
	return apierr.New(400, "BadRequest", "Bad agents request: Agent creation using API is not supported..")
}

// Agent status after a heartbeat, as Neutron's create_or_update_agent
// reports it to the agent: new (first report), alive, or revived (it had
// been down, so its view may be stale: the agent should resync).
const (
	AgentNew     = "new"
	AgentAlive   = "alive"
	AgentRevived = "revived"
)

// Heartbeat registers or refreshes the reporting agent, identified by
// (binary, host): configurations are replaced, heartbeat_timestamp is now,
// started_at is what the agent says (a new agent: now if it says
// nothing). New agents start with admin_state_up true (Neutron's
// enable_new_agents). It returns the agent and its status.
func (s *Service) Heartbeat(ctx context.Context, c policy.Caller, a model.Attrs) (*model.Agent, string, error) {
	if err := c.Authorize("bulwark_report_state", policy.Target{}); err != nil {
		return nil, "", err
	}
	hb, err := model.ParseHeartbeat(a)
	if err != nil {
		return nil, "", err
	}
	var out *model.Agent
	var status string
	for attempt := 0; ; attempt++ {
		err = s.st.Write(ctx, func(tx store.Tx) error {
			now := s.now()
			row, err := tx.FindAgent(ctx, hb.Binary, hb.Host)
			switch {
			case errors.Is(err, store.ErrNotFound):
				status = AgentNew
				row = store.AgentRow{ID: model.NewID(), AgentType: model.AgentTypes[hb.Binary], Binary: hb.Binary,
					Topic: model.AgentTopic, Host: hb.Host, AdminStateUp: true, CreatedAt: now, StartedAt: now}
				if !hb.StartedAt.IsZero() {
					row.StartedAt = hb.StartedAt.Format(model.AgentTimeFormat)
				}
				row.HeartbeatAt, row.Configurations = now, hb.Configurations
				err = tx.InsertAgent(ctx, row)
			case err == nil:
				status = AgentAlive
				if !s.alive(row.HeartbeatAt) {
					status = AgentRevived
				}
				if !hb.StartedAt.IsZero() {
					row.StartedAt = hb.StartedAt.Format(model.AgentTimeFormat)
				}
				row.HeartbeatAt, row.Configurations = now, hb.Configurations
				err = tx.UpdateAgent(ctx, row)
			}
			if err == nil {
				out = s.agentDoc(row)
			}
			return err
		})
		// Two first heartbeats of one agent raced (several servers): the
		// loser finds the winner's row on its second try.
		if errors.Is(err, store.ErrDuplicate) && attempt == 0 {
			continue
		}
		return out, status, err
	}
}
