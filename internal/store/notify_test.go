package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bulwark-net/bulwark/internal/store"
)

func TestNotifierBroadcast(t *testing.T) {
	n := store.NewNotifier()
	ch, last := n.Wait()
	if last != 0 {
		t.Fatalf("fresh notifier at %d", last)
	}
	select {
	case <-ch:
		t.Fatal("woken before any publish")
	default:
	}
	// Every waiter holding the channel wakes on one Publish.
	var wg sync.WaitGroup
	for range 10 {
		c, _ := n.Wait()
		wg.Add(1)
		go func() { defer wg.Done(); <-c }()
	}
	n.Publish(7)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("waiters not woken")
	}
	select {
	case <-ch:
	default:
		t.Fatal("channel taken before Publish not closed")
	}
	// A channel taken after the Publish waits for the next one.
	ch2, last := n.Wait()
	if last != 7 {
		t.Errorf("last %d, want 7", last)
	}
	select {
	case <-ch2:
		t.Fatal("new channel already closed")
	default:
	}
	n.Publish(3) // out of order (another server's notification): wakes, keeps 7
	<-ch2
	if _, last := n.Wait(); last != 7 {
		t.Errorf("last %d after an older publish, want 7", last)
	}
}
