package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// ListParams are a collection GET's query parameters, already split by
// the API layer.
type ListParams struct {
	Filters     map[string][]string
	SortKeys    []string
	SortDirs    []string
	Limit       int
	Marker      string
	PageReverse bool
}

// ListResult is one page of documents.
type ListResult struct {
	Docs    []json.RawMessage
	HasMore bool
}

// attribute names a table's documents have, for filter/sort validation.
var attributes = map[store.Table]map[string]bool{
	store.Networks:       jsonFields(model.Network{}),
	store.Subnets:        jsonFields(model.Subnet{}),
	store.Ports:          jsonFields(model.Port{}),
	store.SecurityGroups: jsonFields(model.SecurityGroup{}),
	store.Rules:          jsonFields(model.SecurityGroupRule{}),
	store.AddressGroups:  jsonFields(model.AddressGroup{}),
}

func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// pushdown maps a filter attribute to the indexed column that answers it.
func pushdown(t store.Table, attr string) (string, bool) {
	switch attr {
	case "id", "name", "project_id":
		return attr, t != store.Rules || attr != "name"
	case "tenant_id":
		return "project_id", true
	case "binding:host_id":
		return "host_id", t == store.Ports
	}
	if t == store.Networks && attr == "shared" {
		return "", false
	}
	if slices.Contains(store.Columns[t], attr) {
		return attr, true
	}
	return "", false
}

var tagFilters = map[string]bool{"tags": true, "tags-any": true, "not-tags": true, "not-tags-any": true}

