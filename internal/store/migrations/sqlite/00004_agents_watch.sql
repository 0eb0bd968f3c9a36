-- The agent channel: registered agents (GET /v2.0/agents, heartbeats) and
-- the watch keys of each change-log row, which say which hosts' agents a
-- change can concern (see internal/store/watch.go).

-- +goose Up
CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    agent_type     TEXT NOT NULL,
    agent_binary   TEXT NOT NULL,
    topic          TEXT NOT NULL,
    host           TEXT NOT NULL,
    admin_state_up INTEGER NOT NULL,
    description    TEXT,
    configurations TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    heartbeat_at   TEXT NOT NULL,
    UNIQUE (agent_binary, host)
);

-- host:<h>, member:<group>, netport:<network>, sg:<group>, ag:<address group>
CREATE TABLE change_keys (
    seq       INTEGER NOT NULL REFERENCES changes (seq) ON DELETE CASCADE,
    watch_key TEXT NOT NULL,
    PRIMARY KEY (seq, watch_key)
) WITHOUT ROWID;

-- Entries up to this sequence number have been compacted away.
INSERT INTO counters (name, value) VALUES ('changes_compacted', 0);

-- +goose Down
DELETE FROM counters WHERE name = 'changes_compacted';
DROP TABLE change_keys;
DROP TABLE agents;
