// Package iptables is the applier of the iptables backend: the only code
// in Bulwark that changes the kernel's firewall. It takes the desired
// firewall.Ruleset, diffs it against what the kernel has, and writes only
// the difference: one "iptables-restore --noflush" per IP family per Apply
// (filter and raw tables together) and "ipset restore" for sets.
//
// What it owns: chains and sets whose name starts with firewall.ChainPrefix,
// and, in every other chain, the rules that jump to one of those chains
// (hooks). It never flushes, deletes or edits anything else.
//
// State: the kernel is read once (iptables-save -t filter / -t raw per
// family, ipset save); afterwards a cache of what was written is the
// reference, so an Apply that changes nothing runs no command at all and a
// one-chain change sends that chain only. With a ruleset of
// ImmutableRules, a table it has written (the same *TableRules, as
// firewall.Compiler hands out for a table nothing changed in) is not even
// compared again. Any failed command drops the cache, and the next Apply
// reads the kernel again (Invalidate does the same on demand, e.g. for a
// periodic resync).
//
// A first write of many chains into a filter table that holds nothing at
// all starts with "-Z": iptables-nft 1.8 otherwise inserts every rule's
// chain into a sorted list by a linear walk (quadratic in the chains),
// and a command naming no chain makes it fetch all of them instead. With
// anything of someone else's in the table it is left out (it would zero
// their counters).
//
// Order of an Apply, so that nothing is ever referenced before it exists
// nor removed while referenced:
//
//  1. ipset restore: create missing sets, update changed ones (small diffs
//     as del+add, larger ones filled into a scratch set and swapped in);
//  2. per family, one iptables-restore --noflush transaction: declare new
//     chains; rewrite changed chains in place (":chain - [0:0]" flushes an
//     existing chain, then its rules follow) or, when cheaper, edit only
//     the changed stretch by position (-R/-D/-I); in chains marked
//     Unordered (per-port dispatch), delete the rules that went by spec and
//     append the new ones; fix hooks (-D by rule spec, -I at position 1,
//     each hook exactly once, ours on top); flush and delete (-X) chains
//     no longer wanted, last;
//  3. ipset restore: destroy sets no longer wanted.
//
// Because every chain change happens inside one transaction, a port's
// chain is never missing or half-written, and a chain whose content is
// unchanged is not touched at all: a restarted agent adopts the rules in
// place and established connections keep flowing.
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// MaxChainName is the longest chain name iptables accepts.
const MaxChainName = 28

// tables are the tables the applier manages, in the order they are
// written (raw first: conntrack zones before the filter rules that rely
// on them).
var tables = []firewall.Table{firewall.Raw, firewall.Filter}

// Applier writes Rulesets into the kernel. The zero value is usable: it
// runs the tools directly and manages both IP families. An Applier must be
// the only writer of Bulwark's chains and sets in its network namespace.
type Applier struct {
	// Exec runs commands; nil means Direct. Tests use InNetns.
	Exec Exec
	// Families to manage; nil means IPv4 and IPv6. Owned chains of a
	// family not listed are left alone.
	Families []firewall.Family
	// Log receives one line per write; nil discards.
	Log *slog.Logger

	mu      sync.Mutex
	state   *kernelState
	stats   Stats
	setMemo map[string]setMemo
	// chainMemo remembers, for rulesets with ImmutableRules, every Rules
	// slice validated so far (by its first element: such a slice never
	// changes) and the owned chains it jumps to. Entries the last
	// validation did not use are dropped once there are 64 of them: an
	// Apply that changes one chain does not rebuild a map of every chain,
	// and a stale entry, whose key pins its slice (a dispatch chain of
	// every port), does not linger. It is kept per family and table, so
	// that a table skipped as unchanged (see written) keeps its entries.
	chainMemo map[tableKey]map[*firewall.Rule]*chainMemo
	// applyGen numbers validations; chainMemo entries carry the last one
	// that used them.
	applyGen uint64
	// written holds, per family and table, the table of an ImmutableRules
	// ruleset the cache says the kernel holds: a ruleset bringing the same
	// *TableRules again did not change it (a member-only or a one-table
	// change), so it is neither validated nor diffed again. Dropped with
	// the cache.
	written map[tableKey]*firewall.TableRules
}

type tableKey struct {
	fam firewall.Family
	tbl firewall.Table
}

type chainMemo struct {
	n       int // len of the validated slice
	targets []string
	gen     uint64
}

