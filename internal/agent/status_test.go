package agent

import (
	"testing"

	"github.com/bulwark-net/bulwark/internal/model"
)

// A port document that came back with only its status (and revision,
// update time) changed needs no compile; anything the firewall reads does.
func TestOnlyStatus(t *testing.T) {
	base := model.Port{ID: "p1", Status: "DOWN", RevisionNumber: 3, UpdatedAt: "t1", MACAddress: "fa:16:3e:00:00:01",
		FixedIPs: []model.FixedIP{{IPAddress: "10.0.0.5"}}, SecurityGroups: []string{"sg1"}}
	for _, c := range []struct {
		name string
		edit func(p *model.Port)
		want bool
	}{
		{"status, revision and time", func(p *model.Port) { p.Status, p.RevisionNumber, p.UpdatedAt = "ACTIVE", 4, "t2" }, true},
		{"nothing", func(p *model.Port) {}, true},
		{"an address pair", func(p *model.Port) {
			p.AllowedAddressPairs = []model.AddressPair{{IPAddress: "10.0.0.9"}}
		}, false},
		{"the groups", func(p *model.Port) { p.SecurityGroups = []string{"sg2"} }, false},
		{"the fixed IP", func(p *model.Port) { p.FixedIPs = []model.FixedIP{{IPAddress: "10.0.0.6"}} }, false},
		{"the host", func(p *model.Port) { p.BindingHostID = "h2" }, false},
	} {
		doc := base
		doc.FixedIPs = append([]model.FixedIP(nil), base.FixedIPs...)
		c.edit(&doc)
		if got := onlyStatus(base, doc); got != c.want {
			t.Errorf("%s changed: onlyStatus = %v, want %v", c.name, got, c.want)
		}
	}
}
