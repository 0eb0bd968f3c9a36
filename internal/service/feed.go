package service

import (
	"context"
	"sort"
	"sync"

	"github.com/bulwark-net/bulwark/internal/store"
)

// feed keeps the recent tail of the change log (with watch keys) for all
// of a server's watchers. Every commit wakes every long poll; without the
// tail each of them would read the log itself, so one commit would cost
// one read per connected agent. With it, one watcher reads what is new
// once and the others filter it in memory.
//
// The tail covers the positions (base, top]: it holds every change with a
// seq in that range, and top was the newest visible change when it was
// read. That is sound because the change log becomes visible in seq order
// (see sqldb's appendChanges): nothing can later appear at or below top.
type feed struct {
	st store.Store

	load sync.Mutex // one refresh at a time; the others wait and reuse it

	mu        sync.Mutex
	valid     bool
	base, top int64
	compacted int64
	tail      []store.WatchChange
	// partial: the last refresh stopped at feedRead; top is not the newest.
	partial bool
}

// feedKeep bounds the tail; older positions are read from the store.
const feedKeep = 20000

// feedRead is how many changes one refresh reads at most.
const feedRead = 5000

// after returns up to limit changes after pos, the compaction watermark
// and the newest position the answer accounts for. want is the newest
// seq the caller knows to be committed (the Notifier's): the tail is
// refreshed first when it is older. force refreshes regardless (a
// position from another server may be newer than anything this one has
// heard of). ok is false when pos is older than the tail: the caller
// reads the store itself.
func (f *feed) after(ctx context.Context, pos, want int64, force bool, limit int) (out []store.WatchChange, compacted, newest int64, ok bool, err error) {
	if !f.fresh(want, force) {
		if err := f.refresh(ctx, want, force); err != nil {
			return nil, 0, 0, false, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// A compaction on this server is known at once (another server's at
	// the next refresh): positions it covers must resync, as from the log.
	if c := f.st.Notifier().Compacted(); c > f.compacted {
		f.compactTo(c)
	}
	if !f.valid || pos < f.base {
		return nil, 0, 0, false, nil
	}
	i := sort.Search(len(f.tail), func(i int) bool { return f.tail[i].Seq > pos })
	n := min(len(f.tail)-i, limit)
	// The entries are never modified once in the tail: sharing them is safe.
	return f.tail[i : i+n : i+n], f.compacted, f.top, true, nil
}

func (f *feed) fresh(want int64, force bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.valid && !force && !f.partial && f.top >= want
}

// refresh reads what is new after top, once for every waiting caller.
func (f *feed) refresh(ctx context.Context, want int64, force bool) error {
	f.mu.Lock()
	started := f.top
	f.mu.Unlock()
	f.load.Lock()
	defer f.load.Unlock()
	f.mu.Lock()
	if f.valid && f.top > started && f.top >= want && !f.partial {
		f.mu.Unlock()
		return nil // refreshed by someone else meanwhile
	}
	valid, top := f.valid, f.top
	f.mu.Unlock()
	return f.st.Read(ctx, func(tx store.Tx) error {
		compacted, newest, err := tx.ChangeBounds(ctx)
		if err != nil {
			return err
		}
		from := top
		if !valid || top < compacted {
			// Start over from what the log still holds, keeping at most
			// feedKeep of it.
			from = max(compacted, newest-feedKeep)
			valid = false
		}
		var got []store.WatchChange
		if newest > from {
			if got, err = tx.ChangesAfter(ctx, from, feedRead); err != nil {
				return err
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if !valid {
			f.tail, f.base = nil, from
		}
		f.tail = append(f.tail, got...)
		f.top, f.partial = newest, false
		if len(got) == feedRead {
			f.top, f.partial = got[len(got)-1].Seq, true // more to read next time
		}
		f.valid = true
		f.compactTo(compacted)
		if drop := len(f.tail) - feedKeep; drop > 0 {
			f.base = f.tail[drop-1].Seq
			f.tail = append([]store.WatchChange(nil), f.tail[drop:]...)
		}
		return nil
	})
}

// compactTo drops the tail's entries up to watermark c (f.mu held).
func (f *feed) compactTo(c int64) {
	if c <= f.compacted {
		return
	}
	f.compacted = c
	if f.base < c {
		f.base = c
		i := sort.Search(len(f.tail), func(i int) bool { return f.tail[i].Seq > c })
		f.tail = append([]store.WatchChange(nil), f.tail[i:]...)
	}
	f.top = max(f.top, c)
}

// scan calls fn for every change in (from, to], oldest first, and reports
// whether the tail covered that whole range and fn accepted every change
// (fn returning false stops the scan).
func (f *feed) scan(from, to int64, fn func(store.WatchChange) bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.valid || from < f.base || to > f.top || from < f.compacted {
		return false
	}
	i := sort.Search(len(f.tail), func(i int) bool { return f.tail[i].Seq > from })
	for ; i < len(f.tail) && f.tail[i].Seq <= to; i++ {
		if !fn(f.tail[i]) {
			return false
		}
	}
	return true
}
