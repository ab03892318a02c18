// Package lease elects the one engine replica that may act on AWS.
//
// Every replica serves the API and evaluates flags, but only the holder of
// the "controller" lease runs the controller. The lease is one database row:
//
//	leases(name, holder, epoch, expires_at)
//
// and the rules are:
//
//  1. Expiry is on the database's clock. A replica takes the lease when the
//     row is missing or expires_at <= now() on the database, renews it when
//     it is already the holder, and otherwise leaves it alone. One statement
//     does this, so two replicas can never both succeed.
//  2. Every new term bumps the epoch. A renewal in time keeps it.
//  3. Every controller write carries a store.Fence {lease, epoch} and the
//     store refuses it (store.ErrFenced) unless that epoch is still current
//     and unexpired on the database's clock, in the same transaction as the
//     write. A paused or partitioned ex-leader cannot write after a takeover.
//  4. A leader stops acting before its lease can expire. It measures its term
//     on its own monotonic clock from the moment it sent the acquire request,
//     which is no later than the moment the database stamped the expiry, and
//     ends it Margin before TTL. Every AWS call runs under Term.Context, whose
//     deadline is that end, so AWS calls end before the lease does.
//  5. A new leader trusts nothing it did not read: it re-verifies live weights
//     against AWS before acting (the controller's first step of each term).
//
// Timeline of a takeover (TTL 15s, renewals every 5s, margin 3s):
//
//	db time  0s        5s        10s       15s       20s       25s
//	A        acquire   renew     renew  ✗ (A pauses or loses the database)
//	A term   [epoch 1 ──────────────────────────────]── ends at 10s+15s-3s = 22s
//	lease    epoch 1, expires 25s ──────────────────────────────────┐
//	B        acquire?  no        no        no        no        no   acquire → epoch 2
//	A write  ok        ok        ok                            ErrFenced (epoch 1 < 2)
//
// A releases the lease on a clean shutdown, so B need not wait for expiry.
package lease
