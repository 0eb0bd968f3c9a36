package firewall

import (
	"strings"
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

func TestWidePairs(t *testing.T) {
	ports := []model.Port{
		{ID: "p1", SecurityGroups: []string{"g"}, AllowedAddressPairs: []model.AddressPair{
			{IPAddress: "10.0.0.5"}, {IPAddress: "10.1.0.0/24"}, {IPAddress: "0.0.0.0/0"}, {IPAddress: "fd00::/48"}}},
		{ID: "p2", AllowedAddressPairs: []model.AddressPair{{IPAddress: "0.0.0.0/0"}}}, // no groups: member of nothing
	}
	w := WidePairs(ports)
	if len(w) != 3 {
		t.Fatalf("got %v", w)
	}
	if w[0].Pair != "10.1.0.0/24" || w[0].Addresses != 256 {
		t.Errorf("first %+v", w[0])
	}
	if s := w[1].String(); !strings.Contains(s, "every IPv4 address") || !strings.Contains(s, "[g]") {
		t.Errorf("warning %q", s)
	}
	if w[2].Addresses != ^uint64(0) { // saturated
		t.Errorf("IPv6 /48 counts %d", w[2].Addresses)
	}
}