// sameRules reports whether two rule slices are the same slice: same
// backing array and length (a ruleset with ImmutableRules promises that
// such a slice still holds the same rules).
func sameRules(a, b []firewall.Rule) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

type setMemo struct {
	gen    uint64 // the validation that last used it
	family firewall.Family
	raw    []string
	want   wantSet
}

// Stats counts what an Applier did since it was created.
type Stats struct {
	Reads        int // kernel reads (each is iptables-save per family and table, plus ipset save)
	Restores     int // iptables-restore / ip6tables-restore runs
	SetRestores  int // ipset restore runs
	RestoreLines int // lines sent to iptables-restore
}

// Stats returns the counters.
func (a *Applier) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Invalidate drops the cache: the next Apply reads the kernel first.
func (a *Applier) Invalidate() {
	a.mu.Lock()
	a.state, a.written = nil, nil
	a.mu.Unlock()
}

type kernelState struct {
	tables map[firewall.Family]map[firewall.Table]*tableState
	sets   map[string]*setState
}

// tableState is the applier's view of one table: its chains and hooks.
type tableState struct {
	chains map[string]*chainState
	hooks  map[string]*hookState
	// foreign: the table may hold something not Bulwark's: it did when
	// read, or the read is older than the last write (others may have
	// added theirs since).
	foreign bool
}

// chainState is one owned chain. rules is set once the applier knows the
// chain holds exactly those rules (it wrote them, or compared them);
// otherwise specs holds the chain as iptables-save printed it. src is the
// desired Rules slice (of a ruleset with ImmutableRules) rules equals.
type chainState struct {
	rules []firewall.Rule
	specs []string
	src   []firewall.Rule
}

func (c *chainState) len() int {
	if c.rules != nil {
		return len(c.rules)
	}
	return len(c.specs)
}

func (a *Applier) exec() Exec {
	if a.Exec != nil {
		return a.Exec
	}
	return Direct
}

func (a *Applier) families() []firewall.Family {
	if len(a.Families) > 0 {
		return a.Families
	}
	return []firewall.Family{firewall.IPv4, firewall.IPv6}
}

func saveCmd(f firewall.Family) string {
	if f == firewall.IPv6 {
		return "ip6tables-save"
	}
	return "iptables-save"
}

func restoreCmd(f firewall.Family) string {
	if f == firewall.IPv6 {
		return "ip6tables-restore"
	}
	return "iptables-restore"
}

// read loads the kernel's owned chains, hooks and sets.
func (a *Applier) read(ctx context.Context) (*kernelState, error) {
	ks := &kernelState{tables: map[firewall.Family]map[firewall.Table]*tableState{}}
	for _, fam := range a.families() {
		ks.tables[fam] = map[firewall.Table]*tableState{}
		for _, tbl := range tables {
			out, err := a.exec()(ctx, nil, saveCmd(fam), "-t", string(tbl))
			if err != nil {
				return nil, fmt.Errorf("reading %s table of IPv%d: %w", tbl, fam, err)
			}
			st, err := parseSave(out, tbl)
			if err != nil {
				return nil, err
			}
			ts := &tableState{chains: make(map[string]*chainState, len(st.chains)), hooks: st.hooks, foreign: st.foreign}
			for name, specs := range st.chains {
				ts.chains[name] = &chainState{specs: specs}
			}
			ks.tables[fam][tbl] = ts
		}
	}
	out, err := a.exec()(ctx, nil, "ipset", "save")
	switch {
	case errors.Is(err, exec.ErrNotFound):
		ks.sets = map[string]*setState{} // no ipset: fine as long as no set is wanted
	case err != nil:
		return nil, fmt.Errorf("reading ipsets: %w", err)
	default:
		if ks.sets, err = parseIPSetSave(out); err != nil {
			return nil, err
		}
	}
	a.stats.Reads++
	return ks, nil
}

// wantTable is one desired table, validated.
type wantTable struct {
	chains    []firewall.Chain
	hooks     map[string][]string // chain -> hook specs in order
	hookOrder []string
	// immutable: chains come from a ruleset with ImmutableRules, so a
	// chain whose Rules slice is the one last written is unchanged.
	immutable bool
	// src is the table it was made from; same: src is the table last
	// written (Applier.written), so there is nothing to compare or write.
	src  *firewall.TableRules
	same bool
}

type want struct {
	tables map[firewall.Family]map[firewall.Table]*wantTable
	sets   []wantSet
}

