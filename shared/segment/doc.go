// Package segment holds the segment rules as pure functions: given what
// kehu may see of a customer (general-tier attributes and consent states,
// never a personal value), the time and the thresholds, Evaluate says which
// segments the customer belongs to and when that answer will next change
// with time alone. It uses the standard library only and does no I/O.
//
// # Segments
//
// Segment names are stable strings; stores, the CLI and the update-survey
// sender depend on them.
//
//   - value:A, value:B, value:C, value:D — value class from the trade total
//     of the 12-month window (below): A when the total is at least
//     Thresholds.ValueA (default 100000), B at least ValueB (20000), C at
//     least ValueC (2000), D below that, zero or negative included. Only a
//     customer who has ordered (below) has a value class.
//   - lifecycle:prospect — has never ordered.
//   - lifecycle:new — first order less than NewWithinDays (90) ago.
//   - lifecycle:active — not new, last order less than ActiveWithinDays
//     (180) ago.
//   - lifecycle:at-risk — last order at least ActiveWithinDays and less
//     than LapsedAfterDays (365) ago.
//   - lifecycle:lapsed — last order at least LapsedAfterDays ago.
//   - region:<value>, industry:<value>, type:<value>, nature:<value> — the
//     general-tier values region, industry, customer_type and
//     company_nature, verbatim, when present and not blank.
//   - completeness:high, completeness:medium, completeness:low — the share
//     of Thresholds.ExpectedFields the customer has a value of (named in
//     Profile.Present, or a non-blank Profile.General value): high at least
//     CompletenessHigh (0.8), medium at least CompletenessMedium (0.5),
//     low below.
//   - review-due — Profile.ReviewDueAt is set and now is at or after it.
//   - marketable — marketing consent granted and not withdrawn.
//   - contactable — contact consent granted and not withdrawn.
//   - restricted — processing is restricted: the only segment such a
//     profile has.
//   - retention-lapsed — a retention period has passed (below): the
//     privacy sweep withdraws the lapsed purposes, or erases the customer
//     when processing lapsed.
//
// A removed profile has no segment. Evaluate returns the names sorted in
// byte order (sort.Strings), each once.
//
// # Time
//
// All instants are compared as instants; calendar months are UTC. A day is
// 24 hours, so "N days after t" is t + N×24h. Every time-based membership
// holds on a half-open interval: a customer whose first order was at F is
// new while now < F+NewWithinDays and active (or later) from that instant
// on; at-risk starts exactly at L+ActiveWithinDays and lapsed exactly at
// L+LapsedAfterDays, where L is the last order; review-due starts exactly
// at ReviewDueAt.
//
// A customer has ordered when TradeCount > 0 or FirstTradeAt or LastTradeAt
// is set (the refund of a customer's only order removes its trade times, so
// it is a prospect again; a refund with other orders left keeps the times
// of the orders seen, so the last order may be a refunded one's). The last order is the later of LastTradeAt and
// FirstTradeAt. A trade time that is unknown (zero) counts as infinitely
// old: no first order time means not new, no order time at all means
// lapsed.
//
// # Retention
//
// Retention counts from Profile.ActiveAt, the customer's last activity (a
// submission, an answer, an inbound message, an order they placed; never
// a withdrawal, a restriction or any other operator's or system's act);
// with no ActiveAt no retention rule applies. Processing lapses at
// ActiveAt + RetentionDays["processing"], and each granted purpose at
// ActiveAt + its own RetentionDays (a purpose not granted, or not named in
// RetentionDays, does not lapse). A customer is in retention-lapsed from
// the first of these instants on, and Lapsed reports, for the privacy
// sweep, the granted purposes that lapsed and whether processing did.
//
// No purpose left: processing also lapses for a customer whose processing
// rests on consent alone — Consent names processing (they granted it once;
// only a grant records it) and they have not ordered (an order is a
// contract, another legal basis) — who has withdrawn every consent (no
// purpose in Consent is granted). It lapses NoPurposeGraceDays (7) after
// the later of WithdrawnAt, the last withdrawal, and ActiveAt, so that a
// mistaken withdrawal can be undone by granting again; the customer is
// then in retention-lapsed and the privacy sweep erases them. A customer
// who never granted processing (a chat, a survey correction: the person's
// own request) or who has ordered keeps the retention period.
//
// # The 12-month window
//
// TradeMonths maps a UTC month "YYYY-MM" of completed_at to the exact
// decimal total of that month's orders net of refunds. The window is the
// 12 calendar months ending with the current UTC month, inclusive: at any
// instant of March 2027 (UTC) it is April 2026 through March 2027. Its
// total is the exact sum (math/big.Rat) of the months in it; months before
// it and months after the current one (a completed_at in the future) are
// not counted. A month therefore leaves the window at 00:00 UTC on the first
// day of the twelfth month after it (2026-04 leaves on 2027-04-01T00:00Z)
// and a future month enters it at 00:00 UTC on its own first day.
//
// A month key must be exactly four digits, '-', two digits 01–12. A total
// (and an amount threshold) must be a decimal: an optional '-', digits,
// optionally '.' and digits, optionally an exponent of at most 400 as a
// datastore may write it ("1234.50", "0", "-80.00", "1.5E+5"), at most 100
// characters in all; no leading '+' or '.', fraction, spaces or thousands
// separators. A malformed key or total is skipped.
//
// # Next change
//
// Evaluate also returns next, the earliest instant after now at which its
// answer differs from the answer at now with time alone (the profile and
// thresholds unchanged), or the zero time when it never does. Between now
// and next the answer is the same at every instant; at next it differs.
// The candidates are FirstTradeAt+NewWithinDays, last order+ActiveWithinDays,
// last order+LapsedAfterDays, ReviewDueAt, the retention lapses (each
// retention period's end and, with no purpose left, the grace period's),
// and the first instant of each month at which a month with a non-zero
// total leaves (or enters) the window; a candidate at which the segments
// happen to stay the same (a month leaving that does not move the value
// class) is passed over. A scheduled
// sweep keeps next with the memberships and touches only customers whose
// next has come.
//
// # Thresholds
//
// Thresholds live in one place, have documented defaults (Defaults) and are
// changed without code edits by a JSON document (ParseThresholds):
//
//	{
//	  "value_a": "100000",
//	  "value_b": "20000",
//	  "value_c": "2000",
//	  "new_within_days": 90,
//	  "active_within_days": 180,
//	  "lapsed_after_days": 365,
//	  "completeness_high": 0.8,
//	  "completeness_medium": 0.5,
//	  "expected_fields": ["name", "email", "phone", "company", "region",
//	                      "industry", "customer_type", "company_nature"],
//	  "retention_days": {"processing": 1095, "marketing": 730, "contact": 730,
//	                     "profiling": 730, "sensitive": 1095, "guardian": 1095},
//	  "no_purpose_grace_days": 7
//	}
//
// In retention_days the purposes named replace their defaults and the
// others keep theirs; each period is 1 to MaxDays days, and so is
// no_purpose_grace_days.
//
// Every member is optional and keeps its default when missing; an unknown
// member is an error.
package segment
