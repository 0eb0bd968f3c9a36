package store

import "sync"

// Notifier tells waiters that the change log has advanced. A Store calls
// Publish after every commit that appended changes; the watch feed takes a
// channel from Wait *before* it reads the log and sleeps on it when it found
// nothing to report, so no commit can slip between the read and the sleep.
//
// It is a broadcast: each Publish closes the current channel (waking every
// waiter at once) and starts a new one. It does not carry the changes
// themselves; waiters read them from the store. That makes it easy to feed
// from elsewhere: with several servers on one PostgreSQL database, a LISTEN
// loop calls Publish with the sequence number from each NOTIFY payload, and
// the waiters behave exactly as with the in-process signal.
type Notifier struct {
	mu   sync.Mutex
	last int64
	ch   chan struct{}
	// compacted is the newest compaction watermark this process made or
	// learned of: caches of the log drop what it covers.
	compacted int64
}

// SetCompacted records a compaction watermark (never moving it back).
func (n *Notifier) SetCompacted(seq int64) {
	n.mu.Lock()
	n.compacted = max(n.compacted, seq)
	n.mu.Unlock()
}

// Compacted returns the newest watermark recorded with SetCompacted.
func (n *Notifier) Compacted() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.compacted
}

// NewNotifier returns a Notifier with nothing published yet.
func NewNotifier() *Notifier { return &Notifier{ch: make(chan struct{})} }

// Publish records that changes up to seq are committed and wakes every
// current waiter. A seq lower than one already published still wakes the
// waiters (a spurious wake-up costs one indexed read) but does not move
// Last backwards.
func (n *Notifier) Publish(seq int64) {
	n.mu.Lock()
	if seq > n.last {
		n.last = seq
	}
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// Advance is Publish for a seq that may already be known: it wakes the
// waiters only when seq is newer than every seq published so far. The
// change log grows in commit order, so a waiter woken for a newer seq
// reads after the older one committed and needs no second wake-up; a
// server's LISTEN loop hears its own commits again and uses this so that
// they do not wake every watcher twice.
func (n *Notifier) Advance(seq int64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if seq <= n.last {
		return false
	}
	n.last = seq
	close(n.ch)
	n.ch = make(chan struct{})
	return true
}

// Wait returns a channel that the next Publish closes, and the highest
// sequence number published so far (0 if none since the process started).
func (n *Notifier) Wait() (<-chan struct{}, int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch, n.last
}
