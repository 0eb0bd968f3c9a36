package cli

import (
	"io"
	"sort"
	"strings"

	"github.com/bulwark-net/bulwark/internal/cli/output"
	"github.com/spf13/cobra"
)

// One resource shown as the openstack CLI shows it.

// showObject prints one resource as a Field/Value table (or -f json/yaml/
// value), with the openstack CLI's field names.
func showObject(w io.Writer, o output.Options, r *resource, obj object) error {
	return o.PrintMap(w, displayFields(r, obj))
}

// displayFields renames the API attributes the way the openstack CLI shows
// them (port security_groups → security_group_ids, binding:host_id →
// binding_host_id, ...) and drops tenant_id, the older name of project_id.
func displayFields(r *resource, obj object) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		switch {
		case k == "tenant_id":
			continue
		case r == portRes && k == "security_groups":
			k = "security_group_ids"
		case r == groupRes && k == "security_group_rules":
			k = "rules"
			v = ruleSummaries(v)
		case k == "admin_state_up":
			if b, ok := v.(bool); ok {
				v = adminStateValue(b)
			}
		case strings.HasPrefix(k, "binding:"):
			k = "binding_" + strings.TrimPrefix(k, "binding:")
		}
		out[k] = v
	}
	return out
}

// ruleSummaries shows a group's rules one per line, each as its non-empty
// attributes, as `openstack security group show` does.
func ruleSummaries(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			out = append(out, e)
			continue
		}
		short := map[string]any{}
		for k, val := range m {
			switch k {
			case "security_group_id", "tenant_id", "project_id", "created_at", "updated_at", "revision_number", "tags", "standard_attr_id", "normalized_cidr":
				continue
			}
			if val == nil || val == "" {
				continue
			}
			short[k] = val
		}
		out = append(out, short)
	}
	sort.SliceStable(out, func(i, j int) bool { return output.Text(out[i]) < output.Text(out[j]) })
	return out
}

// adminStateValue is admin_state_up: UP or DOWN in a table, a boolean in
// JSON and YAML, as the openstack CLI shows it.
type adminStateValue bool

func (v adminStateValue) String() string {
	if v {
		return "UP"
	}
	return "DOWN"
}

// showFields prints obj with the openstack CLI's field names.
func showFields(r *resource) func(cmd *cobra.Command, o output.Options, obj object) error {
	return func(cmd *cobra.Command, o output.Options, obj object) error {
		return showObject(cmd.OutOrStdout(), o, r, obj)
	}
}
