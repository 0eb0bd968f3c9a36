package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// Taggable tables.
var Taggable = map[store.Table]bool{store.Networks: true, store.Subnets: true, store.Ports: true, store.SecurityGroups: true}

// ValidateTag checks one tag as Neutron does.
func ValidateTag(t string) error {
	if t == "" || len(t) > 255 || strings.Contains(t, ",") {
		return apierr.BadRequest("Invalid input for tags. Reason: '%s' is not a valid tag (1 to 255 characters, no comma).", t)
	}
	return nil
}

// tagged is the part of every taggable document this file touches.
type tagged struct {
	ProjectID      string   `json:"project_id"`
	Shared         bool     `json:"shared"`
	Tags           []string `json:"tags"`
	UpdatedAt      string   `json:"updated_at"`
	RevisionNumber int64    `json:"revision_number"`
}

// Tags runs fn on a resource's tag list; when fn reports a change the
// document is rewritten with the new tags and a new revision.
func (s *Service) Tags(ctx context.Context, c policy.Caller, t store.Table, id string, write bool, fn func(tags []string) ([]string, bool, error)) ([]string, error) {
	var result []string
	run := s.st.Read
	if write {
		run = s.st.Write
	}
	err := run(ctx, func(tx store.Tx) error {
		row, err := tx.Get(ctx, t, id)
		if err == store.ErrNotFound {
			return NotFoundFor(t, id)
		}
		if err != nil {
			return err
		}
		var head tagged
		if err := json.Unmarshal(row.Doc, &head); err != nil {
			return err
		}
		if !c.CanSee(row.ProjectID, t == store.Networks && head.Shared) {
			return NotFoundFor(t, id)
		}
		if write && !c.Owns(row.ProjectID) {
			return apierr.New(403, "PolicyNotAuthorized", "(rule:update_tags) is disallowed by policy")
		}
		tags, changed, err := fn(slices.Clone(head.Tags))
		if err != nil {
			return err
		}
		result = tags
		if !changed || !write {
			return nil
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(row.Doc, &doc); err != nil {
			return err
		}
		if tags == nil {
			tags = []string{}
		}
		head.RevisionNumber++
		doc["tags"], doc["revision_number"], doc["updated_at"] = encode(tags), encode(head.RevisionNumber), encode(model.Now())
		row.Doc, row.Revision = encode(doc), head.RevisionNumber
		row.Cols, err = columnsOf(t, row.Doc)
		if err != nil {
			return err
		}
		return tx.Update(ctx, t, row)
	})
	return result, err
}

// columnsOf rebuilds a row's indexed columns from its document.
func columnsOf(t store.Table, doc []byte) (map[string]any, error) {
	switch t {
	case store.Networks:
		n, err := decode[model.Network](doc)
		if err != nil {
			return nil, err
		}
		return networkRow(n).Cols, nil
	case store.Subnets:
		sn, err := decode[model.Subnet](doc)
		if err != nil {
			return nil, err
		}
		return subnetRow(sn).Cols, nil
	case store.Ports:
		p, err := decode[model.Port](doc)
		if err != nil {
			return nil, err
		}
		return portRow(p).Cols, nil
	case store.SecurityGroups:
		g, err := decode[model.SecurityGroup](doc)
		if err != nil {
			return nil, err
		}
		return groupRow(g).Cols, nil
	}
	return nil, apierr.NotFound("HTTPNotFound", "The resource could not be found.")
}
