// Package project discovers the conventions of a Go repository so that a
// standard layout needs no configuration: the module path from go.mod, the
// main packages in the module root and under cmd/, the package variables a
// build can stamp with the version, commit and date, and the commit itself.
//
// Discovery reads files with go/build and go/parser instead of running
// `go list`, which keeps a no-op build well under the time of one go command.
package project