// Zones returns the conntrack zones the kernel's raw table assigns, by
// the id the compiler names in each zone rule's comment
// ("zone:<network-id>", target "CT --zone N"): what the agent feeds back
// as HostState.Zones after a restart, so that networks keep their zones
// and established connections their conntrack entries. It reads the
// kernel if nothing was read yet; the next Apply reuses that read.
func (a *Applier) Zones(ctx context.Context) (map[string]uint16, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		ks, err := a.read(ctx)
		if err != nil {
			return nil, err
		}
		a.state = ks
	}
	zones := map[string]uint16{}
	add := func(comment, target string) {
		id, ok := strings.CutPrefix(comment, firewall.CommentZone+":")
		z, ok2 := strings.CutPrefix(target, "CT --zone ")
		if !ok || !ok2 || id == "" {
			return
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(z), 10, 16); err == nil {
			zones[id] = uint16(n)
		}
	}
	for _, byTable := range a.state.tables {
		ts := byTable[firewall.Raw]
		if ts == nil {
			continue
		}
		for _, c := range ts.chains {
			for _, r := range c.rules {
				add(r.Comment, strings.TrimSpace(r.Target))
			}
			for _, spec := range c.specs {
				comment, target := "", ""
				t := tokens(spec)
				for i := 0; i < len(t)-1; i++ {
					switch t[i] {
					case "--comment":
						comment = t[i+1]
						i++
					case "-j":
						target = strings.Join(t[i+1:], " ")
						i = len(t)
					}
				}
				add(comment, target)
			}
		}
	}
	return zones, nil
}

