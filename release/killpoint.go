//go:build !hoisttest

package release

// killpoint marks a point where the interruption tests stop a release: the
// boundaries between stages and the steps inside the tag stage. Only a
// build with the hoisttest tag acts on it (killpoint_hoisttest.go); here
// it does nothing and compiles away.
func killpoint(string) {}
