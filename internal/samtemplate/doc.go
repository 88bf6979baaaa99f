// Package samtemplate holds the tests that keep template.yaml in step with
// the code and enforce the read model from the template alone: build
// targets, handler packages, routes, log groups and each function's
// environment; the table's definition; who may use each KMS key (key
// policies, IAM policies, the encryption context each use is pinned to, key
// administration without use; no person reads a webhook secret); exactly
// which partitions each function and operator role may write, delete, get
// and query, and that they are the partitions the store writes; that
// local/kms.json grants what the template grants; and that each alarm
// watches a metric the code publishes under the alarm's dimensions.
package samtemplate