// validate checks the ruleset against what the applier can write safely,
// before anything is touched.
func (a *Applier) validate(rs *firewall.Ruleset) (*want, error) {
	w := &want{tables: map[firewall.Family]map[firewall.Table]*wantTable{}}
	if rs == nil {
		return nil, errors.New("iptables: nil ruleset")
	}
	for fam, byTable := range rs.Tables {
		if fam != firewall.IPv4 && fam != firewall.IPv6 {
			return nil, fmt.Errorf("ruleset: unknown family %d", fam)
		}
		for tbl := range byTable {
			if tbl != firewall.Filter && tbl != firewall.Raw {
				return nil, fmt.Errorf("ruleset: table %q is not managed by the applier", tbl)
			}
		}
	}
	if !rs.ImmutableRules {
		a.chainMemo = nil
	} else if a.chainMemo == nil {
		a.chainMemo = map[tableKey]map[*firewall.Rule]*chainMemo{}
	}
	a.applyGen++
	gen := a.applyGen
	for _, fam := range a.families() {
		w.tables[fam] = map[firewall.Table]*wantTable{}
		for _, tbl := range tables {
			wt := &wantTable{hooks: map[string][]string{}, immutable: rs.ImmutableRules}
			w.tables[fam][tbl] = wt
			tr := rs.Tables[fam][tbl]
			key := tableKey{fam, tbl}
			if rs.ImmutableRules {
				wt.src = tr
				if tr != nil && a.state != nil && a.written[key] == tr {
					wt.same = true // checked and written as it is
					continue
				}
			}
			if tr == nil {
				continue
			}
			var cmemo map[*firewall.Rule]*chainMemo
			live := 0
			if rs.ImmutableRules {
				if cmemo = a.chainMemo[key]; cmemo == nil {
					cmemo = map[*firewall.Rule]*chainMemo{}
					a.chainMemo[key] = cmemo
				}
			}
			where := fmt.Sprintf("IPv%d %s", fam, tbl)
			declared := make(map[string]bool, len(tr.Chains))
			for _, c := range tr.Chains {
				if !owned(c.Name) || len(c.Name) > MaxChainName || strings.ContainsAny(c.Name, " \t\n\"") {
					return nil, fmt.Errorf("%s: chain %q: name must start with %q, have no spaces and at most %d characters", where, c.Name, firewall.ChainPrefix, MaxChainName)
				}
				if declared[c.Name] {
					return nil, fmt.Errorf("%s: chain %q declared twice", where, c.Name)
				}
				declared[c.Name] = true
			}
			undeclared := func(chain, t string) error {
				return fmt.Errorf("%s: chain %s jumps to %s, which the ruleset does not declare", where, chain, t)
			}
			// checkRule returns the owned chain the rule jumps to, if any.
			checkRule := func(chain string, r firewall.Rule) (string, error) {
				if hasBreak(r.Match) || hasBreak(r.Target) || hasBreak(r.Comment) {
					return "", fmt.Errorf("%s: chain %s: rule %q contains a line break", where, chain, RuleSpec(r))
				}
				if len(r.Comment) > 255 {
					return "", fmt.Errorf("%s: chain %s: comment longer than 255 bytes", where, chain)
				}
				if r.Goto || strings.HasPrefix(strings.TrimLeft(r.Target, " "), firewall.ChainPrefix) {
					t := targetName(r)
					if !owned(t) {
						return "", fmt.Errorf("%s: chain %s: goto %q: only Bulwark's own chains can be a goto target", where, chain, t)
					}
					if !declared[t] {
						return "", undeclared(chain, t)
					}
					return t, nil
				}
				return "", nil
			}
			for _, c := range tr.Chains {
				if cmemo != nil && len(c.Rules) > 0 {
					if m := cmemo[&c.Rules[0]]; m != nil && m.n == len(c.Rules) {
						// Checked when first seen; only its jump targets
						// depend on the rest of the ruleset.
						for _, t := range m.targets {
							if !declared[t] {
								return nil, undeclared(c.Name, t)
							}
						}
						if m.gen != gen {
							m.gen = gen
							live++
						}
						continue
					}
				}
				var targets []string
				for _, r := range c.Rules {
					t, err := checkRule(c.Name, r)
					if err != nil {
						return nil, err
					}
					if t != "" && (len(targets) == 0 || targets[len(targets)-1] != t) {
						targets = append(targets, t)
					}
				}
				if cmemo != nil && len(c.Rules) > 0 {
					cmemo[&c.Rules[0]] = &chainMemo{n: len(c.Rules), targets: targets, gen: gen}
					live++
				}
			}
			wt.chains = tr.Chains
			if cmemo != nil && len(cmemo) > live+64 {
				for k, m := range cmemo {
					if m.gen != gen {
						delete(cmemo, k)
					}
				}
			}
			for _, h := range tr.Hooks {
				if h.BuiltinChain == "" || owned(h.BuiltinChain) {
					return nil, fmt.Errorf("%s: hook into %q: must be a chain Bulwark does not own", where, h.BuiltinChain)
				}
				if _, err := checkRule(h.BuiltinChain, h.Rule); err != nil {
					return nil, err
				}
				if t := targetName(h.Rule); !owned(t) {
					// A hook must be recognisable as ours when read back,
					// or a restart would insert it a second time.
					return nil, fmt.Errorf("%s: hook in %s must jump to a %s chain, not %q", where, h.BuiltinChain, firewall.ChainPrefix, h.Rule.Target)
				}
				spec := RuleSpec(h.Rule)
				if slices.Contains(wt.hooks[h.BuiltinChain], spec) {
					continue // the same hook twice is one hook
				}
				if _, ok := wt.hooks[h.BuiltinChain]; !ok {
					wt.hookOrder = append(wt.hookOrder, h.BuiltinChain)
				}
				wt.hooks[h.BuiltinChain] = append(wt.hooks[h.BuiltinChain], spec)
			}
		}
	}
	// The memo is updated in place (entries carry the validation that
	// last used them), so that an Apply with thousands of unchanged sets
	// allocates no map.
	if a.setMemo == nil {
		a.setMemo = make(map[string]setMemo, len(rs.Sets))
	}
	w.sets = make([]wantSet, 0, len(rs.Sets))
	for _, s := range rs.Sets {
		// Canonicalising thousands of members on every Apply is wasted
		// when they did not change: reuse the last result.
		m, ok := a.setMemo[s.Name]
		if ok && m.gen == gen {
			return nil, fmt.Errorf("set %q declared twice", s.Name)
		}
		same := ok && m.family == s.Family && (sameSlice(m.raw, s.Members) || slices.Equal(m.raw, s.Members))
		if !same {
			ws, err := canonSet(s)
			if err != nil {
				return nil, err
			}
			raw := s.Members
			if !rs.ImmutableRules {
				raw = slices.Clone(raw) // the caller may change its slices
			}
			m = setMemo{family: s.Family, raw: raw, want: ws}
		}
		m.gen = gen
		a.setMemo[s.Name] = m
		w.sets = append(w.sets, m.want)
	}
	if len(a.setMemo) > len(rs.Sets) {
		for name, m := range a.setMemo {
			if m.gen != gen {
				delete(a.setMemo, name)
			}
		}
	}
	return w, nil
}