// List returns the visible resources of t that match p.
func (s *Service) List(ctx context.Context, c policy.Caller, t store.Table, p ListParams) (ListResult, error) {
	var res ListResult
	if err := validateListParams(t, p); err != nil {
		return res, err
	}
	q := store.Query{Eq: map[string][]string{}}
	residual := map[string][]string{}
	for attr, vals := range p.Filters {
		if col, ok := pushdown(t, attr); ok {
			if col == "mac_address" {
				vals = mapStrings(vals, model.NormalizeMAC)
			}
			q.Eq[col] = append(q.Eq[col], vals...)
		} else {
			residual[attr] = vals
		}
	}
	// Visibility (policy's get_* rules): most resources are seen only by
	// their project's readers; networks also when shared or external,
	// subnets when their network is shared.
	sharedAware := t == store.Networks || t == store.Subnets
	if !c.IsAdmin() && !sharedAware {
		if want, ok := q.Eq["project_id"]; (ok && !slices.Contains(want, c.ProjectID)) || !c.IsReader() {
			return res, nil
		}
		q.Eq["project_id"] = []string{c.ProjectID}
	}
	fast := len(residual) == 0 && !(sharedAware && !c.IsAdmin()) && !p.PageReverse &&
		(len(p.SortKeys) == 0 || (len(p.SortKeys) == 1 && p.SortKeys[0] == "id" && (len(p.SortDirs) == 0 || p.SortDirs[0] == "asc")))

	err := s.st.Read(ctx, func(tx store.Tx) error {
		if p.Marker != "" {
			// A marker the caller cannot see is as unknown as a missing one.
			if _, err := getVisible(ctx, tx, c, t, p.Marker); err != nil {
				return err
			}
		}
		if fast {
			q.AfterID = p.Marker
			q.DocsOnly = true
			if p.Limit > 0 {
				q.Limit = p.Limit + 1
			}
			rows, err := tx.List(ctx, t, q)
			if err != nil {
				return err
			}
			if p.Limit > 0 && len(rows) > p.Limit {
				rows, res.HasMore = rows[:p.Limit], true
			}
			res.Docs = make([]json.RawMessage, len(rows))
			for i, r := range rows {
				res.Docs[i] = r.Doc
			}
		} else {
			rows, err := tx.List(ctx, t, q)
			if err != nil {
				return err
			}
			var shared map[string]bool
			if t == store.Subnets && !c.IsAdmin() {
				if shared, err = sharedNetworks(ctx, tx); err != nil {
					return err
				}
			}
			items := make([]listItem, 0, len(rows))
			for _, r := range rows {
				var m map[string]any
				if err := json.Unmarshal(r.Doc, &m); err != nil {
					return fmt.Errorf("service: corrupt %s %s: %w", t, r.ID, err)
				}
				if sharedAware && !c.IsAdmin() {
					var visible bool
					if t == store.Networks {
						visible = c.CanSeeNetwork(r.ProjectID, m["shared"] == true, m["router:external"] == true)
					} else {
						netID, _ := m["network_id"].(string)
						visible = c.CanSeeSubnet(r.ProjectID, shared[netID])
					}
					if !visible {
						continue
					}
				}
				if matches(m, residual) {
					items = append(items, listItem{id: r.ID, doc: r.Doc, m: m})
				}
			}
			page, more, err := paginate(ctx, tx, t, items, p)
			if err != nil {
				return err
			}
			res.HasMore = more
			res.Docs = page
		}
		if t == store.SecurityGroups {
			return attachRules(ctx, tx, res.Docs)
		}
		return nil
	})
	return res, err
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

func validateListParams(t store.Table, p ListParams) error { return validateParams(attributes[t], p) }

// validateParams checks filters and sort keys against a resource's
// attributes.
func validateParams(attrs map[string]bool, p ListParams) error {
	for k := range p.Filters {
		if !attrs[k] && !tagFilters[k] {
			return apierr.BadRequest("[%s] is invalid attribute for filtering", k)
		}
	}
	if len(p.SortDirs) > 0 && len(p.SortDirs) != len(p.SortKeys) {
		return apierr.BadRequest("The number of sort_keys and sort_dirs must be same")
	}
	for _, k := range p.SortKeys {
		if !attrs[k] {
			return apierr.BadRequest("%s is invalid attribute for sort_keys", k)
		}
	}
	for _, d := range p.SortDirs {
		if d != "asc" && d != "desc" {
			return apierr.BadRequest("%s is invalid value for sort_dirs, valid values are 'asc' and 'desc'", d)
		}
	}
	if p.Limit < 0 {
		return apierr.BadRequest("Limit must be an integer 0 or greater and not '%d'", p.Limit)
	}
	return nil
}

func sharedNetworks(ctx context.Context, tx store.Tx) (map[string]bool, error) {
	rows, err := tx.List(ctx, store.Networks, store.Query{Eq: map[string][]string{"shared": {"1"}}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(rows))
	for _, r := range rows {
		out[r.ID] = true
	}
	return out, nil
}

type listItem struct {
	id  string
	doc json.RawMessage
	m   map[string]any
}

// matches applies Neutron's filter semantics: repeated values of one key
// are alternatives, different keys must all hold.
func matches(m map[string]any, filters map[string][]string) bool {
	for k, vals := range filters {
		if tagFilters[k] {
			if !matchTags(m["tags"], k, vals) {
				return false
			}
			continue
		}
		if k == "fixed_ips" {
			if !matchFixedIPs(m[k], vals) {
				return false
			}
			continue
		}
		if !slices.ContainsFunc(vals, func(v string) bool { return valueMatches(m[k], v) }) {
			return false
		}
	}
	return true
}

func valueMatches(have any, want string) bool {
	switch h := have.(type) {
	case string:
		return h == want
	case bool:
		switch strings.ToLower(want) {
		case "true", "1":
			return h
		case "false", "0":
			return !h
		}
		return false
	case float64:
		f, err := strconv.ParseFloat(want, 64)
		return err == nil && f == h
	case nil:
		return want == "" || want == "None"
	case []any:
		for _, e := range h {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

func matchTags(have any, mode string, want []string) bool {
	var wantTags []string
	for _, w := range want {
		wantTags = append(wantTags, strings.Split(w, ",")...)
	}
	tags := map[string]bool{}
	if l, ok := have.([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				tags[s] = true
			}
		}
	}
	all, any := true, false
	for _, w := range wantTags {
		if tags[w] {
			any = true
		} else {
			all = false
		}
	}
	switch mode {
	case "tags":
		return all
	case "tags-any":
		return any
	case "not-tags":
		return !all
	default: // not-tags-any
		return !any
	}
}

func matchFixedIPs(have any, want []string) bool {
	ips, _ := have.([]any)
	byKey := map[string][]string{}
	for _, w := range want {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return false
		}
		byKey[k] = append(byKey[k], v)
	}
	for k, vals := range byKey {
		found := false
		for _, ip := range ips {
			entry, _ := ip.(map[string]any)
			for _, v := range vals {
				switch k {
				case "ip_address", "subnet_id":
					found = found || entry[k] == v
				case "ip_address_substr":
					s, _ := entry["ip_address"].(string)
					found = found || strings.Contains(s, v)
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	if b == nil {
		return 1
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb)
}

// paginate sorts items, applies marker, limit and page_reverse.
func paginate(ctx context.Context, tx store.Tx, t store.Table, items []listItem, p ListParams) ([]json.RawMessage, bool, error) {
	var marker map[string]any
	if p.Marker != "" {
		row, err := tx.Get(ctx, t, p.Marker)
		if err != nil {
			return nil, false, err
		}
		if err := json.Unmarshal(row.Doc, &marker); err != nil {
			return nil, false, err
		}
	}
	page, more := sortPage(items, p, marker)
	return page, more, nil
}

// sortPage sorts items by p's sort keys (then id) and cuts the page that
// follows marker (the marker's document; nil for the first page).
func sortPage(items []listItem, p ListParams, marker map[string]any) ([]json.RawMessage, bool) {
	keys := append([]string(nil), p.SortKeys...)
	dirs := append([]string(nil), p.SortDirs...)
	for len(dirs) < len(keys) {
		dirs = append(dirs, "asc")
	}
	if !slices.Contains(keys, "id") {
		keys, dirs = append(keys, "id"), append(dirs, "asc")
	}
	if p.PageReverse {
		for i := range dirs {
			if dirs[i] == "asc" {
				dirs[i] = "desc"
			} else {
				dirs[i] = "asc"
			}
		}
	}
	cmp := func(a, b map[string]any) int {
		for i, k := range keys {
			c := compareValues(a[k], b[k])
			if dirs[i] == "desc" {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	sort.SliceStable(items, func(i, j int) bool { return cmp(items[i].m, items[j].m) < 0 })
	if marker != nil {
		start := sort.Search(len(items), func(i int) bool { return cmp(items[i].m, marker) > 0 })
		items = items[start:]
	}
	more := false
	if p.Limit > 0 && len(items) > p.Limit {
		items, more = items[:p.Limit], true
	}
	if p.PageReverse {
		slices.Reverse(items)
	}
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it.doc
	}
	return out, more
}

// attachRules fills each group document's security_group_rules.
func attachRules(ctx context.Context, tx store.Tx, docs []json.RawMessage) error {
	if len(docs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(docs))
	groups := make([]*model.SecurityGroup, len(docs))
	for i, d := range docs {
		g, err := decode[model.SecurityGroup](d)
		if err != nil {
			return err
		}
		groups[i] = g
		ids = append(ids, g.ID)
	}
	rules, err := tx.List(ctx, store.Rules, store.Query{Eq: map[string][]string{"security_group_id": ids}})
	if err != nil {
		return err
	}
	byGroup := map[string][]model.SecurityGroupRule{}
	for _, r := range rules {
		rule, err := decode[model.SecurityGroupRule](r.Doc)
		if err != nil {
			return err
		}
		byGroup[rule.SecurityGroupID] = append(byGroup[rule.SecurityGroupID], *rule)
	}
	for i, g := range groups {
		rs := byGroup[g.ID]
		sort.Slice(rs, func(a, b int) bool { return ptrInt64(rs[a].StandardAttrID) < ptrInt64(rs[b].StandardAttrID) })
		g.SecurityGroupRules = rs
		if g.SecurityGroupRules == nil {
			g.SecurityGroupRules = []model.SecurityGroupRule{}
		}
		docs[i] = encode(g)
	}
	return nil
}

func ptrInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
