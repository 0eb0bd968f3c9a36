package service

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/bulwark-net/bulwark/internal/store"
)

// What makes a watch answer cheap for thousands of agents: the hosts'
// interests are cached per server instead of read on every poll, and an
// answer carries the current documents of what its changes touched, so an
// agent patches its last snapshot without a further read. A rule change
// in a group every host uses then costs each agent one long-poll answer,
// and the server one read of that group, not one per agent.

// hostInterest is what one host's agent depends on (store.HostRefs) and
// the change-log position it is known to be current at.
type hostInterest struct {
	refs store.HostRefs
	// keys are the watch keys of changes that concern the host.
	keys map[string]bool
	// alter are the keys of the only changes that can alter refs: a port
	// on the host (host:H) and a rule naming a remote group or address
	// group in one of its groups (sgrefs:G). Both also concern the host.
	alter map[string]bool
	// at: refs include every change up to at.
	at int64
}

// WatchDocuments are the current documents of what an answer's changes
// touched, read after those changes.
type WatchDocuments struct {
	// SecurityGroups: every group the host uses that a change touched
	// (itself or one of its rules), with its rules.
	SecurityGroups []json.RawMessage `json:"security_groups"`
	// Ports: every port a change touched that is or was bound to the host,
	// or is a DHCP or router port on one of its networks; a port deleted
	// since is absent.
	Ports []json.RawMessage `json:"ports"`
	// RemoteGroups: the members of every remote group of the host whose
	// membership a change touched.
	RemoteGroups map[string]*Members `json:"remote_groups"`
}

// watchCache is one server's memory for the watch feed. Entries are only
// a cache: each says up to which change-log position it is current, and
// is used only when that covers the changes being answered.
type watchCache struct {
	// load: one read of missing group documents and member lists at a
	// time, so that the hundreds of polls one commit wakes read a group
	// once, not once each.
	load    sync.Mutex
	mu      sync.Mutex
	hosts   map[string]*hostInterest
	groups  map[string]cachedDoc
	members map[string]cachedMembers
	// groupBytes, memberBytes: what the documents and member lists held
	// weigh (a group of thousands of members is one entry).
	groupBytes, memberBytes int
}

type cachedDoc struct {
	doc json.RawMessage
	at  int64
}

type cachedMembers struct {
	m  *Members
	at int64
}

// watchCacheMax bounds the entries of each of the cache's maps, and the
// byte budgets below what the documents and member lists weigh; a full
// map is emptied (it refills from what is asked for).
const watchCacheMax = 20000

func putBounded[V any](m *map[string]V, k string, v V) {
	if *m == nil || len(*m) >= watchCacheMax {
		*m = map[string]V{}
	}
	(*m)[k] = v
}

// The byte budgets of the cached group documents and member lists.
const (
	watchCacheGroupBytes  = 32 << 20
	watchCacheMemberBytes = 64 << 20
)

// putSized is putBounded with a budget of bytes too: *used is what the
// map's values weigh (size), and a map that would pass maxBytes is
// emptied first.
func putSized[V any](m *map[string]V, used *int, k string, v V, size func(V) int, maxBytes int) {
	n := size(v)
	if old, ok := (*m)[k]; ok {
		*used -= size(old)
		delete(*m, k)
	}
	if *m == nil || len(*m) >= watchCacheMax || *used+n > maxBytes {
		*m, *used = map[string]V{}, 0
	}
	(*m)[k] = v
	*used += n
}

func docSize(d cachedDoc) int { return len(d.doc) + 64 }

func membersSize(m cachedMembers) int {
	n := 64
	if m.m != nil {
		for _, l := range [][]string{m.m.IPv4, m.m.IPv6} {
			for _, a := range l {
				n += len(a) + 16
			}
		}
	}
	return n
}

