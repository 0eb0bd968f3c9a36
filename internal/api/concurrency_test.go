package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// TestConcurrentPortCreates: 8 clients filling a /28 at once get each
// address and MAC once; the ones that find it full get 409; no 5xx.
func TestConcurrentPortCreates(t *testing.T) { forEachTopology(t, testConcurrentPortCreates) }

func testConcurrentPortCreates(t *testing.T, e *env) {
	f := e.newNet("small", "10.44.0.0/28") // pool .2-.14: 13 addresses
	const workers, each, capacity = 8, 3, 13
	type result struct {
		port *ports.Port
		err  error
	}
	results := make(chan result, workers*each)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				p, err := ports.Create(context.Background(), e.nc, ports.CreateOpts{NetworkID: f.net, Name: fmt.Sprintf("w%d-%d", w, i)}).Extract()
				results <- result{p, err}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(results)

	ips, macs := map[string]string{}, map[string]string{}
	ok, full := 0, 0
	for r := range results {
		if r.err != nil {
			st, ne := gcErr(t, r.err)
			if st != 409 || ne.Type != "IpAddressGenerationFailure" || ne.Message != "No more IP addresses available on network "+f.net+"." {
				t.Errorf("failed create: %d %s %q", st, ne.Type, ne.Message)
			}
			full++
			continue
		}
		ok++
		if len(r.port.FixedIPs) != 1 {
			t.Errorf("port %s has %d fixed IPs", r.port.Name, len(r.port.FixedIPs))
			continue
		}
		ip := r.port.FixedIPs[0].IPAddress
		if prev, dup := ips[ip]; dup {
			t.Errorf("IP %s given to %s and %s", ip, prev, r.port.Name)
		}
		ips[ip] = r.port.Name
		if prev, dup := macs[r.port.MACAddress]; dup {
			t.Errorf("MAC %s given to %s and %s", r.port.MACAddress, prev, r.port.Name)
		}
		macs[r.port.MACAddress] = r.port.Name
	}
	if ok != capacity || full != workers*each-capacity {
		t.Errorf("%d created, %d refused; want %d and %d", ok, full, capacity, workers*each-capacity)
	}
	for i := 2; i <= 14; i++ {
		if _, used := ips[fmt.Sprintf("10.44.0.%d", i)]; !used {
			t.Errorf("10.44.0.%d never handed out", i)
		}
	}
	listed := e.must(200, "GET", "/v2.0/ports?network_id="+f.net, nil).list(t, "ports")
	if len(listed) != capacity {
		t.Errorf("list shows %d ports, want %d", len(listed), capacity)
	}
	// Deleting one frees its address for the next.
	e.must(204, "DELETE", "/v2.0/ports/"+str(listed[0], "id"), nil)
	p := e.newPort(f.net, nil)
	if got := str(objs(p, "fixed_ips")[0], "ip_address"); got != str(objs(listed[0], "fixed_ips")[0], "ip_address") {
		t.Errorf("freed address %s, got %s", str(objs(listed[0], "fixed_ips")[0], "ip_address"), got)
	}
}

// TestConcurrentWrites: racing writers of the same thing see exactly
// one winner.
func TestConcurrentWrites(t *testing.T) { forEachTopology(t, testConcurrentWrites) }

func testConcurrentWrites(t *testing.T, e *env) {
	race := func(n int, fn func(i int) *resp) map[int]int {
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := fn(i)
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		return statuses
	}
	// First use by 8 clients at once: one default group.
	h := []string{"X-Project-Id", "racing-project"}
	st := race(8, func(int) *resp { return e.do("GET", "/v2.0/security-groups", nil, h...) })
	if st[200] != 8 {
		t.Errorf("concurrent first lists: %v", st)
	}
	if gs := e.must(200, "GET", "/v2.0/security-groups?project_id=racing-project", nil).list(t, "security_groups"); len(gs) != 1 {
		t.Errorf("%d default groups after a race", len(gs))
	}
	// The same rule 8 times: one 201, seven 409.
	gid := str(e.newGroup("g"), "id")
	st = race(8, func(i int) *resp {
		proto := []string{"vrrp", "112"}[i%2]
		return e.do("POST", "/v2.0/security-group-rules", `{"security_group_rule": {"security_group_id": "`+gid+`", "direction": "ingress", "protocol": "`+proto+`"}}`)
	})
	if st[201] != 1 || st[409] != 7 {
		t.Errorf("racing rule creates: %v", st)
	}
	if g := e.get("security-groups", "security_group", gid); len(objs(g, "security_group_rules")) != 3 {
		t.Errorf("group has %d rules", len(objs(g, "security_group_rules")))
	}
	// Compare-and-swap: 8 updates against revision 1, one wins.
	f := e.newNet("n", "10.0.0.0/24")
	pid := str(e.newPort(f.net, nil), "id")
	st = race(8, func(i int) *resp {
		return e.do("PUT", "/v2.0/ports/"+pid, fmt.Sprintf(`{"port": {"name": "winner-%d"}}`, i), "If-Match", "revision_number=1")
	})
	if st[200] != 1 || st[412] != 7 {
		t.Errorf("racing CAS updates: %v", st)
	}
	if p := e.get("ports", "port", pid); num(p, "revision_number") != 2 {
		t.Errorf("port at revision %d after one winning update", num(p, "revision_number"))
	}
	// The same explicit address 8 times: one port.
	st = race(8, func(int) *resp {
		return e.do("POST", "/v2.0/ports", `{"port": {"network_id": "`+f.net+`", "fixed_ips": [{"ip_address": "10.0.0.77"}]}}`)
	})
	if st[201] != 1 || st[409] != 7 {
		t.Errorf("racing creates of one address: %v", st)
	}
}
