// Package e2e is the end-to-end tier: the local stack (the same handlers,
// the embedded AWS emulator, the HTTP API with its JWT check) against a real
// WordPress started by infra/wordpress/start.sh. It runs when a WordPress is
// configured through the environment (`make e2e` does it); otherwise every
// test skips with a message saying how to run it, and `make test` prints
// that the tier was skipped. E2E_REQUIRED=1 (set by `make e2e` and CI) turns
// a missing WordPress into a failure.
package e2e
