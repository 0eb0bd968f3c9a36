package iptables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
)

// FlowFilter selects tracked connections by their original direction (the
// packet that opened them). Zero fields match anything, except Zone, which
// always matches exactly unless AnyZone is set: the agent gives each port
// its own zone, and ending flows is scoped by it.
type FlowFilter struct {
	Zone     uint16       // conntrack zone; 0 is the default zone
	AnyZone  bool         // ignore Zone
	Src, Dst netip.Prefix // original source / destination; zero = any
	Protocol uint8        // IP protocol number (6 tcp, 17 udp, 1 icmp, 58 ipv6-icmp); 0 = any
	DstPort  uint16       // original destination port (tcp, udp, sctp); 0 = any
}

func (f FlowFilter) match(fl *conntrack.Flow) bool {
	if !f.AnyZone && fl.Zone != f.Zone {
		return false
	}
	t := fl.TupleOrig
	if f.Src.IsValid() && !f.Src.Contains(t.IP.SourceAddress.Unmap()) {
		return false
	}
	if f.Dst.IsValid() && !f.Dst.Contains(t.IP.DestinationAddress.Unmap()) {
		return false
	}
	if f.Protocol != 0 && t.Proto.Protocol != f.Protocol {
		return false
	}
	if f.DstPort != 0 && t.Proto.DestinationPort != f.DstPort {
		return false
	}
	return true
}

func (f FlowFilter) family() netfilter.ProtoFamily {
	for _, p := range []netip.Prefix{f.Src, f.Dst} {
		if p.IsValid() {
			if p.Addr().Is4() {
				return netfilter.ProtoIPv4
			}
			return netfilter.ProtoIPv6
		}
	}
	return netfilter.ProtoUnspec
}

// FlowCleaner ends tracked connections, so that traffic a removed rule,
// remote-group member or address pair allowed stops at once instead of
// flowing on as ESTABLISHED.
type FlowCleaner interface {
	// EndFlows deletes every tracked connection that matches at least one
	// filter and returns how many it deleted.
	EndFlows(ctx context.Context, filters ...FlowFilter) (int, error)
}

// Conntrack is the FlowCleaner on the kernel's conntrack table, over
// netlink (github.com/ti-mo/conntrack): one dump and one delete message
// per matching flow, no process per address.
type Conntrack struct {
	// NetNS is the network namespace to work in: a name under /run/netns
	// or a path; "" is the namespace of the calling process.
	NetNS string
}

var _ FlowCleaner = (*Conntrack)(nil)

func (c *Conntrack) dial() (*conntrack.Conn, error) {
	cfg := &netlink.Config{}
	if c.NetNS != "" {
		path := c.NetNS
		if !strings.Contains(path, "/") {
			path = filepath.Join("/run/netns", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("conntrack: network namespace: %w", err)
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	conn, err := conntrack.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("conntrack: %w", err)
	}
	return conn, nil
}

// EndFlows implements FlowCleaner.
func (c *Conntrack) EndFlows(ctx context.Context, filters ...FlowFilter) (int, error) {
	if len(filters) == 0 {
		return 0, nil
	}
	conn, err := c.dial()
	if err != nil {
		return 0, err
	}
	defer conn.Close()

	// Narrow the dump in the kernel where every filter agrees on a family
	// (and a zone: Linux 6.8+ filters zones in the dump, older kernels
	// refuse it and get the unzoned dump); matching is always redone here.
	fam, zone, oneZone := filters[0].family(), filters[0].Zone, !filters[0].AnyZone
	for _, f := range filters[1:] {
		if f.family() != fam {
			fam = netfilter.ProtoUnspec
		}
		if f.AnyZone || f.Zone != zone {
			oneZone = false
		}
	}
	var flows []conntrack.Flow
	if fam != netfilter.ProtoUnspec {
		filter := conntrack.NewFilter().Family(fam)
		if oneZone {
			flows, err = conn.DumpFilter(filter.Zone(zone), nil)
		}
		if !oneZone || err != nil {
			flows, err = conn.DumpFilter(filter, nil)
		}
		if err != nil { // kernels before 4.20 cannot filter by family
			flows, err = conn.Dump(nil)
		}
	} else {
		flows, err = conn.Dump(nil)
	}
	if err != nil {
		return 0, fmt.Errorf("conntrack dump: %w", err)
	}
	n := 0
	for i := range flows {
		fl := &flows[i]
		hit := false
		for _, f := range filters {
			if f.match(fl) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		// Tuples and zone identify the entry; nothing else is sent.
		if err := conn.Delete(conntrack.Flow{TupleOrig: fl.TupleOrig, TupleReply: fl.TupleReply, Zone: fl.Zone}); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue // ended meanwhile
			}
			return n, fmt.Errorf("conntrack delete %s: %w", fl.TupleOrig, err)
		}
		n++
	}
	return n, nil
}
