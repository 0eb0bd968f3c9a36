package store

import (
	"slices"

	"github.com/bulwark-net/bulwark/internal/model"
)

// Watch keys say which agents a change can concern. Every change-log row
// gets its keys in the same transaction (table change_keys), computed by
// the store from the rows themselves, so no write path can forget them:
//
//	host:<h>     a port bound to host h before or after the change
//	member:<g>   a port that is or was in security group g (g's membership,
//	             i.e. the addresses a remote-group rule on g matches)
//	netport:<n>  a DHCP or router-interface port on network n, before or
//	             after the change (model.IsNetworkServicePort)
//	sg:<g>       security group g itself, or one of its rules
//	sgrefs:<g>   a rule of g that names a remote group or address group
//	             (also keyed sg:<g>): such a change can alter what the
//	             hosts using g depend on (HostRefs); no other change of a
//	             group can
//	ag:<a>       address group a
//
// Networks and subnets get no keys: nothing an agent enforces depends on
// them directly. The watch feed matches these keys against what a host
// uses now (HostRefs).
const (
	KeyHost         = "host:"
	KeyMember       = "member:"
	KeyNetworkPort  = "netport:"
	KeyGroup        = "sg:"
	KeyGroupRefs    = "sgrefs:"
	KeyAddressGroup = "ag:"
)

// PortState is what the watch keys of a port change depend on, read
// before and after the transaction.
type PortState struct {
	Exists      bool
	Host        string
	NetworkID   string
	DeviceOwner string
	Groups      []string
}

// PortKeys returns the keys of a port change from the port's state before
// and after it (both are keyed, so a port that leaves a host or a group
// still reaches the agents that knew it there).
func PortKeys(before, after PortState) []string {
	var keys []string
	for _, s := range []PortState{before, after} {
		if !s.Exists {
			continue
		}
		if s.Host != "" {
			keys = append(keys, KeyHost+s.Host)
		}
		for _, g := range s.Groups {
			keys = append(keys, KeyMember+g)
		}
		if model.IsNetworkServicePort(s.DeviceOwner) {
			keys = append(keys, KeyNetworkPort+s.NetworkID)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// WatchChange is a change-log entry with its watch keys.
type WatchChange struct {
	Change
	Keys []string
}

// HostRefs is what the agent of one host depends on, read from the
// current state: the networks and security groups of the ports bound to
// it, and the remote groups and address groups those groups' rules
// reference. Every list is sorted and free of duplicates.
type HostRefs struct {
	Networks      []string
	Groups        []string
	RemoteGroups  []string
	AddressGroups []string
}

// Keys returns the watch keys that concern the host's agent.
func (r HostRefs) Keys(host string) map[string]bool {
	keys := map[string]bool{KeyHost + host: true}
	for _, n := range r.Networks {
		keys[KeyNetworkPort+n] = true
	}
	for _, g := range r.Groups {
		keys[KeyGroup+g] = true
	}
	for _, g := range r.RemoteGroups {
		keys[KeyMember+g] = true
	}
	for _, a := range r.AddressGroups {
		keys[KeyAddressGroup+a] = true
	}
	return keys
}

// AgentRow is one registered agent. Timestamps are UTC in
// model.AgentTimeFormat; Configurations is a JSON object.
type AgentRow struct {
	ID             string
	AgentType      string
	Binary         string
	Topic          string
	Host           string
	AdminStateUp   bool
	Description    *string
	Configurations []byte
	CreatedAt      string
	StartedAt      string
	HeartbeatAt    string
}
