-- Lists come back ordered by id. Indexes that end in id let the engine walk
-- the matching rows already in order instead of sorting every document
-- (the 1000-port list of one network went from a temp b-tree sort of all
-- docs to an index walk).

-- +goose Up
CREATE INDEX ports_network_id ON ports (network_id, id);
CREATE INDEX ports_project_id ON ports (project_id, id);
CREATE INDEX ports_host_id ON ports (host_id, id);
CREATE INDEX subnets_network_id ON subnets (network_id, id);
CREATE INDEX security_group_rules_group_id ON security_group_rules (security_group_id, id);
DROP INDEX ports_project;
DROP INDEX ports_host;
DROP INDEX subnets_network;

-- +goose Down
CREATE INDEX ports_project ON ports (project_id);
CREATE INDEX ports_host ON ports (host_id);
CREATE INDEX subnets_network ON subnets (network_id);
DROP INDEX security_group_rules_group_id;
DROP INDEX subnets_network_id;
DROP INDEX ports_host_id;
DROP INDEX ports_project_id;
DROP INDEX ports_network_id;
