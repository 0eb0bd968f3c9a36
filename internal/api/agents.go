package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/service"
)

// agents serves Neutron's /v2.0/agents[/{id}].
func (s *Server) agents(w http.ResponseWriter, r *http.Request, c policy.Caller, seg []string) {
	ctx := r.Context()
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		q := r.URL.Query()
		p, err := listParams(q)
		if err != nil {
			s.writeError(w, err)
			return
		}
		res, err := s.svc.ListAgents(ctx, c, p)
		if err != nil {
			s.writeError(w, err)
			return
		}
		for i, d := range res.Docs {
			res.Docs[i] = shape(d, "", c, q["fields"])
		}
		var links []map[string]string
		if p.Limit > 0 || p.Marker != "" {
			links = pageLinks(r, res, p)
		}
		writeList(w, http.StatusOK, "agents", res.Docs, links)
	case len(seg) == 0 && r.Method == http.MethodPost:
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		items, _, err := model.ParseBody(body, "agent", "agents", true)
		if err == nil {
			err = s.svc.CreateAgents(ctx, c, items)
		}
		s.writeError(w, err)
	case len(seg) == 1 && r.Method == http.MethodGet:
		a, err := s.svc.GetAgent(ctx, c, seg[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		s.writeAgent(w, a, r.URL.Query()["fields"], c)
	case len(seg) == 1 && r.Method == http.MethodPut:
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		items, _, err := model.ParseBody(body, "agent", "agents", false)
		if err != nil {
			s.writeError(w, err)
			return
		}
		a, err := s.svc.UpdateAgent(ctx, c, seg[0], items[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		s.writeAgent(w, a, nil, c)
	case len(seg) == 1 && r.Method == http.MethodDelete:
		if err := s.svc.DeleteAgent(ctx, c, seg[0]); err != nil {
			s.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(seg) <= 1:
		methodNotAllowed(w)
	default:
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
	}
}

func (s *Server) writeAgent(w http.ResponseWriter, a *model.Agent, fields []string, c policy.Caller) {
	doc, err := json.Marshal(a)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeOne(w, http.StatusOK, "agent", shape(doc, "", c, fields))
}

// bulwark serves the agent channel under /v2.0/bulwark:
//
//	POST /v2.0/bulwark/agents/heartbeat
//	GET  /v2.0/bulwark/hosts/{host}/state
//	PUT  /v2.0/bulwark/hosts/{host}/ports/{id}/status
//	GET  /v2.0/bulwark/watch?host=H&since=SEQ[&timeout=SECONDS]
func (s *Server) bulwark(w http.ResponseWriter, r *http.Request, c policy.Caller, seg []string) {
	ctx := r.Context()
	method := func(want string) bool {
		if r.Method != want {
			methodNotAllowed(w)
			return false
		}
		return true
	}
	match := func(want ...string) bool {
		if len(seg) != len(want) {
			return false
		}
		for i, x := range want {
			if x != "*" && seg[i] != x {
				return false
			}
		}
		return true
	}
	switch {
	case match("agents", "heartbeat"):
		if !method(http.MethodPost) {
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		items, _, err := model.ParseBody(body, "agent", "agents", false)
		if err != nil {
			s.writeError(w, err)
			return
		}
		a, status, err := s.svc.Heartbeat(ctx, c, items[0])
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"agent": a, "agent_status": status})
	case match("hosts", "*", "state"):
		if !method(http.MethodGet) {
			return
		}
		st, err := s.svc.GetHostState(ctx, c, unescape(seg[1]))
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	case match("hosts", "*", "ports", "*", "status"):
		if !method(http.MethodPut) {
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		p, err := s.svc.SetPortStatus(ctx, c, unescape(seg[1]), seg[3], body)
		if err != nil {
			s.writeError(w, err)
			return
		}
		doc, err := json.Marshal(p)
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeOne(w, http.StatusOK, "port", doc)
	case match("watch"):
		if !method(http.MethodGet) {
			return
		}
		s.watch(w, r, c)
	default:
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
	}
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// DefaultWatchTimeout is a long poll's length when the request names none.
const DefaultWatchTimeout = 25 * time.Second

func (s *Server) watch(w http.ResponseWriter, r *http.Request, c policy.Caller) {
	q := r.URL.Query()
	for k := range q {
		if k != "host" && k != "since" && k != "timeout" {
			s.writeError(w, apierr.BadRequest("[%s] is invalid attribute for filtering", k))
			return
		}
	}
	sinceText := q.Get("since")
	if !q.Has("since") {
		s.writeError(w, apierr.BadRequest("Failed to parse request. Required query parameter 'since' not specified"))
		return
	}
	since, err := strconv.ParseInt(sinceText, 10, 64)
	if err != nil || since < 0 {
		s.writeError(w, apierr.BadRequest("Invalid since '%s': a change-log position is an integer 0 or greater", sinceText))
		return
	}
	timeout := DefaultWatchTimeout
	if t := q.Get("timeout"); q.Has("timeout") {
		secs, err := strconv.ParseFloat(t, 64)
		if err != nil || secs < 0 || secs != secs {
			s.writeError(w, apierr.BadRequest("Invalid timeout '%s': seconds, 0 to %d", t, int(service.MaxWatchTimeout/time.Second)))
			return
		}
		timeout = time.Duration(min(secs, service.MaxWatchTimeout.Seconds()) * float64(time.Second))
	}
	res, err := s.svc.Watch(r.Context(), c, q.Get("host"), since, timeout)
	if err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client went away; nobody reads an answer
		}
		s.writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if res.Resync {
		writeJSON(w, http.StatusOK, map[string]any{"resync": true, "revision": res.Revision})
		return
	}
	body := map[string]any{"revision": res.Revision, "changes": res.Changes}
	if res.Documents != nil {
		body["documents"] = res.Documents
	}
	writeJSON(w, http.StatusOK, body)
}
