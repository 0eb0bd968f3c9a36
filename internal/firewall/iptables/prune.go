package iptables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/ti-mo/conntrack"
)

// FlowInfo is a tracked connection as the agent judges it: its zone and
// original (initiating) direction.
type FlowInfo struct {
	Zone         uint16
	Src, Dst     netip.Addr
	Protocol     uint8
	SPort, DPort uint16
	ICMPType     uint8
	ICMPCode     uint8
}

// Prune ends every tracked connection for which keep returns false, and
// reports how many it ended. The agent calls it after a change with a
// keep function that asks the new ruleset whether the connection's first
// packet would still be accepted: what the change no longer allows stops
// at once instead of living on as ESTABLISHED.
func (c *Conntrack) Prune(ctx context.Context, keep func(FlowInfo) bool) (int, error) {
	conn, err := c.dial()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	flows, err := conn.Dump(nil)
	if err != nil {
		return 0, fmt.Errorf("conntrack dump: %w", err)
	}
	n := 0
	for i := range flows {
		fl := &flows[i]
		t := fl.TupleOrig
		info := FlowInfo{Zone: fl.Zone, Src: t.IP.SourceAddress.Unmap(), Dst: t.IP.DestinationAddress.Unmap(),
			Protocol: t.Proto.Protocol, SPort: t.Proto.SourcePort, DPort: t.Proto.DestinationPort,
			ICMPType: t.Proto.ICMPType, ICMPCode: t.Proto.ICMPCode}
		if keep(info) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := conn.Delete(conntrack.Flow{TupleOrig: fl.TupleOrig, TupleReply: fl.TupleReply, Zone: fl.Zone}); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue
			}
			return n, fmt.Errorf("conntrack delete %s: %w", fl.TupleOrig, err)
		}
		n++
	}
	return n, nil
}
