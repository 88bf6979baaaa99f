// Package samtemplate holds the tests that keep template.yaml in step with
// the code: build targets, handler packages, environment variables, the
// table's definition and each function's least-privilege policy.
package samtemplate
