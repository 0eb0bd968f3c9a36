package identity

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Region is the catalog region of every endpoint.
const Region = "RegionOne"

// Handler serves the Keystone v3 API under /v3.
type Handler struct {
	svc *Service
	// PublicURL, when set, is the base of catalog URLs; otherwise the
	// request's own scheme and host are used (so a client reaching the
	// server as 127.0.0.1:PORT is sent back there).
	PublicURL string
	log       *slog.Logger
}

// NewHandler returns the /v3 handler.
func NewHandler(svc *Service, publicURL string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{svc: svc, PublicURL: strings.TrimRight(publicURL, "/"), log: log}
}

func (h *Handler) base(r *http.Request) string {
	if h.PublicURL != "" {
		return h.PublicURL
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error": {"code": 500, "title": "Internal Server Error", "message": "An unexpected error prevented the server from fulfilling your request."}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, ErrNotFound):
		e = &Error{404, "Not Found", "Could not find the requested resource."}
	case errors.Is(err, ErrConflict):
		e = conflict("Conflict occurred attempting to store the resource: it already exists or is still in use.")
	case errors.Is(err, store.ErrUnavailable):
		// The database is down or restarting: the client should retry,
		// as the Networking API's 503 says.
		h.log.Warn("identity: database unavailable", "path", r.URL.Path, "err", err)
		e = &Error{503, "Service Unavailable", "The service is temporarily unavailable; retry later."}
	default:
		h.log.Error("identity: internal error", "path", r.URL.Path, "err", err)
		e = &Error{500, "Internal Server Error", "An unexpected error prevented the server from fulfilling your request."}
	}
	if e.Code == 401 {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+h.base(r)+`/v3"`)
	}
	writeJSON(w, e.Code, map[string]any{"error": map[string]any{"code": e.Code, "title": e.Title, "message": e.Message}})
}

const maxBody = 64 << 10

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return badRequest("The request body is missing, too large or unreadable.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("Expecting to find valid JSON in the request body - the server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
	}
	return nil
}

// ServeHTTP routes /v3 requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("identity: panic", "path", r.URL.Path, "panic", v)
			h.fail(w, r, errors.New("panic"))
		}
	}()
	w.Header().Set("X-Openstack-Request-Id", "req-"+newUUID())
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v3"), "/")
	seg := []string{}
	if path != "" {
		seg = strings.Split(path, "/")
	}
	ctx := r.Context()
	if len(seg) == 0 {
		h.version(w, r)
		return
	}
	if seg[0] == "auth" {
		h.auth(w, r, seg[1:])
		return
	}
	caller, err := h.svc.Validate(ctx, r.Header.Get("X-Auth-Token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Users may read themselves and their own projects; everything else
	// is the admin's.
	self := len(seg) >= 2 && seg[0] == "users" && seg[1] == caller.User.ID && r.Method == http.MethodGet
	if !self && !slices.Contains(caller.RoleNames(), "admin") {
		h.fail(w, r, &Error{403, "Forbidden", "You are not authorized to perform the requested action: identity:" + strings.Join(seg[:1], "") + "."})
		return
	}
	var res any
	status := http.StatusOK
	switch {
	case seg[0] == "domains":
		res, status, err = h.domains(ctx, r, seg[1:])
	case seg[0] == "projects" && (len(seg) == 5 || len(seg) == 6) && seg[2] == "users" && seg[4] == "roles":
		res, status, err = h.grants(ctx, r, seg)
	case seg[0] == "projects":
		res, status, err = h.projects(ctx, r, seg[1:])
	case seg[0] == "users" && len(seg) == 3 && seg[2] == "projects":
		res, status, err = h.userProjects(ctx, r, seg[1])
	case seg[0] == "users":
		res, status, err = h.users(ctx, r, seg[1:])
	case seg[0] == "roles":
		res, status, err = h.roles(ctx, r, seg[1:])
	case seg[0] == "role_assignments" && len(seg) == 1 && r.Method == http.MethodGet:
		res, err = h.assignments(ctx, r)
	default:
		err = &Error{404, "Not Found", "The resource could not be found."}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, res)
}

func newUUID() string {
	id := newID()
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

func (h *Handler) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]string{"rel": "self", "href": h.base(r) + "/v3/"}},
		"media-types": []any{map[string]string{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}})
}

