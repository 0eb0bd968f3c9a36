package doctor

import (
	"bytes"
	"strings"
	"testing"
)

// TestPrintText: the peers table and each finding with its fix, for the
// operator's note's second way (port security off on keepalived02).
func TestPrintText(t *testing.T) {
	in := healthy()
	setIngress(&in)
	p := port(&in, ka02)
	p.PortSecurity, p.SecurityGroups, p.AddressPairs = false, nil, nil
	port(&in, ka01).AddressPairs = append(port(&in, ka01).AddressPairs, AddressPair{IPAddress: "172.16.200.252", MACAddress: "fa:16:3e:99:99:99"})
	in.PeerIDs = []string{ka01, ka02}
	rep, err := Analyze(in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintText(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"VIP 172.16.200.251: 2 peer port(s)",
		"| port-ka01 | keepalived01 | 172.16.200.193 | enabled       | ha-sg           | 172.16.200.251",
		"172.16.200.252 (MAC fa:16:3e:99:99:99)",
		"| port-ka02 | keepalived02 | 172.16.200.194 | DISABLED      |",
		"\nERROR   VRRP (IP protocol 112) is not admitted between the peers\n        port keepalived01 does not admit VRRP from 172.16.200.194 (port keepalived02).",
		"        fix:\n          openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-ip 172.16.200.194/32 ha-sg\n",
		"\nWARNING Port security is disabled on peer keepalived02\n",
		"put it in ha-sg with the VIP",
		"          openstack port set --enable-port-security --security-group ha-sg --allowed-address ip-address=172.16.200.251 port-ka02\n" +
			"          openstack security group rule create --ingress --ethertype IPv4 --protocol 112 --remote-group ha-sg ha-sg\n",
		"\nINFO    The VIP 172.16.200.251 is reserved by port vip\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "        ") && !strings.HasPrefix(line, "          openstack") && len(line) > 8+88 {
			t.Errorf("detail line longer than 88 columns: %q", line)
		}
	}
}
