package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/model"
	"github.com/spf13/cobra"
)

type traceOptions struct {
	files, ipsets                  []string
	in, out, bridge, src, dst, mac string
	proto, icmp, state, format     string
	sport, dport                   int
}

func traceCmd() *cobra.Command {
	var o traceOptions
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Evaluate one packet through an iptables-save dump and name the rule that decided",
		Long: `Walks a packet through the filter (and raw) tables of an iptables-save dump as the
kernel does for a bridge with br_netfilter: --in is the device the packet enters the
bridge from, --out the one it leaves by (a VM-to-VM packet has both; without --out the
packet is for the host itself). Works on Bulwark's rules and on Neutron's.`,
		Example: `  bulwark trace --from-file iptables-save.txt --ipsets ipset-save.txt \
      --in tap68b89d5e-f7 --out tap6add5cea-f0 --src 172.16.200.194 --dst 172.16.200.193 \
      --src-mac fa:16:3e:00:00:02 --proto vrrp`,
		RunE: func(cmd *cobra.Command, args []string) error { return runTrace(cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.files, "from-file", nil, "iptables-save or ip6tables-save output (repeat for filter and raw dumps)")
	f.StringArrayVar(&o.ipsets, "ipsets", nil, "ipset save output")
	f.StringVar(&o.in, "in", "", "device the packet enters the bridge from")
	f.StringVar(&o.out, "out", "", "device the packet leaves the bridge by (empty: to the host)")
	f.StringVar(&o.bridge, "bridge", "", "bridge device name (for -i/-o matches)")
	f.StringVar(&o.src, "src", "", "source IP")
	f.StringVar(&o.dst, "dst", "", "destination IP")
	f.StringVar(&o.mac, "src-mac", "", "source MAC")
	f.StringVar(&o.proto, "proto", "tcp", "protocol: name (tcp, udp, icmp, vrrp, ...) or number")
	f.IntVar(&o.sport, "sport", 0, "source port")
	f.IntVar(&o.dport, "dport", 0, "destination port")
	f.StringVar(&o.icmp, "icmp-type", "", "ICMP type[/code]")
	f.StringVar(&o.state, "state", "new", "conntrack state: new, established, related, invalid")
	f.StringVarP(&o.format, "format", "f", "table", "output: table or json")
	_ = cmd.MarkFlagRequired("from-file")
	_ = cmd.MarkFlagRequired("src")
	_ = cmd.MarkFlagRequired("dst")
	return cmd
}

// traceResult is the JSON form of a verdict.
type traceResult struct {
	Verdict   string      `json:"verdict"`
	DecidedBy *traceStep  `json:"decided_by"`
	Path      []traceStep `json:"path"`
}

type traceStep struct {
	Table   string     `json:"table"`
	Chain   string     `json:"chain"`
	Rule    string     `json:"rule"`
	Comment string     `json:"comment,omitempty"`
	Source  string     `json:"source,omitempty"`
	Sets    []traceSet `json:"sets,omitempty"`
}

// traceSet is one set lookup of a rule: the address looked up and the
// member that holds it ("" when it is not in the set).
type traceSet struct {
	Set     string `json:"set"`
	Dir     string `json:"dir"`
	Address string `json:"address"`
	Member  string `json:"member,omitempty"`
}

func (s traceSet) String() string {
	if s.Member == "" {
		return fmt.Sprintf("%s %s is not in set %s", s.Dir, s.Address, s.Set)
	}
	return fmt.Sprintf("%s %s is in set %s as member %s", s.Dir, s.Address, s.Set, s.Member)
}

func runTrace(w io.Writer, o traceOptions) error {
	src, err := netip.ParseAddr(o.src)
	if err != nil {
		return fmt.Errorf("--src: %w", err)
	}
	dst, err := netip.ParseAddr(o.dst)
	if err != nil {
		return fmt.Errorf("--dst: %w", err)
	}
	if src.Is4() != dst.Is4() {
		return fmt.Errorf("--src and --dst are of different IP families")
	}
	tables := map[firewall.Table]*firewall.TableRules{}
	for _, path := range o.files {
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		parsed, err := firewall.ParseSave(string(text))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for t, tr := range parsed {
			tables[t] = tr
		}
	}
	sets := firewall.Sets{}
	for _, path := range o.ipsets {
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		parsed, err := firewall.ParseIPSetSave(string(text))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for k, v := range parsed {
			sets[k] = v
		}
	}
	proto, ok := protoNumber(o.proto)
	if !ok {
		return fmt.Errorf("--proto %q: not a protocol name or number", o.proto)
	}
	p := firewall.Packet{Family: firewall.IPv4, Hook: "FORWARD", Bridge: o.bridge, PhysIn: o.in, PhysOut: o.out,
		SrcMAC: strings.ToLower(o.mac), Src: src, Dst: dst, Proto: proto, SPort: o.sport, DPort: o.dport,
		State: strings.ToUpper(o.state)}
	if src.Is6() {
		p.Family = firewall.IPv6
	}
	if o.out == "" {
		p.Hook = "INPUT"
	}
	if o.icmp != "" {
		t, c, _ := strings.Cut(o.icmp, "/")
		if p.ICMPType, err = strconv.Atoi(t); err != nil {
			return fmt.Errorf("--icmp-type %q: %w", o.icmp, err)
		}
		if c != "" {
			if p.ICMPCode, err = strconv.Atoi(c); err != nil {
				return fmt.Errorf("--icmp-type %q: %w", o.icmp, err)
			}
		}
	}
	v, err := firewall.NewTableEvaluator(tables, sets).Evaluate(p)
	if err != nil {
		return err
	}
	res := traceResult{Verdict: v.Action, Path: []traceStep{}}
	if res.Verdict == "" {
		res.Verdict = "ACCEPT" // fell off the built-in chain: its policy (ACCEPT in a namespace) decides
	}
	for _, s := range v.Path {
		step := traceStep{Table: string(s.Table), Chain: s.Chain,
			Rule: "-A " + s.Chain + " " + ruleText(s.Rule), Comment: s.Rule.Comment, Source: commentSource(s.Rule.Comment)}
		for _, m := range s.Sets {
			ts := traceSet{Set: m.Set, Dir: m.Dir, Address: m.Addr.String()}
			if m.In {
				ts.Member = memberText(m.Member)
			}
			step.Sets = append(step.Sets, ts)
		}
		res.Path = append(res.Path, step)
	}
	if len(res.Path) > 0 && v.Action != "" {
		last := res.Path[len(res.Path)-1]
		res.DecidedBy = &last
	}
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, s := range res.Path {
		fmt.Fprintf(w, "%-6s %s\n", s.Table, s.Rule)
		for _, m := range s.Sets {
			fmt.Fprintf(w, "%-6s   %s\n", "", m)
		}
	}
	fmt.Fprintf(w, "verdict: %s\n", res.Verdict)
	if res.DecidedBy != nil {
		fmt.Fprintf(w, "decided by: %s", res.DecidedBy.Rule)
		if res.DecidedBy.Source != "" {
			fmt.Fprintf(w, " (%s)", res.DecidedBy.Source)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "decided by: no rule (the built-in chain's policy)")
	}
	return nil
}

// memberText prints a set member as ipset does: a single address
// without its /32 or /128.
func memberText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func ruleText(r firewall.Rule) string {
	var parts []string
	if r.Match != "" {
		parts = append(parts, r.Match)
	}
	if r.Comment != "" {
		parts = append(parts, "-m comment --comment "+firewall.QuoteComment(r.Comment))
	}
	if r.Target != "" {
		j := "-j "
		if r.Goto {
			j = "-g "
		}
		parts = append(parts, j+r.Target)
	}
	return strings.Join(parts, " ")
}

// commentSource says in words where a rule came from, for Bulwark's
// comment grammar (docs/firewall.md); other comments are shown as they are.
func commentSource(c string) string {
	switch {
	case strings.HasPrefix(c, "sg-rule:"):
		id, _, _ := strings.Cut(strings.TrimPrefix(c, "sg-rule:"), " ")
		return "security group rule " + id
	case strings.HasPrefix(c, "address-pairs "):
		return "allowed address pairs of the port sent from " + strings.TrimPrefix(c, "address-pairs ") + " (its pair set)"
	case strings.HasPrefix(c, "address-pair"):
		return "allowed address pair " + strings.TrimSpace(strings.TrimPrefix(c, "address-pair"))
	case strings.HasPrefix(c, "port-security-off"):
		return "port security disabled on port " + strings.TrimPrefix(strings.TrimPrefix(c, "port-security-off"), ":")
	case strings.HasPrefix(c, "anti-spoof"):
		return "anti-spoofing"
	}
	return ""
}

func protoNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		return n, true
	}
	n := model.ProtocolNumber(&s)
	if s == "icmp6" {
		n = 58
	}
	return n, n >= 0
}
