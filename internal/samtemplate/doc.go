// Package samtemplate holds the tests that keep template.yaml in step with
// the code and enforce the read model from the template alone: build
// targets, handler packages, routes, log groups and each function's
// environment; the table's definition; who may use each KMS key (key
// policies, IAM policies, the encryption context each use is pinned to, key
// administration without use; no person reads a webhook secret; the
// segmenter and the sweep hold no KMS permission at all); exactly which
// partitions each function and operator role may write, delete, get and
// query, who writes each partition, and that they are the partitions the
// store writes; the segmenter's stream event (its filter agrees with the
// handler on every fixture), its on-failure queue and alarm, who may read
// the stream; the sweep's schedule; that no role both writes and reads the
// audit, and the auditor reads it with no KMS; that the segment thresholds
// reach every function reading them from one parameter; that
// local/kms.json grants what the template grants; and that each alarm
// watches a metric the code publishes under the alarm's dimensions.
package samtemplate
