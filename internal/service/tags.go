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
	Tags           []string `json:"tags"`
	UpdatedAt      string   `json:"updated_at"`
	RevisionNumber int64    `json:"revision_number"`
}

// TagOp is what a tags request does: read, "update" (PUT one tag or
// the whole list) or "delete" (DELETE one tag or all).
type TagOp string

// Tag operations.
const (
	TagRead   TagOp = ""
	TagUpdate TagOp = "update"
	TagDelete TagOp = "delete"
)

// Tags runs fn on a resource's tag list; when fn reports a change the
// document is rewritten with the new tags and a new revision. The
// resource must be visible (else its 404); changing tags is the rule
// update_<resource>:tags or delete_<resource>:tags.
func (s *Service) Tags(ctx context.Context, c policy.Caller, t store.Table, id string, op TagOp, fn func(tags []string) ([]string, bool, error)) ([]string, error) {
	var result []string
	write := op != TagRead
	run := s.st.Read
	if write {
		run = s.st.Write
	}
	err := run(ctx, func(tx store.Tx) error {
		row, err := getVisible(ctx, tx, c, t, id)
		if err != nil {
			return err
		}
		var head tagged
		if err := json.Unmarshal(row.Doc, &head); err != nil {
			return err
		}
		if write {
			if err := c.Authorize(tagAction(string(op), t), policy.Target{Owner: row.ProjectID}); err != nil {
				return err
			}
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