// interest returns the host's interests, current at least at since: from
// the cache when no change between the cached position and since can
// have altered them (checked in the shared tail), else read afresh.
func (s *Service) interest(ctx context.Context, host string, since int64) (*hostInterest, error) {
	c := &s.watchCache
	c.mu.Lock()
	e := c.hosts[host]
	c.mu.Unlock()
	if e != nil {
		if e.at >= since {
			return e, nil
		}
		if s.feed.scan(e.at, since, func(ch store.WatchChange) bool { return !concerns(ch.Keys, "", e.alter) }) {
			moved := *e
			moved.at = since
			s.keepInterest(host, e, &moved)
			return &moved, nil
		}
	}
	fresh := &hostInterest{}
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		// Read before the refs: they include at least this position.
		if _, fresh.at, err = tx.ChangeBounds(ctx); err != nil {
			return err
		}
		fresh.refs, err = tx.HostRefs(ctx, host)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.rememberInterest(host, fresh.refs, fresh.at), nil
}

// rememberInterest caches refs as host's interests, current at least at
// position at (read after it), unless a newer entry is cached.
func (s *Service) rememberInterest(host string, refs store.HostRefs, at int64) *hostInterest {
	e := &hostInterest{refs: refs, keys: refs.Keys(host), alter: map[string]bool{store.KeyHost + host: true}, at: at}
	for _, g := range refs.Groups {
		e.alter[store.KeyGroupRefs+g] = true
	}
	c := &s.watchCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.hosts[host]; old == nil || old.at <= e.at {
		putBounded(&c.hosts, host, e)
	}
	return e
}

// keepInterest replaces the cached entry old of host by next (nil:
// forget it), unless another poll replaced it meanwhile.
func (s *Service) keepInterest(host string, old, next *hostInterest) {
	c := &s.watchCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hosts[host] != old {
		return
	}
	if next == nil {
		delete(c.hosts, host)
		return
	}
	c.hosts[host] = next
}

// settleInterest records what a poll learned: the interest it used is
// still current at revision unless one of the reported changes can have
// altered it.
func (s *Service) settleInterest(host string, e *hostInterest, reported []store.WatchChange, revision int64) {
	for _, ch := range reported {
		if concerns(ch.Keys, "", e.alter) {
			s.keepInterest(host, e, nil)
			return
		}
	}
	if revision > e.at {
		moved := *e
		moved.at = revision
		s.keepInterest(host, e, &moved)
	}
}

