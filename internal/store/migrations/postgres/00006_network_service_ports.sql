-- A host's snapshot reads the DHCP and router-interface ports of its
-- networks (device_owner IN (...) AND network_id IN (...)): with only the
-- network index that walks every port of the network, per snapshot.

-- +goose Up
CREATE INDEX ports_owner_network ON ports (device_owner, network_id, id);

-- +goose Down
DROP INDEX ports_owner_network;
