package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bulwark-net/bulwark/internal/store/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// ChangesChannel is the NOTIFY channel on which every commit that appended
// to the change log announces its newest seq to every server.
const ChangesChannel = "bulwark_changes"

// Advisory lock ids (the single-bigint space). changeLogLock serializes
// the change-log tail of write transactions (see appendChanges);
// migrationLock lets one of several servers that start together migrate
// while the others wait.
const (
	changeLogLock int64 = 0x62756c7761726b01 // "bulwark" 01
	migrationLock int64 = 0x62756c7761726b02
	writersLock   int64 = 0x62756c7761726b03
)

// PostgresDialect is PostgreSQL's flavour of the portable SQL. Write
// transactions are SERIALIZABLE: every check-then-write in the service
// (quota counts, free IP and MAC picks, If-Match revisions, duplicate
// rules) is then as safe across servers as behind SQLite's single writer,
// and a transaction that loses a race fails with a serialization failure
// that Write runs again; after a few lost races it runs alone (every
// write holds a shared advisory lock, the straggler takes it exclusively),
// so heavy contention (bulk creates in one project) degrades to a queue
// instead of a livelock. Reads are REPEATABLE READ: one snapshot per
// transaction, as the watch feed and the host snapshot need.
var PostgresDialect = Dialect{
	Name:            "postgres",
	Rebind:          rebindDollar,
	IsUnique:        func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKey:    func(err error) bool { return pgCode(err) == "23503" },
	IsRetryable:     pgRetryable,
	IsUnavailable:   pgUnavailable,
	WriteOptions:    &sql.TxOptions{Isolation: sql.LevelSerializable},
	ReadOptions:     &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	LockChangeLog:   "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(changeLogLock, 10) + ")",
	AnnounceChanges: "SELECT pg_notify('" + ChangesChannel + "', $1)",
	WriteShared:     "SELECT pg_advisory_xact_lock_shared(" + strconv.FormatInt(writersLock, 10) + ")",
	WriteAlone:      "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(writersLock, 10) + ")",
}

// rebindDollar turns '?' placeholders into $1, $2, ... (the queries hold
// no '?' inside string literals).
func rebindDollar(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgRetryable: serialization_failure and deadlock_detected roll the
// transaction back; running it again is the documented remedy.
func pgRetryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// pgUnavailable: the server is unreachable, shutting down, starting up,
// out of connection slots, or the connection broke.
func pgUnavailable(err error) bool {
	if err == nil {
		return false
	}
	code := pgCode(err)
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		code == "57P01", code == "57P02", code == "57P03", // admin/crash shutdown, cannot connect now
		code == "53300": // too many connections
		return true
	case code != "":
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "failed to connect")
}

// PostgresOptions tunes OpenPostgres.
type PostgresOptions struct {
	// MaxConns bounds the connection pool (default 16).
	MaxConns int
	// Log receives the LISTEN loop's reconnects (default: discarded).
	Log *slog.Logger
}

// OpenPostgres connects to the database at url (postgres://...),
// migrates it (one server at a time: the migration holds a session
// advisory lock, so servers that start together migrate once), and starts
// the LISTEN loop that turns other servers' commits into wake-ups of this
// store's Notifier.
func OpenPostgres(ctx context.Context, url string, o PostgresOptions) (*DB, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pool.SetMaxOpenConns(o.MaxConns)
	pool.SetMaxIdleConns(o.MaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock), lock.WithLockTimeout(1, 600))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	if err := migrate(ctx, pool, goose.DialectPostgres, migrations.Postgres, "postgres", goose.WithSessionLocker(locker)); err != nil {
		pool.Close()
		return nil, err
	}
	db := New(PostgresDialect, pool, pool)
	db.maxIdle = o.MaxConns
	l := &listener{url: url, notify: db.notify.Advance, log: o.Log, ready: make(chan struct{}),
		wakeAll: func() { db.notify.Publish(0) }}
	lctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.run(lctx) }()
	db.closers = append(db.closers, func() { cancel(); wg.Wait() })
	// Wait (briefly) for the first LISTEN, so that a watch served right
	// after start already hears other servers' commits.
	select {
	case <-l.ready:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	return db, nil
}

// listener holds one dedicated connection in LISTEN on ChangesChannel and
// passes each announced seq to notify. After every (re)connect it wakes
// all waiters once, since notifications sent while it was away are lost
// and the waiters must look at the log themselves.
type listener struct {
	url       string
	notify    func(int64) bool
	log       *slog.Logger
	ready     chan struct{}
	readyOnce sync.Once
	// wakeAll wakes every waiter (after a reconnect).
	wakeAll func()
}

func (l *listener) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("change feed LISTEN connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (l *listener) listenOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, l.url)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Commits announced while no connection listened are not replayed:
	// announce the newest seq now (watchers' caches of the log refresh up
	// to it), or at least wake every waiter once.
	var newest int64
	if err := conn.QueryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&newest); err != nil || !l.notify(newest) {
		if l.wakeAll != nil {
			l.wakeAll()
		}
	}
	l.readyOnce.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		seq, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			continue
		}
		l.notify(seq)
	}
}
