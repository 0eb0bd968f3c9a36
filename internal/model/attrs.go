package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/google/uuid"
)

// Attrs is one resource object from a request body, attribute by attribute,
// still undecoded so that each attribute gets Neutron's own message when its
// type is wrong.
type Attrs map[string]json.RawMessage

// ParseBody decodes a request body that holds either {"<singular>": {...}}
// or, for bulk create, {"<plural>": [{...}, ...]}.
func ParseBody(body []byte, singular, plural string, allowBulk bool) (items []Attrs, bulk bool, err error) {
	var top map[string]json.RawMessage
	if err := decodeStrict(body, &top); err != nil || top == nil {
		return nil, false, apierr.BadRequest("Body contains invalid data")
	}
	if raw, ok := top[singular]; ok && len(top) == 1 {
		var one Attrs
		if err := json.Unmarshal(raw, &one); err != nil || one == nil {
			return nil, false, apierr.BadRequest("Body contains invalid data")
		}
		return []Attrs{one}, false, nil
	}
	if raw, ok := top[plural]; ok && len(top) == 1 && allowBulk {
		var many []Attrs
		if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
			return nil, false, apierr.BadRequest("Body contains invalid data")
		}
		for _, a := range many {
			if a == nil {
				return nil, false, apierr.BadRequest("Body contains invalid data")
			}
		}
		return many, true, nil
	}
	return nil, false, apierr.BadRequest("Unable to find '%s' in request body", singular)
}