// documents reads (or takes from the cache) the current documents of
// what changes touched, as far as they concern host.
func (s *Service) documents(ctx context.Context, host string, e *hostInterest, changes []store.WatchChange) (*WatchDocuments, error) {
	used := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, v := range list {
			m[v] = true
		}
		return m
	}
	groups, remotes, nets := used(e.refs.Groups), used(e.refs.RemoteGroups), used(e.refs.Networks)
	needGroup, needMembers := map[string]int64{}, map[string]int64{}
	var portIDs []string
	seenPort := map[string]bool{}
	for _, ch := range changes {
		wantPort := false
		for _, k := range ch.Keys {
			switch {
			case strings.HasPrefix(k, store.KeyGroup) && groups[k[len(store.KeyGroup):]]:
				needGroup[k[len(store.KeyGroup):]] = ch.Seq
			case strings.HasPrefix(k, store.KeyMember) && remotes[k[len(store.KeyMember):]]:
				needMembers[k[len(store.KeyMember):]] = ch.Seq
			case k == store.KeyHost+host:
				wantPort = true
			case strings.HasPrefix(k, store.KeyNetworkPort) && nets[k[len(store.KeyNetworkPort):]]:
				wantPort = true
			}
		}
		if wantPort && ch.Resource == "port" && !seenPort[ch.ResourceID] {
			seenPort[ch.ResourceID] = true
			portIDs = append(portIDs, ch.ResourceID)
		}
	}
	out := &WatchDocuments{SecurityGroups: []json.RawMessage{}, Ports: []json.RawMessage{}, RemoteGroups: map[string]*Members{}}
	if err := s.sharedDocuments(ctx, needGroup, needMembers, out); err != nil {
		return nil, err
	}
	// A rule created (or changed) to name a remote group the host may not
	// know yet: its members come along, or the agent would need a
	// snapshot to learn them.
	if named := namedRemoteGroups(out.SecurityGroups, changes); len(named) > 0 {
		for g := range named {
			if _, ok := out.RemoteGroups[g]; ok {
				delete(named, g)
			}
		}
		if err := s.sharedDocuments(ctx, nil, named, out); err != nil {
			return nil, err
		}
	}
	if len(portIDs) > 0 {
		// Ports concern one host each: read, not cached.
		err := s.st.Read(ctx, func(tx store.Tx) error {
			ports, err := docsByID(ctx, tx, store.Ports, portIDs)
			out.Ports = append(out.Ports, ports...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// namedRemoteGroups returns the remote groups the rules that changes
// created or updated name (found in the group documents), each with the
// position of its change.
func namedRemoteGroups(groupDocs []json.RawMessage, changes []store.WatchChange) map[string]int64 {
	ruleSeq := map[string]int64{}
	for _, ch := range changes {
		if ch.Resource == "security_group_rule" && ch.Op != "delete" {
			ruleSeq[ch.ResourceID] = ch.Seq
		}
	}
	if len(ruleSeq) == 0 {
		return nil
	}
	named := map[string]int64{}
	for _, d := range groupDocs {
		var g struct {
			Rules []struct {
				ID            string  `json:"id"`
				RemoteGroupID *string `json:"remote_group_id"`
			} `json:"security_group_rules"`
		}
		if json.Unmarshal(d, &g) != nil {
			continue
		}
		for _, r := range g.Rules {
			if seq, ok := ruleSeq[r.ID]; ok && r.RemoteGroupID != nil && *r.RemoteGroupID != "" {
				named[*r.RemoteGroupID] = max(named[*r.RemoteGroupID], seq)
			}
		}
	}
	return named
}

// sharedDocuments fills out with the group documents and member lists
// asked for (id -> the position they must be current at), from the cache
// or, for what it lacks, from one read.
func (s *Service) sharedDocuments(ctx context.Context, needGroup, needMembers map[string]int64, out *WatchDocuments) error {
	c := &s.watchCache
	lookup := func() (readGroups, readMembers []string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for g, seq := range needGroup {
			if d, ok := c.groups[g]; ok && d.at >= seq {
				out.SecurityGroups = append(out.SecurityGroups, d.doc)
				delete(needGroup, g)
			} else {
				readGroups = append(readGroups, g)
			}
		}
		for g, seq := range needMembers {
			if m, ok := c.members[g]; ok && m.at >= seq {
				out.RemoteGroups[g] = m.m
				delete(needMembers, g)
			} else {
				readMembers = append(readMembers, g)
			}
		}
		return readGroups, readMembers
	}
	if g, m := lookup(); len(g) == 0 && len(m) == 0 {
		return nil
	}
	c.load.Lock()
	defer c.load.Unlock()
	readGroups, readMembers := lookup() // another poll may have read them meanwhile
	if len(readGroups) == 0 && len(readMembers) == 0 {
		return nil
	}
	var at int64
	var groupDocs []json.RawMessage
	var members map[string]*Members
	err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		// Read before the documents: they include at least this position.
		if _, at, err = tx.ChangeBounds(ctx); err != nil {
			return err
		}
		if groupDocs, err = docsByID(ctx, tx, store.SecurityGroups, readGroups); err != nil {
			return err
		}
		if err := attachRules(ctx, tx, groupDocs); err != nil {
			return err
		}
		members, err = remoteMembers(ctx, tx, readMembers)
		return err
	})
	if err != nil {
		return err
	}
	out.SecurityGroups = append(out.SecurityGroups, groupDocs...)
	for g, m := range members {
		out.RemoteGroups[g] = m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range groupDocs {
		var head struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(d, &head) == nil && head.ID != "" {
			if old, ok := c.groups[head.ID]; !ok || old.at < at {
				putSized(&c.groups, &c.groupBytes, head.ID, cachedDoc{doc: d, at: at}, docSize, watchCacheGroupBytes)
			}
		}
	}
	for g, m := range members {
		if old, ok := c.members[g]; !ok || old.at < at {
			putSized(&c.members, &c.memberBytes, g, cachedMembers{m: m, at: at}, membersSize, watchCacheMemberBytes)
		}
	}
	return nil
}
