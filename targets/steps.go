package targets

import "github.com/hoistdev/hoist/targets/internal/session"

// ReleaseSteps returns the targets a release runs, for the release
// namespace in targets/release. mage does not list it: a target cannot
// return a value.
func ReleaseSteps() session.Steps {
	return session.Steps{
		Tidy: session.TidyCheck, Vet: Go.Vet, Test: Go.Test, Build: Go.Build,
		ImageBuild: Image.Build, ImagePush: Image.Push,
	}
}
