package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/bulwark-net/bulwark/internal/firewall"
	"github.com/bulwark-net/bulwark/internal/firewall/iptables"
)

// BenchmarkGoSide measures the Go part of a change (Compile + the
// applier's diff and rendering) with a kernel that accepts everything
// (no tool runs), so a profile shows what grows with N outside the kernel:
//
//	go test -run '^$' -bench GoSide -cpuprofile cpu.out ./bench/agent
func BenchmarkGoSide(b *testing.B) {
	for _, n := range []int{100, 1000, 2000} {
		for _, op := range []string{"noop", "member", "rule", "aap"} {
			b.Run(fmt.Sprintf("%s/N=%d", op, n), func(b *testing.B) {
				ctx := context.Background()
				ap := &iptables.Applier{Exec: func(context.Context, []byte, ...string) ([]byte, error) { return nil, nil }}
				h := benchState(n)
				var comp firewall.Compiler
				if err := ap.Apply(ctx, comp.Compile(h)); err != nil {
					b.Fatal(err)
				}
				k := 0
				for b.Loop() {
					k++
					switch op {
					case "member":
						h.Members[sgID] = append(h.Members[sgID], fmt.Sprintf("10.250.%d.%d", k/200%250, k%200+10))
					case "rule":
						g := h.Groups[sgID]
						if k%2 == 1 {
							g.Rules = append(g.Rules, benchRule(100, "ingress", "IPv4", sp("tcp"), ip(9001), ip(9001), nil, nil))
						} else {
							g.Rules = g.Rules[:len(g.Rules)-1]
						}
					case "aap":
						p := &h.Ports[n/2]
						p.AddressPairs[0].IPAddress = fmt.Sprintf("10.200.%d.%d", k/200%250, k%200+10)
					}
					var rs *firewall.Ruleset
					if op == "member" {
						rs = comp.UpdateMembers(h, []string{sgID})
					} else {
						rs = comp.Compile(h)
					}
					if err := ap.Apply(ctx, rs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
