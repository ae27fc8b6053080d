// Package groups is the domain of chatd: groups, members, roles, the
// permission rules of SPEC.md §3, the operations of §4 and §6, the tips and
// system notices they emit, the error codes of §7 and the Store contract with
// its two implementations (the embedded in-memory default and Redis).
//
// It knows nothing about sockets or the wire protocol: an operation takes a
// Caller and a request and returns an Outcome — the reply and the ordered
// Events (deliveries, subscriptions) the transport must carry out.
package groups
