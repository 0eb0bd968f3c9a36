package model_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

func TestParseBody(t *testing.T) {
	invalid := bad("Body contains invalid data")
	for _, tc := range []struct {
		name      string
		body      string
		allowBulk bool
		want      wantErr
		items     int
		bulk      bool
	}{
		{"singular", `{"port": {"name": "a"}}`, true, wantErr{}, 1, false},
		{"empty object", `{"port": {}}`, false, wantErr{}, 1, false},
		{"bulk", `{"ports": [{"name": "a"}, {"name": "b"}]}`, true, wantErr{}, 2, true},
		{"whitespace around", " \n{\"port\": {}}\n ", false, wantErr{}, 1, false},
		{"malformed (step 77)", `{"port": `, true, invalid, 0, false},
		{"trailing data", `{"port": {}} {}`, true, invalid, 0, false},
		{"trailing garbage", `{"port": {}}x`, true, invalid, 0, false},
		{"empty body", ``, true, invalid, 0, false},
		{"null", `null`, true, invalid, 0, false},
		{"list", `[{"port": {}}]`, true, invalid, 0, false},
		{"string", `"port"`, true, invalid, 0, false},
		{"resource null", `{"port": null}`, true, invalid, 0, false},
		{"resource list", `{"port": [{}]}`, true, invalid, 0, false},
		{"resource string", `{"port": "x"}`, true, invalid, 0, false},
		{"bulk empty", `{"ports": []}`, true, invalid, 0, false},
		{"bulk null item", `{"ports": [{}, null]}`, true, invalid, 0, false},
		{"bulk not a list", `{"ports": {}}`, true, invalid, 0, false},
		{"bulk not allowed", `{"ports": [{}]}`, false, bad("Unable to find 'port' in request body"), 0, false},
		{"wrong resource", `{"network": {}}`, true, bad("Unable to find 'port' in request body"), 0, false},
		{"no resource", `{}`, true, bad("Unable to find 'port' in request body"), 0, false},
		{"invalid utf-8 key", "{\"port\": {\"\xff\": 1}}", true, wantErr{}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, bulk, err := model.ParseBody([]byte(tc.body), "port", "ports", tc.allowBulk)
			check(t, err, tc.want)
			if len(items) != tc.items || bulk != tc.bulk {
				t.Errorf("got %d items, bulk %v; want %d, %v", len(items), bulk, tc.items, tc.bulk)
			}
		})
	}
}

