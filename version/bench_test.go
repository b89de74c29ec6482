package version

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPlan measures the git overhead of a release decision on a
// repository with some history: 20 release tags and 60 commits.
func BenchmarkPlan(b *testing.B) {
	r := newRepo(b)
	for i := range 60 {
		r.commit("f.txt", fmt.Sprintf("fix: change %d\n\nSome body text.", i))
		if i%3 == 0 {
			r.git("tag", "-a", "-m", "rel", fmt.Sprintf("v0.%d.0", i/3))
		}
	}
	r.write("VERSION", "0.19.0\n")
	r.git("add", "VERSION")
	r.git("commit", "-q", "-m", "chore: version")
	for b.Loop() {
		d, err := Plan(b.Context(), r.dir)
		if err != nil || !d.Release {
			b.Fatalf("Plan() = %+v, %v", d, err)
		}
	}
}

// BenchmarkParseCommit measures message parsing, which runs once per commit
// since the last tag.
func BenchmarkParseCommit(b *testing.B) {
	msg := "feat(api)!: new routes\n\n" + strings.Repeat("Body line.\n", 20) + "\nBREAKING CHANGE: old routes are gone\nRefs: #1\n"
	for b.Loop() {
		if c := ParseCommit("abc", msg); !c.Breaking {
			b.Fatal("ParseCommit lost the breaking footer")
		}
	}
}
