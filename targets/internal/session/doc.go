// Package session is the working half of hoist's mage layer. The exported
// targets in the parent packages only load the session and call one method;
// this package resolves the configuration once per process (defaults, the
// magefile's Configure functions, then the environment, read only through
// Session.Getenv), discovers the project, keeps the artifact list, and runs
// the build, image, push and release steps on the core packages.
//
// It is internal so that consumers see only targets and targets.Configure.
package session
