// Package api serves the Neutron v2.0 HTTP API over the service layer:
// routing (with and without the .json suffix), the auth middleware, query
// conventions (filters, fields, sorting, pagination, If-Match), request
// ids, body limits, and NeutronError bodies. It holds no business rules.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/service"
	"github.com/bulwark-net/bulwark/internal/store"
	"github.com/google/uuid"
)

// MaxBodyBytes caps request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Authenticator turns a request into a caller (or an *apierr.Error).
type Authenticator interface {
	Authenticate(r *http.Request) (policy.Caller, error)
}

// NoAuth makes every request an admin of the project named by the
// X-Project-Id header, or of DefaultProject.
type NoAuth struct{ DefaultProject string }

// Authenticate implements Authenticator.
func (n NoAuth) Authenticate(r *http.Request) (policy.Caller, error) {
	p := r.Header.Get("X-Project-Id")
	if p == "" {
		p = r.Header.Get("X-Tenant-Id")
	}
	if p == "" {
		p = n.DefaultProject
	}
	return policy.Caller{ProjectID: p, UserID: "noauth", Roles: []string{"admin", "member", "reader"}}, nil
}

// collection describes one REST collection.
type collection struct {
	table    store.Table
	singular string // JSON key of one object
	plural   string // JSON key of a list
}

var collections = map[string]collection{
	"networks":             {store.Networks, "network", "networks"},
	"subnets":              {store.Subnets, "subnet", "subnets"},
	"ports":                {store.Ports, "port", "ports"},
	"security-groups":      {store.SecurityGroups, "security_group", "security_groups"},
	"security-group-rules": {store.Rules, "security_group_rule", "security_group_rules"},
	"address-groups":       {store.AddressGroups, "address_group", "address_groups"},
}

// Server is the HTTP handler.
type Server struct {
	svc  *service.Service
	auth Authenticator
	log  *slog.Logger
}

// New returns the API handler.
func New(svc *service.Service, auth Authenticator, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, auth: auth, log: log}
}

