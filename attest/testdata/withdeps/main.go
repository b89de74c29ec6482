// Command withdeps is a Go binary with one module dependency, for the
// provenance test to read the build information of.
package main

import "google.golang.org/protobuf/proto"

func main() { _ = proto.Size }
