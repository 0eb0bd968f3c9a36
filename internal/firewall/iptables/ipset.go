package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// tmpSet is the scratch set a changed set is filled into before it is
// swapped with the live one. It carries the prefix, so a copy left behind
// by a crash is found and destroyed on the next start.
const tmpSet = firewall.ChainPrefix + "tmp"

// maxSetName is the longest ipset name the kernel accepts.
const maxSetName = 31

// setState is one ipset the applier owns, as the kernel has it.
type setState struct {
	family  firewall.Family
	typ     string
	maxelem int
	members map[string]struct{} // canonical members
	// applied is the wanted member list this state was last brought in
	// line with (the same slice is wanted again while the set does not
	// change: then there is nothing to compare).
	applied []string
}

// parseIPSetSave parses "ipset save" output, keeping owned sets only.
func parseIPSetSave(out []byte) (map[string]*setState, error) {
	sets := map[string]*setState{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !owned(f[1]) {
			continue
		}
		switch f[0] {
		case "create":
			s := &setState{members: map[string]struct{}{}, family: firewall.IPv4, maxelem: 65536}
			if len(f) > 2 {
				s.typ = f[2]
			}
			for i := 3; i+1 < len(f); i++ {
				switch f[i] {
				case "family":
					if f[i+1] == "inet6" {
						s.family = firewall.IPv6
					}
				case "maxelem":
					if n, err := strconv.Atoi(f[i+1]); err == nil {
						s.maxelem = n
					}
				}
			}
			sets[f[1]] = s
		case "add":
			s := sets[f[1]]
			if s == nil || len(f) < 3 {
				return nil, fmt.Errorf("ipset save: add to unknown set %q", f[1])
			}
			if len(f) > 3 {
				// An entry with options (nomatch, timeout...) is not one
				// Bulwark wrote: keep it distinct so the set is rewritten.
				s.members[strings.Join(f[2:], " ")] = struct{}{}
				continue
			}
			m, _, err := canonMember(f[2])
			if err != nil {
				m = f[2]
			}
			s.members[m] = struct{}{}
		}
	}
	return sets, sc.Err()
}

// canonMember returns a member as ipset save prints it for a hash:net set:
// the network masked, without /32 (/128) for single addresses.
func canonMember(s string) (string, firewall.Family, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return "", 0, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", 0, err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Zone() != "" {
		return "", 0, fmt.Errorf("%q: zoned address", s)
	}
	p = p.Masked()
	fam := firewall.IPv4
	if p.Addr().Is6() {
		fam = firewall.IPv6
	}
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String(), fam, nil
	}
	return p.String(), fam, nil
}

// wantSet is a desired set with canonical members.
type wantSet struct {
	name    string
	family  firewall.Family
	members []string // canonical, sorted, unique
}

// canonSet validates a desired set and canonicalises its members. A /0
// member (which hash:net refuses) becomes the two /1 halves, which match
// the same addresses.
func canonSet(s firewall.IPSet) (wantSet, error) {
	w := wantSet{name: s.Name, family: s.Family}
	if !owned(s.Name) || len(s.Name) > maxSetName || strings.ContainsAny(s.Name, " \t\n") {
		return w, fmt.Errorf("set %q: name must start with %q, have no spaces and at most %d characters", s.Name, firewall.ChainPrefix, maxSetName)
	}
	if s.Name == tmpSet {
		return w, fmt.Errorf("set %q: name is reserved for swaps", s.Name)
	}
	if s.Family != firewall.IPv4 && s.Family != firewall.IPv6 {
		return w, fmt.Errorf("set %q: family %d", s.Name, s.Family)
	}
	w.members = make([]string, 0, len(s.Members))
	for _, m := range s.Members {
		c, fam, err := canonMember(strings.TrimSpace(m))
		if err != nil {
			return w, fmt.Errorf("set %q: member %q: %v", s.Name, m, err)
		}
		if fam != s.Family {
			return w, fmt.Errorf("set %q (IPv%d): member %q is IPv%d", s.Name, s.Family, m, fam)
		}
		switch c {
		case "0.0.0.0/0": // hash:net cannot hold a /0: two halves
			w.members = append(w.members, "0.0.0.0/1", "128.0.0.0/1")
		case "::/0":
			w.members = append(w.members, "::/1", "8000::/1")
		default:
			w.members = append(w.members, c)
		}
	}
	// Sorted, then without duplicates (no map: sets are rebuilt often).
	slices.Sort(w.members)
	w.members = slices.Compact(w.members)
	return w, nil
}

