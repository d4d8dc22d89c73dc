// Package publisher is the publisher benchmark (make bench-publisher): many
// sites with approved content waiting, a few of them with an open window,
// and one publisher run measured by its DynamoDB calls and wall time. Run
// it with go test -bench; the Markdown table goes to stdout.
package publisher
