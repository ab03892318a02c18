// Package shadow is the mirroring tier of dark launches (`progressive
// shadow`): a reverse proxy in front of a live service that copies a sample
// of the traffic to a dark upstream, compares the responses, and counts
// what happened, for the engine to decide whether the dark launch is
// proven.
//
// It is a library without I/O of its own beyond HTTP: it does not import
// the engine or the store. An Agent connects a Proxy to the engine through
// two small interfaces, ConfigSource and Reporter.
//
// # The live path
//
//	client ──▶ Proxy ──────────────────────────────▶ live   (response returned unchanged)
//	             │ sampled, after live has answered
//	             ▼
//	        bounded queue ──▶ Workers ──▶ dark   (and noise; compared, discarded)
//	          (full: dropped, counted)
//
// A Server serves the Proxy over HTTP/1.1 (TLS ends at the load balancer
// in front of it). Each client connection has one goroutine, which reads
// a request, sends it to live over a pooled keep-alive connection, and
// streams live's answer back; nothing is handed between goroutines on the
// way, which keeps the proxy's CPU per request, and so its tail latency on
// a busy machine, close to nginx's (see bench/RESULTS.md).
//
// What the Proxy guarantees the live path:
//
//   - Every request goes to live_url, and live's response goes back as it
//     came, streamed (status, headers, body, trailers; interim answers
//     such as 103 Early Hints, and upgrades such as websockets, included).
//     Hop-by-hop headers (RFC 9110 §7.6.1, and those a Connection header
//     names) are not passed on; the inbound X-Forwarded-For, -Host, -Proto
//     and Forwarded headers are kept, and the client's address is
//     appended to X-Forwarded-For. Request bodies up to 64 KiB are read
//     whole and sent with the head; larger and chunked ones stream, and
//     live's answer is read while they do (an early 413 reaches the
//     client; a service that answers as it reads works both ways at
//     once). A pooled connection to live is peeked at before it is
//     reused, so one that live has closed meanwhile (plain or TLS) is not
//     used; one that live closes just as the request goes out is replaced
//     by a fresh one for requests that change nothing (GET, HEAD,
//     OPTIONS, TRACE, or with an Idempotency-Key), as net/http's
//     transport does, and answers 502 otherwise.
//   - What cannot be passed on safely is refused with 400 before live
//     sees it: a field name that is not a token (net/http's parser lets
//     "Transfer-Encoding :" through, which live could frame differently),
//     a value with a control character, a request without Host, CONNECT.
//     Such fields in live's answers are dropped, and an unasked 101 from
//     live answers 502.
//   - A live request never waits on dark. A copy starts only after live
//     has answered, from a fixed pool of workers fed by a bounded queue;
//     handing it over never blocks: when the queue (QueueSize copies, or
//     QueueBytes of memory) is full, the copy is dropped and counted. Each
//     copy has a timeout (DarkTimeout), so a dark upstream that hangs ties
//     up at most Workers connections and the queue, never the live path.
//   - Sampling costs a per-thread random draw: no lock. Requests that are
//     not sampled, whose method is not mirrored, or that ask for an
//     upgrade, are only forwarded (upgrades are never mirrored).
//   - The request body streams to live as it arrives. It is teed into a
//     buffer of at most MaxBodyBytes; a larger body (announced or not) is
//     not mirrored and counts as skipped, and its buffer is released. For
//     the comparison, live's response body is teed the same way as it
//     streams to the client, up to MaxCompareBytes.
//   - Memory held for copies is bounded: QueueBytes covers the bodies of
//     queued and running copies; in-flight live requests hold at most
//     MaxBodyBytes + MaxCompareBytes each while they are sampled.
//   - The config is swapped atomically (SetConfig): requests in flight
//     finish under the config they started with, and no connection is
//     dropped. An invalid config is refused and the previous one stays.
//     Pausing (or 0 %) stops mirroring at once: copies still queued are
//     not sent.
//   - Without any config, the proxy forwards to Options.Fallback without
//     mirroring or, when there is no fallback, answers 503 with a message
//     saying so: it cannot guess where live is. The Agent keeps the last
//     good config while the engine is unreachable.
//
// # Comparison
//
// With compare.enabled, each copy's response is compared with live's: the
// status, the headers (minus IgnoredHeaders and compare.ignore_headers),
// and the body. A body is compared as JSON when either response says it
// is JSON (application/json or +json) and both parse: the
// compare.ignore_json_paths are removed from both, then values are
// compared structurally (object member order does not matter; numbers by
// value, so 1, 1.0 and 1e0 are equal; arrays of different lengths differ
// as a whole). Otherwise bodies are compared byte for byte. A gzip
// Content-Encoding is undone first. Bodies longer than MaxCompareBytes are
// not compared (status and headers still are).
//
// With compare.noise_url (Diffy's method), each copy also goes to a second
// live instance, with the same request as dark. A field (the status, a
// header, or a JSON location and everything under it) that differs between
// live and noise for that request is noise: a live-vs-dark difference
// there is not counted. A comparison whose differences were all noise
// counts as Noisy; one with any other difference as a Diff, kept as a
// sample (up to MaxSamples per report) that names the request by method
// and path only and never shows Authorization, Proxy-Authorization,
// Cookie, Set-Cookie or strip_headers values.
//
// # Reporting
//
// Stats counts copies at dark (errors are 5xx answers, timeouts and
// connection errors), comparisons, diffs, drops and skips, and dark's
// latency in a fixed-bucket Histogram that adds up across proxies and
// periods. The Agent polls the config every second, reports the
// figures every few seconds (Report), keeps undelivered reports while the
// engine is unreachable, never calls the engine per request, and on Close
// drains the proxy's copies and delivers a last report. A Publisher
// (CloudWatchPublisher) may receive every report too.
//
// Synthetic sends simulated user actions to dark at a fixed rate into the
// same kind of Stats; the engine runs it.
package shadow
