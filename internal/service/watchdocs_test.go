package service

import (
	"fmt"
	"testing"
)

// The member-list cache stays within its byte budget however large the
// lists, and its weight matches what it holds.
func TestPutSizedKeepsTheBudget(t *testing.T) {
	var m map[string]cachedMembers
	used := 0
	big := &Members{}
	for i := 0; i < 1000; i++ {
		big.IPv4 = append(big.IPv4, fmt.Sprintf("10.1.%d.%d", i/250, i%250))
	}
	const budget = 100_000 // about 3 lists of 1,000 members
	for i := 0; i < 20; i++ {
		putSized(&m, &used, fmt.Sprint("g", i), cachedMembers{m: big, at: int64(i)}, membersSize, budget)
		if used > budget {
			t.Fatalf("after %d puts: %d bytes held, budget %d", i+1, used, budget)
		}
		sum := 0
		for _, v := range m {
			sum += membersSize(v)
		}
		if sum != used {
			t.Fatalf("after %d puts: counted %d bytes, the map holds %d", i+1, used, sum)
		}
	}
	if len(m) == 0 || len(m) > 3 {
		t.Fatalf("%d lists held, want 1-3", len(m))
	}
	// Replacing an entry does not count it twice.
	before := used
	putSized(&m, &used, "g19", cachedMembers{m: big, at: 99}, membersSize, budget)
	if used != before || m["g19"].at != 99 {
		t.Fatalf("replacing an entry: %d bytes (was %d), at %d", used, before, m["g19"].at)
	}
}