func TestAttrsAccessors(t *testing.T) {
	a := attrs(t, `{"s": "x", "n": 5, "ns": " 7 ", "neg": "-3", "big": 99999999999, "f": 1.5, "b": true, "null": null,
		"u": "`+sgID+`", "list": ["a", "b"], "d": {"k": 1}, "e": "", "long": "`+strings.Repeat("é", 6)+`"}`)

	if s, ok, err := a.String("s", 1); s != "x" || !ok || err != nil {
		t.Errorf("String(s) = %q %v %v", s, ok, err)
	}
	if _, ok, err := a.String("missing", 0); ok || err != nil {
		t.Errorf("String(missing) = %v %v", ok, err)
	}
	// Length counts characters, not bytes.
	if _, _, err := a.String("long", 6); err != nil {
		t.Errorf("6 runes within 6: %v", err)
	}
	_, _, err := a.String("long", 5)
	check(t, err, invalidAttr("long", "'éééééé' exceeds maximum length of 5"))
	_, _, err = a.String("n", 0)
	check(t, err, invalidAttr("n", "'5' is not a valid string"))
	_, _, err = a.String("b", 0)
	check(t, err, invalidAttr("b", "'True' is not a valid string"))

	if p, ok, err := a.NullableString("null", 0); p != nil || !ok || err != nil {
		t.Errorf("NullableString(null) = %v %v %v", p, ok, err)
	}
	if p, ok, err := a.NullableString("e", 0); p == nil || *p != "" || !ok || err != nil {
		t.Errorf("NullableString(e) = %v %v %v", p, ok, err)
	}

	for name, want := range map[string]int{"n": 5, "ns": 7, "neg": -3, "b": 1} {
		if v, ok, err := a.Int(name); err != nil || !ok || v == nil || *v != want {
			t.Errorf("Int(%s) = %v %v %v, want %d", name, v, ok, err, want)
		}
	}
	if v, ok, err := a.Int("null"); v != nil || !ok || err != nil {
		t.Errorf("Int(null) = %v %v %v", v, ok, err)
	}
	for name, shown := range map[string]string{"s": "x", "big": "99999999999", "f": "1.5", "list": `["a", "b"]`, "e": ""} {
		_, _, err := a.Int(name)
		check(t, err, invalidInput("'"+shown+"' is not an integer."))
	}

	if u, ok, err := a.UUID("u"); u != sgID || !ok || err != nil {
		t.Errorf("UUID(u) = %q %v %v", u, ok, err)
	}
	_, _, err = a.UUID("s")
	check(t, err, invalidAttr("s", "'x' is not a valid UUID"))
	_, _, err = a.UUID("null")
	check(t, err, invalidAttr("null", "'None' is not a valid UUID"))
	if p, _, err := a.NullableUUID("null"); p != nil || err != nil {
		t.Errorf("NullableUUID(null) = %v %v", p, err)
	}

	if l, ok, err := a.StringList("list", 0); !reflect.DeepEqual(l, []string{"a", "b"}) || !ok || err != nil {
		t.Errorf("StringList = %v %v %v", l, ok, err)
	}
	if l, _, err := a.StringList("null", 0); l == nil || len(l) != 0 || err != nil {
		t.Errorf("StringList(null) = %v %v", l, err)
	}
	_, _, err = a.StringList("s", 0)
	check(t, err, invalidAttr("s", "'x' is not a list"))
	_, _, err = a.StringList("list", 0)
	if err != nil {
		t.Error(err)
	}

	if v, ok, err := a.OneOf("s", "y", "x"); v != "x" || !ok || err != nil {
		t.Errorf("OneOf = %q %v %v", v, ok, err)
	}
	_, _, err = a.OneOf("n", "5")
	check(t, err, invalidAttr("n", "5 is not in valid_values"))
	_, _, err = a.OneOf("null", "x")
	check(t, err, invalidAttr("null", "None is not in valid_values"))

	if d, ok, err := a.Dict("d"); d["k"] != float64(1) || !ok || err != nil {
		t.Errorf("Dict = %v %v %v", d, ok, err)
	}
	if d, _, err := a.Dict("null"); d == nil || len(d) != 0 || err != nil {
		t.Errorf("Dict(null) = %v %v", d, err)
	}
	_, _, err = a.Dict("list")
	check(t, err, invalidAttr("list", `'["a", "b"]' is not a dictionary`))

	if !a.Has("null") || !a.IsNull("null") || a.IsNull("s") || a.Has("missing") || a.IsNull("missing") {
		t.Error("Has/IsNull")
	}
	check(t, a.CheckKnown(map[string]bool{"s": true}), bad("Unrecognized attribute(s) 'b, big, d, e, f, list, long, n, neg, ns, null, u'"))
	if err := attrs(t, `{"s": 1}`).CheckKnown(map[string]bool{"s": true}); err != nil {
		t.Error(err)
	}
}

func TestAddressHelpers(t *testing.T) {
	for s, want := range map[string]bool{
		sgID: true, "68cc7ec89aab4295ae6d7d60c32757ea": true, strings.ToUpper(sgID): true,
		"68cc7ec8-9aab-4295-ae6d-7d60c32757e": false, "{" + sgID + "}": false, "urn:uuid:" + sgID: false,
		"": false, "default": false, "68cc7ec8-9aab-4295-ae6d-7d60c32757eg": false,
	} {
		if model.IsUUID(s) != want {
			t.Errorf("IsUUID(%q) = %v", s, !want)
		}
	}
	if model.NewID() == model.NewID() || !model.IsUUID(model.NewID()) {
		t.Error("NewID")
	}
	for s, want := range map[string]string{
		"10.0.0.1": "10.0.0.1", "2001:DB8::1": "2001:db8::1", "::ffff:10.0.0.1": "10.0.0.1",
		"10.0.0.256": "", "fe80::1%eth0": "", "010.0.0.1": "", "": "", " 10.0.0.1": "",
	} {
		a, ok := model.ParseIP(s)
		if (want == "") == ok || (ok && a.String() != want) {
			t.Errorf("ParseIP(%q) = %v %v, want %q", s, a, ok, want)
		}
	}
	for s, want := range map[string]string{
		"10.0.0.5/24": "10.0.0.5/24", "10.0.0.5": "10.0.0.5/32", "2001:db8::/64": "2001:db8::/64", "::1": "::1/128",
		"10.0.0.0/33": "", "::ffff:10.0.0.0/104": "", "x/8": "", "10.0.0.0/": "", "fe80::%eth0/64": "",
	} {
		p, ok := model.ParseCIDR(s)
		if (want == "") == ok || (ok && p.String() != want) {
			t.Errorf("ParseCIDR(%q) = %v %v, want %q", s, p, ok, want)
		}
	}
}
