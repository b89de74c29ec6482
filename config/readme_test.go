package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsEveryVariable keeps the README's table honest: every
// variable ReadEnv reads must be in it.
func TestReadmeListsEveryVariable(t *testing.T) {
	src, err := os.ReadFile("env.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`getenv\("([A-Z_0-9]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(vars) < 20 {
		t.Fatalf("found %d getenv calls in env.go; the pattern no longer matches", len(vars))
	}
	for _, v := range vars {
		if !strings.Contains(string(readme), "`"+v[1]) && !strings.Contains(string(readme), " "+v[1]) {
			t.Errorf("README.md does not mention %s, which hoist reads", v[1])
		}
	}
}
