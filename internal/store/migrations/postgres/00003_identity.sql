-- Identity: the Keystone v3 subset Bulwark serves itself. Passwords are
-- bcrypt hashes; tokens are stored only as their SHA-256.

-- +goose Up
CREATE TABLE domains (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT COLLATE "C" NOT NULL,
    enabled     BIGINT NOT NULL
);

CREATE TABLE projects (
    id          TEXT COLLATE "C" PRIMARY KEY,
    domain_id   TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    enabled     BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    domain_id          TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    name               TEXT COLLATE "C" NOT NULL,
    password_hash      TEXT COLLATE "C" NOT NULL,
    enabled            BIGINT NOT NULL,
    default_project_id TEXT COLLATE "C" NOT NULL,
    email              TEXT COLLATE "C" NOT NULL,
    description        TEXT COLLATE "C" NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE roles (
    id   TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE role_assignments (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    role_id    TEXT COLLATE "C" NOT NULL REFERENCES roles (id),
    PRIMARY KEY (project_id, user_id, role_id)
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);

CREATE TABLE tokens (
    hash       TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    methods    TEXT COLLATE "C" NOT NULL,
    audit_id   TEXT COLLATE "C" NOT NULL,
    issued_at  TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

-- +goose Down
DROP TABLE tokens;
DROP TABLE role_assignments;
DROP TABLE roles;
DROP TABLE users;
DROP TABLE projects;
DROP TABLE domains;
