package sqldb

// SetBeforeCommit makes every write transaction of db call f between its
// change-log append and its COMMIT (tests of commit ordering).
func SetBeforeCommit(db *DB, f func()) { db.beforeCommit = f }
