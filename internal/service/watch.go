package service

import (
	"context"
	"time"

	"github.com/bulwark-net/bulwark/internal/apierr"
	"github.com/bulwark-net/bulwark/internal/policy"
	"github.com/bulwark-net/bulwark/internal/store"
)

// The watch feed: an agent long-polls for the changes that concern its
// host, from a change-log position (a snapshot's revision, or the
// revision of its previous answer).
//
// A change concerns host H when one of its watch keys (store/watch.go)
// is among H's current interests (store.HostRefs): a port bound to H
// before or after the change; a security group used by a port on H, or a
// rule of one; a port that is or was a member of a group that those
// groups' rules name as remote group; an address group those rules name;
// a DHCP or router-interface port on a network of H's ports. Interests are
// those of a state at least as new as the position watched from (cached
// per server, see watchdocs.go): an earlier change to something H no
// longer uses is not reported, and something H starts using is reported
// through the change that made H use it (a port or a rule change), whose
// answer carries the documents the agent needs, or tells it to read a
// snapshot by their absence. Changes examined and found irrelevant are
// not examined again.

// WatchBatch bounds the change-log entries examined per read.
const WatchBatch = 1000

// MaxWatchTimeout bounds a long poll.
const MaxWatchTimeout = 60 * time.Second

// WatchResult is one answer of the watch feed.
type WatchResult struct {
	// Resync: the position asked for is in the future or older than the
	// oldest retained change; read a snapshot and watch from its revision.
	Resync bool
	// Revision is the newest change-log position examined (the current
	// one on resync or after a timeout): watch from here next time.
	Revision int64
	// Changes are the changes that concern the host, oldest first.
	Changes []WatchedChange
	// Documents: the current state of what Changes touched (nil when
	// there are no changes).
	Documents *WatchDocuments
}

// WatchedChange is one change-log entry as the watch feed reports it.
type WatchedChange struct {
	Seq      int64  `json:"seq"`
	Resource string `json:"resource"`
	ID       string `json:"id"`
	Op       string `json:"op"`
	Revision int64  `json:"revision"`
}

// Watch waits, up to timeout, for a change after since that concerns
// host, and returns every such change up to the newest one examined. It
// returns at once when there already is one; with nothing relevant it
// returns an empty list after timeout (0: check once). Commits wake it
// through the store's Notifier; when nothing is committed it does no
// reads at all.
func (s *Service) Watch(ctx context.Context, c policy.Caller, host string, since int64, timeout time.Duration) (*WatchResult, error) {
	if err := c.Authorize("bulwark_watch", policy.Target{}); err != nil {
		return nil, err
	}
	if host == "" {
		return nil, apierr.BadRequest("Failed to parse request. Required query parameter 'host' not specified")
	}
	if since < 0 {
		return nil, apierr.BadRequest("Invalid since %d: a change-log position is 0 or greater", since)
	}
	timeout = min(max(timeout, 0), MaxWatchTimeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	res := &WatchResult{Revision: since, Changes: []WatchedChange{}}
	// The host's interests (cached per server, see watchdocs.go), taken
	// at the first change not keyed to the host itself and kept for the
	// rest of this poll: they change only through a port on the host
	// (host:H) or a rule of a group it uses (sg:G), and either is
	// reported, which ends the poll.
	var interest *hostInterest
	var reported []store.WatchChange
	since0 := since
	needInterest := func() error {
		if interest != nil {
			return nil
		}
		var err error
		interest, err = s.interest(ctx, host, since0)
		return err
	}
	for first := true; ; first = false {
		// Taken before the read: a commit the read misses closes it.
		wake, published := s.st.Notifier().Wait()
		// The shared tail, refreshed once per commit for all watchers; a
		// position newer than the tail may come from another server's
		// snapshot whose NOTIFY is still on its way: look at the log.
		changes, compacted, newest, ok, err := s.feed.after(ctx, res.Revision, published, false, WatchBatch)
		if err == nil && ok && first && res.Revision > newest {
			changes, compacted, newest, ok, err = s.feed.after(ctx, res.Revision, published, true, WatchBatch)
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			// Older than the tail: read the log directly.
			err = s.st.Read(ctx, func(tx store.Tx) error {
				if compacted, newest, err = tx.ChangeBounds(ctx); err != nil {
					return err
				}
				if res.Revision < compacted || res.Revision > newest {
					return nil
				}
				changes, err = tx.ChangesAfter(ctx, res.Revision, WatchBatch)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		if (first && res.Revision > newest) || res.Revision < compacted {
			res.Resync, res.Revision, res.Changes = true, newest, nil
			return res, nil
		}
		if first {
			// Taken now, off the path of the next change: usually a
			// cache hit; a miss is this host's first poll on this server
			// or follows a change of its interests.
			if err := needInterest(); err != nil {
				return nil, err
			}
		}
		more := len(changes) == WatchBatch
		for _, ch := range changes {
			if !concerns(ch.Keys, store.KeyHost+host, nil) {
				if err := needInterest(); err != nil {
					return nil, err
				}
				if !concerns(ch.Keys, "", interest.keys) {
					continue
				}
			}
			reported = append(reported, ch)
			res.Changes = append(res.Changes, WatchedChange{Seq: ch.Seq, Resource: ch.Resource, ID: ch.ResourceID, Op: ch.Op, Revision: ch.Revision})
		}
		if len(changes) > 0 {
			res.Revision = changes[len(changes)-1].Seq
		}
		if len(res.Changes) > 0 {
			if err := needInterest(); err != nil {
				return nil, err
			}
			if res.Documents, err = s.documents(ctx, host, interest, reported); err != nil {
				return nil, err
			}
			s.settleInterest(host, interest, reported, res.Revision)
			return res, nil
		}
		if more {
			continue
		}
		select {
		case <-wake:
		case <-timer.C:
			if interest != nil {
				s.settleInterest(host, interest, nil, res.Revision)
			}
			return res, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// concerns reports whether one of keys is key or in interest.
func concerns(keys []string, key string, interest map[string]bool) bool {
	for _, k := range keys {
		if k == key || interest[k] {
			return true
		}
	}
	return false
}