// decodeStrict unmarshals exactly one JSON value and rejects trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// CheckKnown rejects attributes outside allowed, as Neutron does:
// "Unrecognized attribute(s) 'a, b'".
func (a Attrs) CheckKnown(allowed map[string]bool) error {
	var unknown []string
	for k := range a {
		if !allowed[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return apierr.BadRequest("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
}

// Has reports whether the attribute was sent at all.
func (a Attrs) Has(name string) bool { _, ok := a[name]; return ok }

// IsNull reports whether the attribute was sent as JSON null.
func (a Attrs) IsNull(name string) bool {
	raw, ok := a[name]
	return ok && isNull(raw)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// pyRepr renders a JSON value roughly as Python would print it in
// Neutron's messages: strings bare (callers add quotes), others as JSON.
func pyRepr(raw json.RawMessage) string {
	if isNull(raw) {
		return "None"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	t := strings.TrimSpace(string(raw))
	switch t {
	case "true":
		return "True"
	case "false":
		return "False"
	}
	return t
}

// String decodes a string attribute of at most maxLen characters.
func (a Attrs) String(name string, maxLen int) (string, bool, error) {
	raw, ok := a[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
		return "", true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid string", pyRepr(raw)))
	}
	if maxLen > 0 && len([]rune(s)) > maxLen {
		return "", true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' exceeds maximum length of %d", s, maxLen))
	}
	return s, true, nil
}

// NullableString decodes a string attribute that may be null.
func (a Attrs) NullableString(name string, maxLen int) (*string, bool, error) {
	if a.IsNull(name) {
		return nil, true, nil
	}
	s, ok, err := a.String(name, maxLen)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &s, true, nil
}

// Bool decodes a boolean the way Neutron's convert_to_boolean does
// (oslo strutils.bool_from_string, strict): JSON booleans, and strings or
// numbers whose text is one of 1/t/true/on/y/yes or 0/f/false/off/n/no in
// any case, surrounding blanks ignored. Anything else, null included, is
// InvalidInput "'X' cannot be converted to boolean.".
func (a Attrs) Bool(name string) (bool, bool, error) {
	raw, ok := a[name]
	if !ok {
		return false, false, nil
	}
	if !isNull(raw) {
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return b, true, nil
		}
		text := ""
		var s string
		var n json.Number
		if json.Unmarshal(raw, &s) == nil {
			text = s
		} else if json.Unmarshal(raw, &n) == nil {
			text = n.String()
		}
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "1", "t", "true", "on", "y", "yes":
			return true, true, nil
		case "0", "f", "false", "off", "n", "no":
			return false, true, nil
		}
	}
	return false, true, apierr.InvalidInput("'%s' cannot be converted to boolean.", pyRepr(raw))
}

// Int decodes an integer, accepting a decimal string as Neutron's
// convert_to_int does. Null yields (nil, true, nil).
func (a Attrs) Int(name string) (*int, bool, error) {
	raw, ok := a[name]
	if !ok {
		return nil, false, nil
	}
	if isNull(raw) {
		return nil, true, nil
	}
	v, err := toInt(raw)
	if err != nil {
		return nil, true, apierr.InvalidInput("'%s' is not an integer.", pyRepr(raw))
	}
	return &v, true, nil
}

func toInt(raw json.RawMessage) (int, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, err
	}
	switch t := v.(type) {
	case json.Number:
		n = t
	case string:
		n = json.Number(strings.TrimSpace(t))
	case bool:
		if t {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("not an integer")
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		return 0, fmt.Errorf("not an integer")
	}
	return int(i), nil
}

// UUID decodes an attribute that must be a UUID string.
func (a Attrs) UUID(name string) (string, bool, error) {
	raw, ok := a[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !IsUUID(s) {
		return "", true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid UUID", pyRepr(raw)))
	}
	return s, true, nil
}

// NullableUUID decodes a UUID that may be null.
func (a Attrs) NullableUUID(name string) (*string, bool, error) {
	if a.IsNull(name) {
		return nil, true, nil
	}
	s, ok, err := a.UUID(name)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &s, true, nil
}

// UUIDList decodes a list of UUIDs (security_groups); repeats are an error.
func (a Attrs) UUIDList(name string) ([]string, bool, error) {
	raw, ok := a[name]
	if !ok {
		return nil, false, nil
	}
	if isNull(raw) {
		return []string{}, true, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a list", pyRepr(raw)))
	}
	// Neutron's _validate_list_of_items: repeats are rejected before the
	// items themselves are looked at.
	var dups []string
	seen := map[string]int{}
	for _, it := range items {
		k := string(bytes.TrimSpace(it))
		seen[k]++
		if seen[k] == 2 {
			dups = append(dups, pyRepr(it))
		}
	}
	if len(dups) > 0 {
		return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("Duplicate items in the list: '%s'", strings.Join(dups, ", ")))
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil || !IsUUID(s) {
			return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid UUID", pyRepr(it)))
		}
		out = append(out, s)
	}
	return out, true, nil
}

// StringList decodes a list of strings.
func (a Attrs) StringList(name string, maxLen int) ([]string, bool, error) {
	raw, ok := a[name]
	if !ok {
		return nil, false, nil
	}
	if isNull(raw) {
		return []string{}, true, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a list", pyRepr(raw)))
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a valid string", pyRepr(it)))
		}
		if maxLen > 0 && len([]rune(s)) > maxLen {
			return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' exceeds maximum length of %d", s, maxLen))
		}
		out = append(out, s)
	}
	return out, true, nil
}

// OneOf decodes a string that must be one of values.
func (a Attrs) OneOf(name string, values ...string) (string, bool, error) {
	raw, ok := a[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		for _, v := range values {
			if s == v {
				return s, true, nil
			}
		}
	}
	return "", true, apierr.InvalidAttr(name, fmt.Sprintf("%s is not in valid_values", pyRepr(raw)))
}

// Dict decodes a JSON object attribute (binding:profile).
func (a Attrs) Dict(name string) (map[string]any, bool, error) {
	raw, ok := a[name]
	if !ok {
		return nil, false, nil
	}
	if isNull(raw) {
		return map[string]any{}, true, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, true, apierr.InvalidAttr(name, fmt.Sprintf("'%s' is not a dictionary", pyRepr(raw)))
	}
	return m, true, nil
}

// IsUUID reports whether s is a UUID in its canonical 36-character form
// (Neutron also accepts the 32-hex form; both are taken here).
func IsUUID(s string) bool {
	if len(s) != 36 && len(s) != 32 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NewID returns a fresh random UUID.
func NewID() string { return uuid.NewString() }

// ParseIP parses an IP address without zone.
func ParseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// ParseCIDR parses "addr/len" (host bits allowed) or a bare address (as a
// host prefix).
func ParseCIDR(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, ok := ParseIP(s)
		if !ok {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, false
	}
	return p, true
}

// ValidMAC reports whether s is a 6-octet colon- or dash-separated MAC.
func ValidMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' && c != '-' {
				return false
			}
			continue
		}
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
			return false
		}
	}
	return true
}

// NormalizeMAC lower-cases a MAC and uses colons.
func NormalizeMAC(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", ":") }
