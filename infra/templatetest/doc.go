// Package templatetest holds the test that keeps template.yaml and the code
// in step: every function has a build target and a main package, every
// HttpApi route is served by the API router and every router route is in the
// template, every environment variable the code reads is set, and the
// event sources are wired as the handlers expect.
package templatetest
