// Package platform names the targets hoist cross-compiles for.
//
// A platform is written the way Go and OCI both understand it: os/arch with
// an optional variant, such as linux/amd64, linux/arm/v7 or linux/amd64/v3.
// The variant maps to the matching Go environment knob (GOARM, GOAMD64,
// GOARM64), so one string drives both the compiler and the image index.
package platform