// Apply makes the kernel hold exactly the desired ruleset's chains, hooks
// and sets (and leaves everything Bulwark does not own alone). On error
// each transaction that failed left its family untouched; the cache is
// dropped and the next Apply starts from a fresh read.
func (a *Applier) Apply(ctx context.Context, desired *firewall.Ruleset) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, err := a.validate(desired)
	if err != nil {
		return err
	}
	if a.state == nil {
		if a.state, err = a.read(ctx); err != nil {
			return err
		}
	}
	a.written = nil // until the tables are written
	if err := a.apply(ctx, w); err != nil {
		a.state = nil
		return err
	}
	if desired.ImmutableRules {
		a.written = map[tableKey]*firewall.TableRules{}
		for fam, byTable := range w.tables {
			for tbl, wt := range byTable {
				if wt.src != nil {
					a.written[tableKey{fam, tbl}] = wt.src
				}
			}
		}
	}
	return nil
}

func (a *Applier) apply(ctx context.Context, w *want) error {
	ks := a.state
	// 1. Sets first, so rules never reference a missing set.
	script, destroy, nextSets, err := planSets(ks.sets, w.sets)
	if err != nil {
		return err
	}
	if len(script) > 0 {
		if err := a.setRestore(ctx, script); err != nil {
			return err
		}
	}
	ks.sets = nextSets

	// 2. One transaction per family.
	for _, fam := range a.families() {
		var buf bytes.Buffer
		full := false
		if ts := ks.tables[fam][firewall.Filter]; ts == nil || len(ts.chains) == 0 {
			full = true
			// A full write: size the text once instead of letting the
			// buffer double its way up (the copies are the resync's
			// memory peak).
			buf.Grow(restoreSizeHint(w.tables[fam]))
		}
		next := map[firewall.Table]*tableState{}
		lines := 0
		for _, tbl := range tables {
			if w.tables[fam][tbl].same {
				next[tbl] = ks.tables[fam][tbl]
				continue
			}
			ts, n := planTable(&buf, tbl, ks.tables[fam][tbl], w.tables[fam][tbl])
			next[tbl] = ts
			lines += n
		}
		if buf.Len() > 0 {
			if err := a.restore(ctx, fam, buf.Bytes()); err != nil {
				return err
			}
			a.stats.RestoreLines += lines
			a.logf("iptables: applied", "family", int(fam), "lines", lines)
		}
		ks.tables[fam] = next
		if full && buf.Cap() > 1<<20 {
			// The text of a full write (megabytes on a large host) is
			// garbage now: collect it before the next family's text is
			// built, or the resync's peak holds both.
			buf = bytes.Buffer{}
			runtime.GC()
		}
	}

	// 3. Sets nothing references any more.
	if len(destroy) > 0 {
		var b bytes.Buffer
		for _, name := range destroy {
			fmt.Fprintf(&b, "destroy %s\n", name)
		}
		if err := a.setRestore(ctx, b.Bytes()); err != nil {
			return err
		}
		for _, name := range destroy {
			delete(ks.sets, name)
		}
	}
	return nil
}

// restoreSizeHint estimates the restore text of a whole family from the
// lengths of what each line holds (chain name, match, target, comment)
// plus the words around them, so that a full write sizes its buffer once
// and close to what it needs (a fixed guess per rule was 1.7x too much).
func restoreSizeHint(tbls map[firewall.Table]*wantTable) int {
	n := 64
	for _, wt := range tbls {
		for _, c := range wt.chains {
			n += 2*len(c.Name) + 16 // declaration
			for _, r := range c.Rules {
				n += len(c.Name) + len(r.Match) + len(r.Target) + len(r.Comment) + 40
			}
		}
		for _, specs := range wt.hooks {
			for _, spec := range specs {
				n += len(spec) + 40
			}
		}
	}
	return n
}

func (a *Applier) logf(msg string, args ...any) {
	if a.Log != nil {
		a.Log.Info(msg, args...)
	}
}

func (a *Applier) setRestore(ctx context.Context, script []byte) error {
	a.stats.SetRestores++
	if _, err := a.exec()(ctx, script, "ipset", "restore"); err != nil {
		return withLine(fmt.Errorf("ipset restore: %w", err), script)
	}
	a.logf("ipset: applied", "lines", bytes.Count(script, []byte("\n")))
	return nil
}

func (a *Applier) restore(ctx context.Context, fam firewall.Family, input []byte) error {
	a.stats.Restores++
	if _, err := a.exec()(ctx, input, restoreCmd(fam), "-w", "5", "--noflush"); err != nil {
		return withLine(fmt.Errorf("IPv%d: %w", fam, err), input)
	}
	return nil
}

var failedLine = regexp.MustCompile(`(?i)line:? (\d+)`)

