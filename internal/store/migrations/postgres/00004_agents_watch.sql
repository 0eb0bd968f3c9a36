-- The agent channel: registered agents (GET /v2.0/agents, heartbeats) and
-- the watch keys of each change-log row, which say which hosts' agents a
-- change can concern (see internal/store/watch.go).

-- +goose Up
CREATE TABLE agents (
    id             TEXT COLLATE "C" PRIMARY KEY,
    agent_type     TEXT COLLATE "C" NOT NULL,
    agent_binary   TEXT COLLATE "C" NOT NULL,
    topic          TEXT COLLATE "C" NOT NULL,
    host           TEXT COLLATE "C" NOT NULL,
    admin_state_up BIGINT NOT NULL,
    description    TEXT COLLATE "C",
    configurations TEXT COLLATE "C" NOT NULL,
    created_at     TEXT COLLATE "C" NOT NULL,
    started_at     TEXT COLLATE "C" NOT NULL,
    heartbeat_at   TEXT COLLATE "C" NOT NULL,
    UNIQUE (agent_binary, host)
);

-- host:<h>, member:<group>, netport:<network>, sg:<group>, ag:<address group>
CREATE TABLE change_keys (
    seq       BIGINT NOT NULL REFERENCES changes (seq) ON DELETE CASCADE,
    watch_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (seq, watch_key)
);

-- Entries up to this sequence number have been compacted away.
INSERT INTO counters (name, value) VALUES ('changes_compacted', 0);

-- +goose Down
DELETE FROM counters WHERE name = 'changes_compacted';
DROP TABLE change_keys;
DROP TABLE agents;
