-- Bulwark schema. Every resource row keeps its rendered Neutron document in
-- doc (so a read is one row and no re-assembly) beside the columns that
-- queries filter on and the constraints that keep concurrent writers honest
-- (unique MAC per network, unique IP per subnet, unique rule per group).

-- +goose Up
CREATE TABLE networks (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    shared     INTEGER NOT NULL DEFAULT 0,
    revision   INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX networks_project ON networks (project_id);

CREATE TABLE subnets (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks (id),
    revision   INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX subnets_network ON subnets (network_id);
CREATE INDEX subnets_project ON subnets (project_id);

CREATE TABLE ports (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    network_id   TEXT NOT NULL REFERENCES networks (id),
    mac_address  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    device_owner TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    doc          TEXT NOT NULL,
    UNIQUE (network_id, mac_address)
);
CREATE INDEX ports_project ON ports (project_id);
CREATE INDEX ports_device ON ports (device_id);
CREATE INDEX ports_host ON ports (host_id);

CREATE TABLE ip_allocations (
    subnet_id  TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    network_id TEXT NOT NULL,
    port_id    TEXT NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ip_allocations_port ON ip_allocations (port_id);

CREATE TABLE port_security_groups (
    port_id           TEXT NOT NULL,
    security_group_id TEXT NOT NULL,
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX port_security_groups_group ON port_security_groups (security_group_id);

CREATE TABLE security_groups (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX security_groups_project ON security_groups (project_id);

CREATE TABLE default_security_groups (
    project_id        TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL
);

CREATE TABLE security_group_rules (
    id                      TEXT PRIMARY KEY,
    project_id              TEXT NOT NULL,
    security_group_id       TEXT NOT NULL REFERENCES security_groups (id),
    remote_group_id         TEXT NOT NULL,
    remote_address_group_id TEXT NOT NULL,
    fingerprint             TEXT NOT NULL,
    revision                INTEGER NOT NULL,
    doc                     TEXT NOT NULL,
    UNIQUE (security_group_id, fingerprint)
);
CREATE INDEX security_group_rules_remote ON security_group_rules (remote_group_id);
CREATE INDEX security_group_rules_remote_ag ON security_group_rules (remote_address_group_id);

CREATE TABLE address_groups (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX address_groups_project ON address_groups (project_id);

CREATE TABLE quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- The change log: one row per committed write, in commit order. The
-- agents' watch feed reads it.
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    resource    TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    op          TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX changes_resource ON changes (resource, resource_id);

-- +goose Down
DROP TABLE changes;
DROP TABLE counters;
DROP TABLE quotas;
DROP TABLE address_groups;
DROP TABLE security_group_rules;
DROP TABLE default_security_groups;
DROP TABLE security_groups;
DROP TABLE port_security_groups;
DROP TABLE ip_allocations;
DROP TABLE ports;
DROP TABLE subnets;
DROP TABLE networks;
