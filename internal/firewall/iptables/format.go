package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/bulwark-net/bulwark/internal/firewall"
)

// The applier compares what it wants with what the kernel has as text, in
// the form iptables-save prints:
//
//	-A <chain> <match> -m comment --comment "<comment>" -j <target>
//
// so a rule's Match must already be in that form ("-p tcp -m tcp --dport
// 22", "-s 10.0.0.1/32", lower-case MACs, protocol names from
// /etc/protocols). A rule that does not round-trip is still enforced
// correctly, but after a restart the applier sees it as changed and
// rewrites its chain once (atomically); Applier.Drift reports such rules.

// quote renders a comment exactly as iptables-save does; the compiler's
// renderer and the applier must agree byte for byte, so both use one
// function.
func quote(s string) string { return firewall.QuoteComment(s) }

// RuleSpec is a rule as iptables-save prints it after "-A <chain> ".
func RuleSpec(r firewall.Rule) string {
	var b strings.Builder
	appendSpec(&b, r)
	return b.String()
}

// textWriter is what the rule formatters write into (strings.Builder for
// one line, bytes.Buffer for a whole restore text).
type textWriter interface {
	WriteString(string) (int, error)
	WriteByte(byte) error
}

func appendSpec(b textWriter, r firewall.Rule) {
	sep := false
	if m := strings.TrimSpace(r.Match); m != "" {
		b.WriteString(m)
		sep = true
	}
	if r.Comment != "" {
		if sep {
			b.WriteByte(' ')
		}
		b.WriteString("-m comment --comment ")
		b.WriteString(quote(r.Comment))
		sep = true
	}
	if t := strings.TrimSpace(r.Target); t != "" {
		if sep {
			b.WriteByte(' ')
		}
		if r.Goto {
			b.WriteString("-g ")
		} else {
			b.WriteString("-j ")
		}
		b.WriteString(t)
	}
}

// RuleLine is the full "-A <chain> <spec>" line of a rule.
func RuleLine(chain string, r firewall.Rule) string {
	var b strings.Builder
	appendRuleLine(&b, chain, r)
	return b.String()
}

// appendRuleLine writes RuleLine(chain, r) into b, without the string.
func appendRuleLine(b textWriter, chain string, r firewall.Rule) {
	b.WriteString("-A ")
	b.WriteString(chain)
	b.WriteByte(' ')
	appendSpec(b, r)
}

// tokens splits an iptables-save rule spec into arguments the way
// iptables-restore does (firewall.SplitArgs); an unterminated quote keeps
// what was read.
func tokens(spec string) []string {
	out, err := firewall.SplitArgs(spec)
	if err != nil {
		out, _ = firewall.SplitArgs(spec + `"`)
	}
	return out
}

// jumpTarget returns the chain or target a rule spec jumps (-j) or goes
// (-g) to, or "".
func jumpTarget(spec string) string {
	t := tokens(spec)
	target := ""
	for i := 0; i < len(t)-1; i++ {
		switch t[i] {
		case "--comment":
			i++ // its argument is free text
		case "-j", "--jump", "-g", "--goto":
			target = t[i+1]
			i++
		}
	}
	return target
}

func owned(name string) bool { return strings.HasPrefix(name, firewall.ChainPrefix) }

// savedTable is one table of an iptables-save dump, reduced to what the
// applier owns: its chains, and its rules in other chains (hooks).
type savedTable struct {
	chains map[string][]string // owned chain -> rule specs, in order
	order  []string            // owned chains in the order of the dump
	hooks  map[string]*hookState
	all    map[string]bool // every chain of the table (built-in and foreign too)
	// foreign: the table holds something not Bulwark's (a user chain or a
	// rule that is not one of its hooks).
	foreign bool
}

// hookState is what Bulwark has in one chain it does not own: the rules
// that jump to its chains, in kernel order, and whether they are exactly
// the first rules of that chain.
type hookState struct {
	specs []string
	top   bool
}

// parseSave parses the output of "iptables-save -t <table>".
func parseSave(out []byte, table firewall.Table) (*savedTable, error) {
	st := &savedTable{chains: map[string][]string{}, hooks: map[string]*hookState{}, all: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	in := false
	pos := map[string]int{} // rules seen so far per foreign chain
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			in = line[1:] == string(table)
		case !in:
		case line == "COMMIT":
			in = false
		case line[0] == ':':
			name, rest, _ := strings.Cut(line[1:], " ")
			st.all[name] = true
			if !owned(name) && strings.HasPrefix(rest, "- ") {
				st.foreign = true // a user chain of someone else's
			}
			if owned(name) {
				if _, ok := st.chains[name]; !ok {
					st.chains[name] = nil
					st.order = append(st.order, name)
				}
			}
		case strings.HasPrefix(line, "-A "):
			chain, spec, _ := strings.Cut(line[3:], " ")
			if owned(chain) {
				if _, ok := st.chains[chain]; !ok {
					st.order = append(st.order, chain)
				}
				st.chains[chain] = append(st.chains[chain], spec)
				continue
			}
			st.all[chain] = true
			n := pos[chain]
			pos[chain] = n + 1
			if t := jumpTarget(spec); !owned(t) {
				st.foreign = true
			} else {
				h := st.hooks[chain]
				if h == nil {
					h = &hookState{top: true}
					st.hooks[chain] = h
				}
				if len(h.specs) != n {
					h.top = false // a foreign rule sits above one of ours
				}
				h.specs = append(h.specs, spec)
			}
		default:
			return nil, fmt.Errorf("iptables-save: unexpected line %q", line)
		}
	}
	return st, sc.Err()
}
