package output

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrintList(t *testing.T) {
	cols := []string{"ID", "Name", "Fixed IP Addresses"}
	rows := [][]any{
		{"p1", "web", []any{map[string]any{"ip_address": "10.0.0.5", "subnet_id": "s1"}}},
		{"p2", nil, []any{}},
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"table", Options{Format: "table"}, `+----+------+------------------------------------------+
| ID | Name | Fixed IP Addresses                       |
+----+------+------------------------------------------+
| p1 | web  | ip_address='10.0.0.5', subnet_id='s1'    |
| p2 | None |                                          |
+----+------+------------------------------------------+
`},
		{"value columns", Options{Format: "value", Columns: []string{"name", "ID"}}, "web p1\nNone p2\n"},
		{"json", Options{Format: "json", Columns: []string{"Name", "ID"}}, `[
  {
    "Name": "web",
    "ID": "p1"
  },
  {
    "Name": null,
    "ID": "p2"
  }
]
`},
		{"yaml", Options{Format: "yaml", Columns: []string{"ID"}}, "- ID: p1\n- ID: p2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.o.PrintList(&b, cols, rows); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if tc.name == "table" {
				// go-pretty pads to the widest cell; compare without trailing padding.
				got, tc.want = squeeze(got), squeeze(tc.want)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func squeeze(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.Join(strings.Fields(strings.NewReplacer("-", "", "|", " ").Replace(l)), " "))
	}
	return strings.Join(out, "\n")
}

func TestPrintObject(t *testing.T) {
	fields := []string{"id", "port_security_enabled", "allowed_address_pairs", "security_group_ids"}
	vals := []any{"p1", false, []any{map[string]any{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:01"}}, []any{"a", "b"}}
	var b bytes.Buffer
	if err := (Options{}).PrintObject(&b, fields, vals); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Field ", "| port_security_enabled | False", "ip_address='10.0.0.9', mac_address='fa:16:3e:00:00:01'", "| a, b "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := (Options{Format: "json", Columns: []string{"port_security_enabled", "id"}}).PrintObject(&b, fields, vals); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"port_security_enabled\": false,\n  \"id\": \"p1\"\n}\n"; b.String() != want {
		t.Errorf("json: got %q want %q", b.String(), want)
	}
	b.Reset()
	if err := (Options{Format: "value", Columns: []string{"security_group_ids"}}).PrintObject(&b, fields, vals); err != nil || b.String() != "a, b\n" {
		t.Errorf("value: %q %v", b.String(), err)
	}
	if err := (Options{Columns: []string{"nope"}}).PrintObject(&b, fields, vals); err == nil || !strings.Contains(err.Error(), "port_security_enabled") {
		t.Errorf("unknown column: %v", err)
	}
	if err := (Options{Format: "xml"}).PrintObject(&b, fields, vals); err == nil {
		t.Error("xml accepted")
	}
}
