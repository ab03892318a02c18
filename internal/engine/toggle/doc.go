// Package toggle compiles feature toggles and evaluates them. It is pure:
// no I/O, no clock, no locks. A toggle is compiled once per change (regular
// expressions, semantic versions, numbers and sets are parsed then), and
// Evaluate does not allocate.
//
// # Evaluation order
//
//  1. An all-on override (a token created with --all-on) serves on_variant.
//  2. A disabled toggle (the kill switch), or one held off by an alarm or a
//     dark launch, serves off_variant with reason DISABLED.
//  3. Rules are tried in order; the first whose conditions all hold serves
//     its variant (TARGETING_MATCH) or its rollout (SPLIT).
//  4. The toggle's rollout, if any, serves a split (SPLIT).
//  5. Otherwise default_variant: reason STATIC when the toggle has no rules
//     and no rollout, DEFAULT when none of them applied.
//
// # Bucketing (reproducible by any SDK)
//
// A rollout assigns a context to one of 100,000 buckets:
//
//	bucket = xxHash64(seed 0, UTF-8 bytes of salt + "/" + value) mod 100000
//
// where salt is the rollout's salt (default: the toggle key) and value is
// the context attribute named by bucket_by (default: targetingKey): a string
// as is, a number in shortest decimal form without exponent (strconv 'f', -1:
// 42, 3.5, 1e21 → "1000000000000000000000"), a boolean as "true" or "false".
// Variants own consecutive bucket ranges in the toggle's variant order (the
// order in which variants were first added), each range as wide as the
// variant's weight in thousandths of a percent. A context gets the variant
// whose range holds its bucket. So adding a variant never reshuffles existing
// subjects, and growing the first variant of a two-way split from 10 to 20
// percent keeps the first 10 percent where they were.
package toggle