func (h *Handler) auth(w http.ResponseWriter, r *http.Request, seg []string) {
	ctx := r.Context()
	if len(seg) == 1 && seg[0] == "tokens" {
		switch r.Method {
		case http.MethodPost:
			var req AuthRequest
			if err := decodeBody(r, &req); err != nil {
				h.fail(w, r, err)
				return
			}
			secret, info, err := h.svc.Authenticate(ctx, req)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			w.Header().Set("X-Subject-Token", secret)
			writeJSON(w, http.StatusCreated, map[string]any{"token": h.tokenBody(r, info)})
			return
		case http.MethodGet, http.MethodHead, http.MethodDelete:
			if _, err := h.svc.Validate(ctx, r.Header.Get("X-Auth-Token")); err != nil {
				h.fail(w, r, err)
				return
			}
			subject := r.Header.Get("X-Subject-Token")
			if r.Method == http.MethodDelete {
				if err := h.svc.Revoke(ctx, subject); err != nil {
					h.fail(w, r, err)
					return
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			info, err := h.svc.Validate(ctx, subject)
			if err != nil {
				h.fail(w, r, notFound("token", "(redacted)"))
				return
			}
			w.Header().Set("X-Subject-Token", subject)
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusOK)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"token": h.tokenBody(r, info)})
			return
		}
	}
	info, err := h.svc.Validate(ctx, r.Header.Get("X-Auth-Token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case len(seg) == 1 && seg[0] == "catalog" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"catalog": h.catalog(r), "links": listLinks(r, h.base(r))})
	case len(seg) == 1 && seg[0] == "projects" && r.Method == http.MethodGet:
		res, _, err := h.userProjects(ctx, r, info.User.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	default:
		h.fail(w, r, &Error{404, "Not Found", "The resource could not be found."})
	}
}

func tokenTimeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (h *Handler) tokenBody(r *http.Request, info *TokenInfo) map[string]any {
	body := map[string]any{
		"methods": info.Methods,
		"user": map[string]any{"id": info.User.ID, "name": info.User.Name, "password_expires_at": nil,
			"domain": map[string]any{"id": info.Domain.ID, "name": info.Domain.Name}},
		"audit_ids":  []string{info.AuditID},
		"expires_at": tokenTimeString(info.ExpiresAt),
		"issued_at":  tokenTimeString(info.IssuedAt),
	}
	if info.Project != nil {
		roles := make([]any, len(info.Roles))
		for i, ro := range info.Roles {
			roles[i] = map[string]any{"id": ro.ID, "name": ro.Name}
		}
		body["project"] = map[string]any{"id": info.Project.ID, "name": info.Project.Name,
			"domain": map[string]any{"id": info.ProjectDm.ID, "name": info.ProjectDm.Name}}
		body["is_domain"] = false
		body["roles"] = roles
		body["catalog"] = h.catalog(r)
	}
	return body
}

// catalog lists the network and identity services, each on the public,
// internal and admin interfaces of RegionOne.
func (h *Handler) catalog(r *http.Request) []any {
	base := h.base(r)
	svc := func(id, typ, name, url string) map[string]any {
		var eps []any
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{"id": id + iface[:3], "interface": iface, "region": Region, "region_id": Region, "url": url})
		}
		return map[string]any{"id": id, "type": typ, "name": name, "endpoints": eps}
	}
	return []any{
		svc("b0a5c0de0000000000000000000000ne", "network", "neutron", base),
		svc("b0a5c0de0000000000000000000000id", "identity", "keystone", base+"/v3"),
	}
}

func listLinks(r *http.Request, base string) map[string]any {
	return map[string]any{"self": base + r.URL.RequestURI(), "previous": nil, "next": nil}
}

// Authenticator validates X-Auth-Token for the Networking API.
type Authenticator struct{ Svc *Service }

// Authenticate implements api.Authenticator.
func (a Authenticator) Authenticate(r *http.Request) (policy.Caller, error) {
	info, err := a.Svc.Validate(r.Context(), r.Header.Get("X-Auth-Token"))
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == 401 {
			return policy.Caller{}, apierr.New(401, "Unauthorized", "The request you have made requires authentication.")
		}
		return policy.Caller{}, err
	}
	if info.Project == nil {
		return policy.Caller{}, apierr.New(401, "Unauthorized", "The request you have made requires authentication: a project-scoped token is needed.")
	}
	return policy.Caller{ProjectID: info.Project.ID, UserID: info.User.ID, Roles: info.RoleNames()}, nil
}

func queryFilter(r *http.Request, key string) (string, bool) {
	q := r.URL.Query()
	_, ok := q[key]
	return q.Get(key), ok
}

func matchName(r *http.Request, name string) bool {
	want, ok := queryFilter(r, "name")
	return !ok || want == name
}

func selfLink(base, coll, id string) map[string]any {
	return map[string]any{"self": base + "/v3/" + coll + "/" + url.PathEscape(id)}
}

// Route serves /v3 from keystone and everything else from neutron: the one
// listener of `bulwark server --auth keystone`.
func Route(keystone, neutron http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v3" || strings.HasPrefix(r.URL.Path, "/v3/") {
			keystone.ServeHTTP(w, r)
			return
		}
		neutron.ServeHTTP(w, r)
	})
}