// ServeHTTP routes one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, fmt.Errorf("panic: %v", v))
		}
	}()
	path := r.URL.Path
	if path == "/" || path == "" {
		s.versions(w, r)
		return
	}
	w.Header().Set("X-Openstack-Request-Id", "req-"+uuid.NewString())
	rest, ok := strings.CutPrefix(path, "/v2.0")
	if !ok || (rest != "" && rest[0] != '/') {
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
		return
	}
	caller, err := s.auth.Authenticate(r)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Status == http.StatusUnauthorized {
			// Rejected before the API proper, as keystonemiddleware does
			// in front of Neutron: its body and its challenge header.
			w.Header().Set("WWW-Authenticate", `Keystone uri="`+baseURL(r)+`/v3"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
				"code": 401, "title": "Unauthorized", "message": e.Message}})
			return
		}
		s.writeError(w, err)
		return
	}
	ctx := policy.WithCaller(r.Context(), caller)
	r = r.WithContext(ctx)
	rest = strings.TrimSuffix(strings.Trim(rest, "/"), ".json")
	if rest == "" {
		s.resources(w, r)
		return
	}
	seg := strings.Split(rest, "/")
	switch seg[0] {
	case "extensions":
		s.extensions(w, r, seg[1:])
		return
	case "quotas":
		s.quotas(w, r, caller, seg[1:])
		return
	case "agents":
		s.agents(w, r, caller, seg[1:])
		return
	case "bulwark":
		s.bulwark(w, r, caller, seg[1:])
		return
	}
	col, ok := collections[seg[0]]
	if !ok {
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
		return
	}
	switch {
	case len(seg) == 1:
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, caller, col)
		case http.MethodPost:
			s.create(w, r, caller, col)
		default:
			methodNotAllowed(w)
		}
	case len(seg) == 2:
		switch r.Method {
		case http.MethodGet:
			s.show(w, r, caller, col, seg[1])
		case http.MethodPut:
			s.update(w, r, caller, col, seg[1])
		case http.MethodDelete:
			s.delete(w, r, caller, col, seg[1])
		default:
			methodNotAllowed(w)
		}
	case seg[2] == "tags" && service.Taggable[col.table] && len(seg) <= 4:
		tag := ""
		if len(seg) == 4 {
			if tag, err = url.PathUnescape(seg[3]); err != nil {
				tag = seg[3]
			}
		}
		s.tags(w, r, caller, col, seg[1], tag, len(seg) == 4)
	case col.table == store.AddressGroups && len(seg) == 3 && (seg[2] == "add_addresses" || seg[2] == "remove_addresses"):
		if r.Method != http.MethodPut {
			methodNotAllowed(w)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		g, err := s.svc.ChangeAddresses(ctx, caller, seg[1], body, seg[2] == "add_addresses")
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"address_group": g})
	default:
		s.writeError(w, apierr.NotFound("HTTPNotFound", "The resource could not be found."))
	}
}

func methodNotAllowed(w http.ResponseWriter) {
	renderError(w, nil, apierr.New(http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource."))
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT",
		"links": []any{map[string]string{"rel": "self", "href": baseURL(r) + "/v2.0/"}},
	}}})
}

func (s *Server) resources(w http.ResponseWriter, r *http.Request) {
	var res []any
	for _, name := range []string{"networks", "subnets", "ports", "security-groups", "security-group-rules", "address-groups"} {
		c := collections[name]
		res = append(res, map[string]any{"name": c.singular, "collection": name,
			"links": []any{map[string]string{"rel": "self", "href": baseURL(r) + "/v2.0/" + name}}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": res})
}

func (s *Server) extensions(w http.ResponseWriter, r *http.Request, seg []string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	if len(seg) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"extensions": extensions})
		return
	}
	for _, e := range extensions {
		if len(seg) == 1 && e.Alias == seg[0] {
			writeJSON(w, http.StatusOK, map[string]any{"extension": e})
			return
		}
	}
	s.writeError(w, apierr.NotFound("HTTPNotFound", "Extension with alias %s does not exist", strings.Join(seg, "/")))
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, "HTTPRequestEntityTooLarge", "Request is too large: %d bytes, the limit is %d.", r.ContentLength, MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.New(http.StatusRequestEntityTooLarge, "HTTPRequestEntityTooLarge", "Request is too large; the limit is %d bytes.", MaxBodyBytes)
		}
		return nil, apierr.BadRequest("Body contains invalid data")
	}
	if !utf8.Valid(body) {
		// encoding/json would silently turn bad bytes into U+FFFD and
		// store mangled names; Neutron refuses such a body.
		return nil, apierr.BadRequest("Body contains invalid data")
	}
	return body, nil
}

func ifMatch(r *http.Request) (service.IfMatch, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return nil, nil
	}
	for _, part := range strings.Split(h, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "revision_number=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, apierr.BadRequest("If-Match header: '%s' is not a valid revision_number.", v)
		}
		return &n, nil
	}
	return nil, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	items, bulk, err := model.ParseBody(body, col.singular, col.plural, true)
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctx := r.Context()
	var created []any
	switch col.table {
	case store.Networks:
		created, err = toAny(s.svc.CreateNetworks(ctx, c, items))
	case store.Subnets:
		created, err = toAny(s.svc.CreateSubnets(ctx, c, items))
	case store.Ports:
		created, err = toAny(s.svc.CreatePorts(ctx, c, items))
	case store.SecurityGroups:
		created, err = toAny(s.svc.CreateSecurityGroups(ctx, c, items))
	case store.Rules:
		var rules []*model.SecurityGroupRule
		rules, err = s.svc.CreateRules(ctx, c, items)
		for _, x := range rules {
			created = append(created, service.PublicRule(x))
		}
	case store.AddressGroups:
		created, err = toAny(s.svc.CreateAddressGroups(ctx, c, items))
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	docs := make([]json.RawMessage, len(created))
	for i, v := range created {
		b, err := json.Marshal(v)
		if err != nil {
			s.writeError(w, err)
			return
		}
		docs[i] = shape(b, col.table, c, nil)
	}
	if bulk {
		writeList(w, http.StatusCreated, col.plural, docs, nil)
		return
	}
	writeOne(w, http.StatusCreated, col.singular, docs[0])
}

func toAny[T any](items []*T, err error) ([]any, error) {
	out := make([]any, len(items))
	for i, v := range items {
		out[i] = v
	}
	return out, err
}

func (s *Server) show(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection, id string) {
	ctx := r.Context()
	var doc json.RawMessage
	var err error
	switch col.table {
	case store.SecurityGroups:
		var g *model.SecurityGroup
		if g, err = s.svc.GetSecurityGroup(ctx, c, id); err == nil {
			doc, err = json.Marshal(g)
		}
	case store.Rules:
		var rule *model.SecurityGroupRule
		if rule, err = s.svc.GetRule(ctx, c, id); err == nil {
			doc, err = json.Marshal(rule)
		}
	default:
		doc, err = s.svc.GetDoc(ctx, c, col.table, id)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeOne(w, http.StatusOK, col.singular, shape(doc, col.table, c, r.URL.Query()["fields"]))
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection, id string) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	items, _, err := model.ParseBody(body, col.singular, col.plural, false)
	if err != nil {
		s.writeError(w, err)
		return
	}
	im, err := ifMatch(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctx, a := r.Context(), items[0]
	var v any
	switch col.table {
	case store.Networks:
		v, err = s.svc.UpdateNetwork(ctx, c, id, a, im)
	case store.Subnets:
		v, err = s.svc.UpdateSubnet(ctx, c, id, a, im)
	case store.Ports:
		v, err = s.svc.UpdatePort(ctx, c, id, a, im)
	case store.SecurityGroups:
		v, err = s.svc.UpdateSecurityGroup(ctx, c, id, a, im)
	case store.Rules:
		v, err = s.svc.UpdateRule(ctx, c, id, a, im)
	case store.AddressGroups:
		v, err = s.svc.UpdateAddressGroup(ctx, c, id, a, im)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	doc, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeOne(w, http.StatusOK, col.singular, shape(doc, col.table, c, nil))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection, id string) {
	im, err := ifMatch(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctx := r.Context()
	switch col.table {
	case store.Networks:
		err = s.svc.DeleteNetwork(ctx, c, id, im)
	case store.Subnets:
		err = s.svc.DeleteSubnet(ctx, c, id, im)
	case store.Ports:
		err = s.svc.DeletePort(ctx, c, id, im)
	case store.SecurityGroups:
		err = s.svc.DeleteSecurityGroup(ctx, c, id, im)
	case store.Rules:
		err = s.svc.DeleteRule(ctx, c, id, im)
	case store.AddressGroups:
		err = s.svc.DeleteAddressGroup(ctx, c, id, im)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reserved query keys that are not attribute filters.
var reserved = map[string]bool{"fields": true, "sort_key": true, "sort_dir": true, "limit": true, "marker": true, "page_reverse": true}

// listParams splits a collection GET's query into filters and the
// sorting/paging parameters.
func listParams(q url.Values) (service.ListParams, error) {
	p := service.ListParams{Filters: map[string][]string{}, SortKeys: q["sort_key"], SortDirs: q["sort_dir"], Marker: q.Get("marker")}
	for k, v := range q {
		if !reserved[k] {
			p.Filters[k] = v
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return p, apierr.BadRequest("Bad limit request: Limit must be an integer 0 or greater and not '%s'", l)
		}
		p.Limit = n
	}
	if pr := q.Get("page_reverse"); pr != "" {
		p.PageReverse = strings.EqualFold(pr, "true") || pr == "1"
	}
	return p, nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, c policy.Caller, col collection) {
	q := r.URL.Query()
	p, err := listParams(q)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if col.table == store.SecurityGroups {
		if err := s.svc.EnsureDefaultGroup(r.Context(), c.ProjectID); err != nil {
			s.writeError(w, err)
			return
		}
	}
	res, err := s.svc.List(r.Context(), c, col.table, p)
	if err != nil {
		s.writeError(w, err)
		return
	}
	fields := q["fields"]
	for i, d := range res.Docs {
		res.Docs[i] = shape(d, col.table, c, fields)
	}
	var links []map[string]string
	if p.Limit > 0 || p.Marker != "" {
		links = pageLinks(r, res, p)
	}
	writeList(w, http.StatusOK, col.plural, res.Docs, links)
}

func pageLinks(r *http.Request, res service.ListResult, p service.ListParams) []map[string]string {
	var links []map[string]string
	idOf := func(d json.RawMessage) string {
		var x struct{ ID string }
		_ = json.Unmarshal(d, &x)
		return x.ID
	}
	link := func(rel, marker string, reverse bool) map[string]string {
		q := r.URL.Query()
		q.Set("marker", marker)
		q.Del("page_reverse")
		if reverse {
			q.Set("page_reverse", "True")
		}
		return map[string]string{"rel": rel, "href": baseURL(r) + r.URL.Path + "?" + q.Encode()}
	}
	if len(res.Docs) == 0 {
		return links
	}
	first, last := idOf(res.Docs[0]), idOf(res.Docs[len(res.Docs)-1])
	nextMore, prevMore := res.HasMore, p.Marker != ""
	if p.PageReverse {
		nextMore, prevMore = p.Marker != "", res.HasMore
	}
	if nextMore {
		links = append(links, link("next", last, false))
	}
	if prevMore {
		links = append(links, link("previous", first, true))
	}
	return links
}

// shape applies the view of a document: admin-only port attributes are
// hidden from other callers, and fields= keeps only the named keys.
func shape(doc json.RawMessage, t store.Table, c policy.Caller, fields []string) json.RawMessage {
	hideAdmin := t == store.Ports && !c.IsAdmin()
	if t == store.Rules {
		hideAdmin = true // standard_attr_id/tags show only inside a group
	}
	if !hideAdmin && len(fields) == 0 {
		return doc
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return doc
	}
	if t == store.Ports && !c.IsAdmin() {
		for _, k := range model.AdminOnlyPortFields {
			delete(m, k)
		}
	}
	if t == store.Rules {
		delete(m, "standard_attr_id")
		delete(m, "tags")
	}
	if len(fields) > 0 {
		keep := map[string]bool{}
		for _, f := range fields {
			for _, part := range strings.Split(f, ",") {
				keep[part] = true
			}
		}
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func writeOne(w http.ResponseWriter, status int, key string, doc json.RawMessage) {
	var b bytes.Buffer
	b.Grow(len(doc) + len(key) + 8)
	b.WriteString(`{"`)
	b.WriteString(key)
	b.WriteString(`": `)
	b.Write(doc)
	b.WriteString("}")
	writeRaw(w, status, b.Bytes())
}

func writeList(w http.ResponseWriter, status int, key string, docs []json.RawMessage, links []map[string]string) {
	size := 64
	for _, d := range docs {
		size += len(d) + 2
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"`)
	b.WriteString(key)
	b.WriteString(`": [`)
	for i, d := range docs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(d)
	}
	b.WriteString("]")
	if links != nil {
		lb, _ := json.Marshal(links)
		b.WriteString(`, "`)
		b.WriteString(key)
		b.WriteString(`_links": `)
		b.Write(lb)
	}
	b.WriteString("}")
	writeRaw(w, status, b.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		renderError(w, slog.Default(), err)
		return
	}
	writeRaw(w, status, b)
}

// writeError renders err as a NeutronError; anything that is not a
// client-visible error is an internal failure: 500, logged to the
// server's logger.
func (s *Server) writeError(w http.ResponseWriter, err error) { renderError(w, s.log, err) }

func renderError(w http.ResponseWriter, log *slog.Logger, err error) {
	e, ok := apierr.As(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			e = apierr.New(503, "ServiceUnavailable", "The request was cancelled or timed out before it completed.")
		case errors.Is(err, store.ErrUnavailable):
			// The database is down or restarting: the client may retry.
			if log == nil {
				log = slog.Default()
			}
			log.Warn("database unavailable", "err", err)
			e = apierr.New(503, "ServiceUnavailable", "The database is unavailable; retry the request later.")
		default:
			if log == nil {
				log = slog.Default()
			}
			log.Error("internal error", "err", err)
			e = apierr.New(500, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.")
		}
	}
	b, _ := json.Marshal(map[string]any{"NeutronError": map[string]string{"type": e.Type, "message": e.Message, "detail": ""}})
	writeRaw(w, e.Status, b)
}
