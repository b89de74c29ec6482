package project

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// licenseTexts recognise the licenses Go projects ship most, by phrases
// each one's text always carries, most specific first.
var licenseTexts = []struct {
	id      string
	phrases []string
}{
	{"Apache-2.0", []string{"Apache License", "Version 2.0"}},
	{"MPL-2.0", []string{"Mozilla Public License", "2.0"}},
	{"AGPL-3.0-only", []string{"GNU AFFERO GENERAL PUBLIC LICENSE", "Version 3"}},
	{"GPL-3.0-only", []string{"GNU GENERAL PUBLIC LICENSE", "Version 3"}},
	{"GPL-2.0-only", []string{"GNU GENERAL PUBLIC LICENSE", "Version 2"}},
	{"BSD-3-Clause", []string{"Redistribution and use in source and binary forms", "Neither the name"}},
	{"BSD-2-Clause", []string{"Redistribution and use in source and binary forms"}},
	{"ISC", []string{"Permission to use, copy, modify, and/or distribute this software"}},
	{"MIT", []string{"Permission is hereby granted, free of charge"}},
	{"Unlicense", []string{"This is free and unencumbered software released into the public domain"}},
}

var spaces = regexp.MustCompile(`\s+`)

// License names the SPDX identifier of the license in root's LICENSE file
// (LICENSE, LICENSE.md, LICENSE.txt, COPYING), or "" when there is none or
// its text is not one hoist recognises.
func License(root string) string {
	for _, name := range []string{"LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue
		}
		text := spaces.ReplaceAllString(string(data), " ")
		for _, l := range licenseTexts {
			all := true
			for _, p := range l.phrases {
				all = all && strings.Contains(text, p)
			}
			if all {
				return l.id
			}
		}
		return ""
	}
	return ""
}