// withLine adds the input line a restore tool complains about to its error.
func withLine(err error, input []byte) error {
	m := failedLine.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(input), "\n")
	if n < 1 || n > len(lines) {
		return err
	}
	return fmt.Errorf("%w (input line %d: %s)", err, n, lines[n-1])
}

// zeroFirstChains: a first write declaring more chains than this starts
// with "-Z" (see planTable); below it the quadratic walk costs nothing.
const zeroFirstChains = 100

// planTable appends the restore section of one table to b (nothing when
// the table is unchanged) and returns the table's state after it and the
// number of lines written.
func planTable(b *bytes.Buffer, tbl firewall.Table, have *tableState, w *wantTable) (*tableState, int) {
	if have == nil {
		have = &tableState{chains: map[string]*chainState{}, hooks: map[string]*hookState{}, foreign: true}
	}
	// The chain map is updated in place: a table of thousands of chains of
	// which one changed costs one entry, not a new map. (If the restore
	// fails, the applier drops its whole state and reads the kernel again.)
	next := &tableState{chains: have.chains, hooks: map[string]*hookState{}, foreign: true}
	// decl, then whole chains (written straight into b, without a string
	// per line: a full write is megabytes), then body, then tail.
	var decl, body, tail []string
	var whole []*firewall.Chain
	wholeLines := 0
	// empty: the table holds none of ours yet and nothing of anyone else's.
	empty := len(have.chains) == 0 && !have.foreign

	before, found := len(have.chains), 0
	for i := range w.chains {
		c := &w.chains[i]
		cur := have.chains[c.Name]
		if cur != nil {
			found++
		}
		if w.immutable && cur != nil && cur.rules != nil && sameRules(cur.src, c.Rules) {
			next.chains[c.Name] = cur // the very slice last written: unchanged
			continue
		}
		if cur != nil && cur.rules != nil && slices.Equal(cur.rules, c.Rules) {
			if w.immutable {
				cur.src = c.Rules
			}
			next.chains[c.Name] = cur // unchanged: not touched
			continue
		}
		// An immutable ruleset promises never to change c.Rules, so the
		// cache can share it instead of holding a second copy of every
		// rule (7.7 MB at 2,000 ports).
		rules := c.Rules
		var src []firewall.Rule
		if w.immutable {
			src = c.Rules
		} else {
			rules = slices.Clone(c.Rules)
		}
		if rules == nil {
			rules = []firewall.Rule{}
		}
		next.chains[c.Name] = &chainState{rules: rules, src: src}
		if cur == nil {
			decl = append(decl, ":"+c.Name+" - [0:0]")
			whole, wholeLines = append(whole, c), wholeLines+len(c.Rules)
			continue
		}
		if c.Unordered {
			if lines, kept, ok := unorderedEdit(*c, cur); ok {
				body = append(body, lines...)
				next.chains[c.Name] = &chainState{rules: kept}
				continue
			}
		}
		var specs []string // desired specs, needed only against a chain read from the kernel
		if cur.rules == nil {
			specs = make([]string, len(c.Rules))
			for i, r := range c.Rules {
				specs[i] = RuleSpec(r)
			}
		}
		eq := func(i, j int) bool {
			if cur.rules != nil {
				return cur.rules[i] == c.Rules[j]
			}
			return cur.specs[i] == specs[j]
		}
		lo, ln := cur.len(), len(c.Rules)
		p := 0
		for p < lo && p < ln && eq(p, p) {
			p++
		}
		if p == lo && p == ln {
			continue // unchanged: not touched
		}
		s := 0
		for s < lo-p && s < ln-p && eq(lo-1-s, ln-1-s) {
			s++
		}
		mo, mn := lo-p-s, ln-p-s
		if max(mo, mn) >= ln+1 {
			// Rewrite: flush and refill inside the transaction.
			decl = append(decl, ":"+c.Name+" - [0:0]")
			whole, wholeLines = append(whole, c), wholeLines+len(c.Rules)
			continue
		}
		// Edit the changed stretch [p, p+mo) -> [p, p+mn) in place.
		k := 0
		for ; k < min(mo, mn); k++ {
			body = append(body, "-R "+c.Name+" "+strconv.Itoa(p+k+1)+" "+RuleSpec(c.Rules[p+k]))
		}
		for ; k < mo; k++ {
			body = append(body, "-D "+c.Name+" "+strconv.Itoa(p+mn+1))
		}
		for ; k < mn; k++ {
			if s == 0 {
				body = append(body, RuleLine(c.Name, c.Rules[p+k]))
			} else {
				body = append(body, "-I "+c.Name+" "+strconv.Itoa(p+k+1)+" "+RuleSpec(c.Rules[p+k]))
			}
		}
	}

	// Hooks: ours exactly once each, on top of the chain, in order.
	hookChains := slices.Clone(w.hookOrder)
	var extra []string
	for name := range have.hooks {
		if _, ok := w.hooks[name]; !ok {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	hookChains = append(hookChains, extra...)
	for _, chain := range hookChains {
		d := w.hooks[chain]
		var k []string
		top := true
		if h := have.hooks[chain]; h != nil {
			k, top = h.specs, h.top
		}
		if len(d) > 0 {
			next.hooks[chain] = &hookState{specs: d, top: true}
		}
		if top && slices.Equal(k, d) {
			continue
		}
		dels, ins := k, d
		if top && !hasDup(k) && !hasDup(d) {
			var kept []string
			dels = nil
			for _, spec := range k {
				if slices.Contains(d, spec) {
					kept = append(kept, spec)
				} else {
					dels = append(dels, spec)
				}
			}
			if slices.Equal(kept, d[len(d)-len(kept):]) {
				ins = d[:len(d)-len(kept)]
			} else {
				dels, ins = k, d
			}
		}
		for _, spec := range dels {
			body = append(body, "-D "+chain+" "+spec)
		}
		for i := len(ins) - 1; i >= 0; i-- {
			body = append(body, "-I "+chain+" 1 "+ins[i])
		}
	}

	// Chains no longer wanted: flushed with the others, deleted last,
	// after every jump to them is gone.
	var gone []string
	if found < before {
		wanted := make(map[string]bool, len(w.chains))
		for _, c := range w.chains {
			wanted[c.Name] = true
		}
		for name := range have.chains {
			if !wanted[name] {
				gone = append(gone, name)
				delete(next.chains, name)
			}
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		decl = append(decl, ":"+name+" - [0:0]")
		tail = append(tail, "-X "+name)
	}

	n := len(decl) + wholeLines + len(body) + len(tail)
	if n == 0 {
		return next, 0
	}
	b.WriteString("*" + string(tbl) + "\n")
	if tbl == firewall.Filter && empty && len(decl) > zeroFirstChains {
		// A first write into a table holding nothing but built-in chains.
		// iptables-nft 1.8 keeps the chains a batch names in a sorted
		// list, inserting each rule's chain and jump target by a linear
		// walk: quadratic in the chains (a third of a 2,000-port setup).
		// A command naming no chain makes it fetch all chains instead;
		// "-Z" (zero the counters) is one, and with nothing else in the
		// table it zeroes nothing anyone reads.
		b.WriteString("-Z\n")
	}
	for _, l := range decl {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, c := range whole {
		for _, r := range c.Rules {
			appendRuleLine(b, c.Name, r)
			b.WriteByte('\n')
		}
	}
	for _, part := range [][]string{body, tail} {
		for _, l := range part {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	b.WriteString("COMMIT\n")
	return next, n
}

// unorderedEdit updates a chain whose rule order carries no meaning
// (firewall.Chain.Unordered, e.g. the per-port dispatch chains) by
// deleting the rules that went (-D by spec) and appending the new ones,
// so that a port coming or going costs its own lines only, wherever it
// sorts. It returns the lines and the chain as the kernel will hold it
// (kept rules in kernel order, then the appended ones); ok is false when
// rewriting the chain is cheaper.
func unorderedEdit(c firewall.Chain, cur *chainState) (lines []string, kernel []firewall.Rule, ok bool) {
	var dels, adds []string
	var kept []firewall.Rule
	var added []firewall.Rule
	if cur.rules != nil {
		count := make(map[firewall.Rule]int, len(c.Rules))
		for _, r := range c.Rules {
			count[r]++
		}
		for _, r := range cur.rules {
			if count[r] > 0 {
				count[r]--
				kept = append(kept, r)
			} else {
				dels = append(dels, RuleSpec(r))
			}
		}
		for _, r := range c.Rules {
			if count[r] > 0 {
				count[r]--
				added = append(added, r)
			}
		}
	} else {
		specs := make([]string, len(c.Rules))
		bySpec := make(map[string]firewall.Rule, len(c.Rules))
		count := make(map[string]int, len(c.Rules))
		for i, r := range c.Rules {
			specs[i] = RuleSpec(r)
			count[specs[i]]++
			if _, ok := bySpec[specs[i]]; !ok {
				bySpec[specs[i]] = r
			}
		}
		for _, sp := range cur.specs {
			if count[sp] > 0 {
				count[sp]--
				kept = append(kept, bySpec[sp])
			} else {
				dels = append(dels, sp)
			}
		}
		for i, r := range c.Rules {
			if count[specs[i]] > 0 {
				count[specs[i]]--
				added = append(added, r)
			}
		}
	}
	if len(dels)+len(added) > len(c.Rules) {
		return nil, nil, false
	}
	for _, sp := range dels {
		lines = append(lines, "-D "+c.Name+" "+sp)
	}
	for _, r := range added {
		adds = append(adds, RuleLine(c.Name, r))
	}
	lines = append(lines, adds...)
	kernel = append(kept, added...)
	if kernel == nil {
		kernel = []firewall.Rule{}
	}
	return lines, kernel, true
}

func hasBreak(s string) bool {
	return strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0
}

// targetName is the chain or target a rule jumps to, without options.
func targetName(r firewall.Rule) string {
	t, _, _ := strings.Cut(strings.TrimSpace(r.Target), " ")
	return t
}

func hasDup(s []string) bool {
	seen := make(map[string]bool, len(s))
	for _, x := range s {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}

// Drift reads the kernel and reports every difference between it and what
// the applier believes it wrote (owned chains, hooks, sets), one line per
// difference; an empty result means the kernel holds exactly that. It does
// not change the cache. Rules that iptables-save prints differently from
// how they were given show up here, which makes Drift the round-trip check
// for a renderer's output.
func (a *Applier) Drift(ctx context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return nil, errors.New("iptables: nothing applied yet")
	}
	saved := a.stats
	ks, err := a.read(ctx)
	a.stats = saved
	if err != nil {
		return nil, err
	}
	var out []string
	for _, fam := range a.families() {
		for _, tbl := range tables {
			where := fmt.Sprintf("IPv%d %s", fam, tbl)
			mine, kern := a.state.tables[fam][tbl], ks.tables[fam][tbl]
			names := map[string]bool{}
			for n := range mine.chains {
				names[n] = true
			}
			for n := range kern.chains {
				names[n] = true
			}
			for _, n := range slices.Sorted(maps.Keys(names)) {
				m, k := mine.chains[n], kern.chains[n]
				switch {
				case m == nil:
					out = append(out, fmt.Sprintf("%s: unexpected chain %s", where, n))
				case k == nil:
					out = append(out, fmt.Sprintf("%s: chain %s missing", where, n))
				default:
					want := m.specs
					if m.rules != nil {
						want = make([]string, len(m.rules))
						for i, r := range m.rules {
							want[i] = RuleSpec(r)
						}
					}
					for i := 0; i < max(len(want), len(k.specs)); i++ {
						var wspec, kspec string
						if i < len(want) {
							wspec = want[i]
						}
						if i < len(k.specs) {
							kspec = k.specs[i]
						}
						if wspec != kspec {
							out = append(out, fmt.Sprintf("%s: chain %s rule %d: wrote %q, kernel has %q", where, n, i+1, wspec, kspec))
						}
					}
				}
			}
			hooks := map[string]bool{}
			for n := range mine.hooks {
				hooks[n] = true
			}
			for n := range kern.hooks {
				hooks[n] = true
			}
			for _, n := range slices.Sorted(maps.Keys(hooks)) {
				var m, k hookState
				if h := mine.hooks[n]; h != nil {
					m = *h
				}
				if h := kern.hooks[n]; h != nil {
					k = *h
				}
				if !slices.Equal(m.specs, k.specs) || (len(k.specs) > 0 && !k.top) {
					out = append(out, fmt.Sprintf("%s: hooks in %s: wrote %q on top, kernel has %q (on top: %v)", where, n, m.specs, k.specs, k.top))
				}
			}
		}
	}
	setNames := map[string]bool{}
	for n := range a.state.sets {
		setNames[n] = true
	}
	for n := range ks.sets {
		setNames[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(setNames)) {
		m, k := a.state.sets[n], ks.sets[n]
		switch {
		case m == nil:
			out = append(out, "unexpected set "+n)
		case k == nil:
			out = append(out, "set "+n+" missing")
		case m.family != k.family || !equalMembers(m.members, k.members):
			out = append(out, fmt.Sprintf("set %s: wrote %d members, kernel has %d (or a different family)", n, len(m.members), len(k.members)))
		}
	}
	return out, nil
}

func equalMembers(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for m := range a {
		if _, ok := b[m]; !ok {
			return false
		}
	}
	return true
}
