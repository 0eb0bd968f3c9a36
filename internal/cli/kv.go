package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseKV splits an openstack-style "key=value,key=value" option value.
// Keys are normalized to use '-' (ip_address and ip-address are the same
// key); allowed lists the keys it may hold.
func parseKV(flag, spec string, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, usagef("--%s %q: expected key=value (keys: %s)", flag, spec, strings.Join(allowed, ", "))
		}
		k = strings.ReplaceAll(strings.TrimSpace(k), "_", "-")
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
			}
		}
		if !known {
			return nil, usagef("--%s %q: unknown key %q (keys: %s)", flag, spec, k, strings.Join(allowed, ", "))
		}
		if _, dup := out[k]; dup {
			return nil, usagef("--%s %q: key %q given twice", flag, spec, k)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// parseAll parses every spec, stopping at the first mistake.
func parseAll[T any](specs []string, parse func(spec string) (T, error)) ([]T, error) {
	var out []T
	for _, spec := range specs {
		v, err := parse(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pair is one allowed address pair as the API holds it.
type pair struct {
	IP  string
	MAC string
}

// matches reports whether e, an entry of a port's allowed_address_pairs,
// is p (a pair without MAC matches on its address alone).
func (p pair) matches(e any) bool {
	m, _ := e.(map[string]any)
	return str(m["ip_address"]) == p.IP && (p.MAC == "" || str(m["mac_address"]) == p.MAC)
}

func (p pair) body() map[string]any {
	m := map[string]any{"ip_address": p.IP}
	if p.MAC != "" {
		m["mac_address"] = p.MAC
	}
	return m
}

// parsePair reads "ip-address=X[,mac-address=M]" (underscores accepted).
func parsePair(flag, spec string) (pair, error) {
	kv, err := parseKV(flag, spec, "ip-address", "mac-address")
	if err != nil {
		return pair{}, err
	}
	p := pair{IP: kv["ip-address"], MAC: kv["mac-address"]}
	if p.IP == "" {
		return pair{}, usagef("--%s %q: ip-address is required", flag, spec)
	}
	if err := checkIPOrCIDR(flag, p.IP); err != nil {
		return pair{}, err
	}
	return p, nil
}

func checkIPOrCIDR(flag, s string) error {
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return nil
	}
	return usagef("--%s: %q is not an IP address or CIDR", flag, s)
}

// parseBool reads the spellings of true and false the neutron CLI accepts
// (True/False in any case, yes/no, 1/0).
func parseBool(flag, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, usagef("--%s: %q is not a boolean (True or False)", flag, s)
}

// parsePortRange reads "N" or "N:M" (openstack --dst-port).
func parsePortRange(flag, s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, ":")
	if lo, err = strconv.Atoi(a); err != nil || lo < 0 || lo > 65535 {
		return 0, 0, usagef("--%s %q: not a port number or range N:M", flag, s)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil || hi < lo || hi > 65535 {
			return 0, 0, usagef("--%s %q: not a port range N:M with N <= M", flag, s)
		}
	}
	return lo, hi, nil
}

func atoiFlag(flag, s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, usagef("--%s %q: expected a number from 0 to %d", flag, s, max)
	}
	return n, nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
