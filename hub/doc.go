// Package hub holds the sessions of this node and the groups each listens
// to, and fans pre-encoded pushes out to them.
//
// Every session has a bounded queue and exactly one writer goroutine, which
// owns every data frame written to the session's Conn. Publishers never
// block on a slow session: a session whose queue overflows is closed with
// 4008 (slow consumer) and the others go on.
//
// Pings go out from a time.AfterFunc callback, so an idle session costs one
// goroutine (its writer) here, plus the server's reader.
//
// # Locks
//
// The indexes are sharded by the FNV-1a hash of the user or group ID. Locks
// are taken in this order, and never the other way round:
//
//	userShard.mu → Session.mu → groupShard.mu
//
// Session.qmu (the queue) and Hub.mu (the session registry) are leaves: no
// other lock is taken while one of them is held, and no Conn method is
// called under any hub lock.
package hub
