// Package ratelimit keeps the engine inside AWS's API request limits. Every
// AWS call the engine makes takes a token from a bucket for its service
// before it goes out; rollback writes take theirs first.
//
// # Buckets
//
// A [Limiter] holds one token bucket per AWS service, keyed by a short
// lowercase service key derived from the SDK's service ID (see [ServiceKey]):
//
//	SDK service ID               key                     default
//	"Route 53"                   route53                 5/s, burst 5 (AWS's per-account limit)
//	"Elastic Load Balancing v2"  elasticloadbalancing    20/s, burst 20
//	"Elastic Load Balancing"     elasticloadbalancing    (shares the ELBv2 bucket)
//	"CloudWatch"                 cloudwatch              20/s, burst 20
//	anything else                lowercase, letters and digits only ("EC2" → ec2)   unlimited
//
// The defaults can be replaced service by service with [ParseLimits], which
// reads the format of the PROGRESSIVE_AWS_RATE_LIMITS environment variable
// ([EnvVar]): "route53=5,elasticloadbalancing=50/100,cloudwatch=off".
//
// AWS counts these limits per account (and, for regional services, per
// region). The engine runs with one credential set, that is one account: it
// builds one Limiter and shares it between all of its clients. Two Limiters
// for the same account would each allow the full rate, together twice the
// limit. Buckets are not split by region: calls to a regional service in
// several regions (an ALB outside the configured region) share one bucket,
// which errs on the safe side.
//
// # Priority
//
// A call's [Priority] travels in its context ([WithPriority], [PriorityFrom]);
// the default is [Normal]. Rollback writes run at [High].
//
// The rule is strict: on a given bucket, a High waiter is always served
// before any Normal waiter, however long the Normal one has waited. Within a
// priority, waiters are served first come, first served. When a token frees,
// the oldest High waiter gets it; a Normal waiter gets a token only when no
// High waiter is queued on that bucket. A High call never waits behind queued
// Normal calls, so a rollback is never queued behind reads; the price is that
// a steady stream of High calls can hold Normal calls back indefinitely,
// which is what a rollback needs. Priorities do not cross buckets: a Route 53
// rollback does not hold back CloudWatch reads.
//
// # Waiting
//
// A waiter whose context ends leaves the queue at once and [Limiter.Wait]
// returns the context's error; a token handed to it in the same instant goes
// back to the bucket for the next waiter. The limiter starts no goroutines:
// a timer is armed only while some waiter is queued, for the moment the next
// token is due, and an idle limiter holds no timers at all. Time comes from
// an injectable [Clock], so tests move it by hand.
//
// # SDK middleware
//
// [Middleware] adds the limiter to an SDK client's middleware stack (append
// it to aws.Config.APIOptions). It sits in the Finalize step right after the
// SDK's retry middleware, inside the retry loop, so every attempt, retries
// included, takes a token: AWS counts each attempt against the limit, and a
// retry after throttling is exactly the call that must not go out early.
// Waiting before signing also keeps the signature's timestamp fresh.
//
// # Metrics
//
// [Limiter.Stats] returns counters per service and priority (calls let
// through, waits abandoned, total time spent waiting, waiters queued now),
// for the engine to export as Prometheus metrics.
package ratelimit
