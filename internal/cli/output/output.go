// Package output prints command results the way the openstack CLI does: a
// list as a table of columns, one object as a Field/Value table, or either
// as JSON, YAML or bare values, with -c selecting columns.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Formats are the values -f accepts.
var Formats = []string{"table", "json", "yaml", "value"}

// Options are the formatting flags of one command.
type Options struct {
	// Format is table (default), json, yaml or value.
	Format string
	// Columns are the -c selections, in the order given; empty means all.
	Columns []string
}

// AddFlags registers -f/--format and -c/--column on fs.
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVarP(&o.Format, "format", "f", "table", "output format: "+strings.Join(Formats, ", "))
	fs.StringArrayVarP(&o.Columns, "column", "c", nil, "show only this column (repeatable)")
}

// UsageError is a bad -f or -c: the command line's fault, not the data's.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Validate reports an unknown format.
func (o Options) Validate() error {
	if o.Format == "" || slices.Contains(Formats, o.Format) {
		return nil
	}
	return &UsageError{fmt.Sprintf("unknown output format %q (choose from %s)", o.Format, strings.Join(Formats, ", "))}
}

// pick returns the indexes of the selected columns (all without -c). Names
// match case-insensitively; an unknown name is an error naming the known
// ones, as is an unknown format.
func (o Options) pick(columns []string) ([]int, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(o.Columns) == 0 {
		idx := make([]int, len(columns))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var idx []int
	for _, want := range o.Columns {
		found := -1
		for i, c := range columns {
			if c == want {
				found = i
				break
			}
			if found < 0 && strings.EqualFold(c, want) {
				found = i
			}
		}
		if found < 0 {
			return nil, &UsageError{fmt.Sprintf("no column %q; the columns are: %s", want, strings.Join(columns, ", "))}
		}
		idx = append(idx, found)
	}
	return idx, nil
}

// PrintList prints rows under columns (each row holds one value per column,
// as decoded from JSON or plain Go scalars).
func (o Options) PrintList(w io.Writer, columns []string, rows [][]any) error {
	idx, err := o.pick(columns)
	if err != nil {
		return err
	}
	switch o.Format {
	case "json", "yaml":
		out := make([]orderedMap, 0, len(rows))
		for _, r := range rows {
			m := orderedMap{}
			for _, i := range idx {
				m.keys = append(m.keys, columns[i])
				m.vals = append(m.vals, cell(r, i))
			}
			out = append(out, m)
		}
		return encode(w, o.Format, out)
	case "value":
		for _, r := range rows {
			vals := make([]string, len(idx))
			for j, i := range idx {
				vals[j] = Text(cell(r, i))
			}
			if _, err := fmt.Fprintln(w, strings.Join(vals, " ")); err != nil {
				return err
			}
		}
		return nil
	default:
		tw := newTable(w)
		header := table.Row{}
		for _, i := range idx {
			header = append(header, columns[i])
		}
		tw.AppendHeader(header)
		for _, r := range rows {
			row := table.Row{}
			for _, i := range idx {
				row = append(row, Text(cell(r, i)))
			}
			tw.AppendRow(row)
		}
		tw.Render()
		return nil
	}
}

// PrintObject prints one object: fields[i] is the name of values[i]. The
// table is openstack's Field/Value table; json and yaml keep the values'
// structure.
func (o Options) PrintObject(w io.Writer, fields []string, values []any) error {
	idx, err := o.pick(fields)
	if err != nil {
		return err
	}
	switch o.Format {
	case "json", "yaml":
		m := orderedMap{}
		for _, i := range idx {
			m.keys = append(m.keys, fields[i])
			m.vals = append(m.vals, values[i])
		}
		return encode(w, o.Format, m)
	case "value":
		for _, i := range idx {
			if _, err := fmt.Fprintln(w, Text(values[i])); err != nil {
				return err
			}
		}
		return nil
	default:
		tw := newTable(w)
		tw.AppendHeader(table.Row{"Field", "Value"})
		for _, i := range idx {
			tw.AppendRow(table.Row{fields[i], Text(values[i])})
		}
		tw.Render()
		return nil
	}
}

// PrintMap prints a decoded JSON object with its keys sorted, as
// `openstack ... show` does.
func (o Options) PrintMap(w io.Writer, m map[string]any) error {
	keys := slices.Sorted(maps.Keys(m))
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return o.PrintObject(w, keys, vals)
}

func cell(row []any, i int) any {
	if i < len(row) {
		return row[i]
	}
	return nil
}

func newTable(w io.Writer) table.Writer {
	tw := table.NewWriter()
	tw.SetOutputMirror(w)
	style := table.StyleDefault
	style.Format.Header = text.FormatDefault
	style.Format.Footer = text.FormatDefault
	tw.SetStyle(style)
	return tw
}

// Text renders a value for a table cell or -f value the way the openstack
// CLI does: nil is None, booleans True/False, a list of scalars joined with
// ", ", an object as key='value' pairs, a list of objects one per line.
func Text(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case []string:
		return strings.Join(v, ", ")
	case []any:
		parts := make([]string, len(v))
		objects := len(v) > 0
		for i, e := range v {
			if _, ok := e.(map[string]any); !ok {
				objects = false
			}
			parts[i] = Text(e)
		}
		if objects {
			return strings.Join(parts, "\n")
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "='" + Text(v[k]) + "'"
		}
		return strings.Join(parts, ", ")
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// orderedMap is a JSON object that keeps its keys in the order given (the
// column order), which a Go map cannot.
type orderedMap struct {
	keys []string
	vals []any
}

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func encode(w io.Writer, format string, v any) error {
	if format == "yaml" {
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}