func inetFamily(f firewall.Family) string {
	if f == firewall.IPv6 {
		return "inet6"
	}
	return "inet"
}

func maxelemFor(n int) int {
	m := 65536
	for m < 2*n {
		m *= 2
	}
	return m
}

// smallDiff is the largest number of add+del lines used to update a set
// in place; beyond it the set is refilled through a swap.
func smallDiff(size int) int { return max(16, size/8) }

// planSets writes the "ipset restore" script that creates missing sets and
// updates changed ones (before iptables references them), and returns the
// names of owned sets to destroy afterwards. next is the kernel's sets
// once the script has run.
func planSets(have map[string]*setState, want []wantSet) (script []byte, destroy []string, next map[string]*setState, err error) {
	var b bytes.Buffer
	next = make(map[string]*setState, len(want))
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w.name] = true
		cur := have[w.name]
		if cur != nil && cur.family != w.family {
			return nil, nil, nil, fmt.Errorf("set %q exists as IPv%d in the kernel but is wanted as IPv%d", w.name, cur.family, w.family)
		}
		if cur != nil && cur.typ != "hash:net" {
			return nil, nil, nil, fmt.Errorf("set %q exists as %s in the kernel; Bulwark's sets are hash:net", w.name, cur.typ)
		}
		if cur != nil && sameSlice(cur.applied, w.members) {
			next[w.name] = cur // unchanged since the last apply
			continue
		}
		if cur != nil && len(cur.members) == len(w.members) && allIn(w.members, cur.members) {
			cur.applied = w.members
			next[w.name] = cur // unchanged
			continue
		}
		ns := &setState{family: w.family, typ: "hash:net", members: make(map[string]struct{}, len(w.members)), applied: w.members}
		for _, m := range w.members {
			ns.members[m] = struct{}{}
		}
		next[w.name] = ns
		if cur == nil {
			ns.maxelem = maxelemFor(len(w.members))
			fmt.Fprintf(&b, "create %s hash:net family %s hashsize 1024 maxelem %d\n", w.name, inetFamily(w.family), ns.maxelem)
			for _, m := range w.members {
				fmt.Fprintf(&b, "add %s %s\n", w.name, m)
			}
			continue
		}
		ns.maxelem = cur.maxelem
		var add, del []string
		for _, m := range w.members {
			if _, ok := cur.members[m]; !ok {
				add = append(add, m)
			}
		}
		for m := range cur.members {
			if _, ok := ns.members[m]; !ok {
				del = append(del, m)
			}
		}
		if len(add) == 0 && len(del) == 0 {
			continue
		}
		slices.Sort(del)
		if len(add)+len(del) <= smallDiff(len(w.members)) && len(w.members) <= cur.maxelem && !hasOptions(del) {
			// Removals first: in between, the set allows less, never more.
			for _, m := range del {
				fmt.Fprintf(&b, "del %s %s\n", w.name, m)
			}
			for _, m := range add {
				fmt.Fprintf(&b, "add %s %s\n", w.name, m)
			}
			continue
		}
		ns.maxelem = max(cur.maxelem, maxelemFor(len(w.members)))
		if _, stale := have[tmpSet]; stale {
			fmt.Fprintf(&b, "destroy %s\n", tmpSet)
			delete(have, tmpSet)
		}
		fmt.Fprintf(&b, "create %s hash:net family %s hashsize 1024 maxelem %d\n", tmpSet, inetFamily(w.family), ns.maxelem)
		for _, m := range w.members {
			fmt.Fprintf(&b, "add %s %s\n", tmpSet, m)
		}
		fmt.Fprintf(&b, "swap %s %s\n", tmpSet, w.name)
		fmt.Fprintf(&b, "destroy %s\n", tmpSet)
	}
	for name, s := range have {
		if !wanted[name] {
			destroy = append(destroy, name)
			next[name] = s // until destroyed
		}
	}
	slices.Sort(destroy)
	return b.Bytes(), destroy, next, nil
}

func hasOptions(members []string) bool {
	for _, m := range members {
		if strings.Contains(m, " ") {
			return true
		}
	}
	return false
}

// sameSlice reports whether a and b are the same non-empty slice.
func sameSlice(a, b []string) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

func allIn(members []string, set map[string]struct{}) bool {
	for _, m := range members {
		if _, ok := set[m]; !ok {
			return false
		}
	}
	return true
}
