package dockerengine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v2"
)

// composeFile is the part of the compose schema the repository's file
// uses. Parsing strictly turns a misspelt key into a test failure rather
// than a setting compose silently ignores.
type composeFile struct {
	Services map[string]struct {
		Image       string   `yaml:"image"`
		Ports       []string `yaml:"ports"`
		Healthcheck struct {
			Test        []string `yaml:"test"`
			Interval    string   `yaml:"interval"`
			Timeout     string   `yaml:"timeout"`
			Retries     int      `yaml:"retries"`
			StartPeriod string   `yaml:"start_period"`
		} `yaml:"healthcheck"`
		Restart  string `yaml:"restart"`
		ReadOnly bool   `yaml:"read_only"`
	} `yaml:"services"`
}

func TestComposeFile(t *testing.T) {
	path := filepath.Join("..", "compose.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var c composeFile
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("yaml.UnmarshalStrict(%s) = %v, want valid compose YAML", path, err)
	}
	web, ok := c.Services["web"]
	if !ok {
		t.Fatalf("%s services = %v, want a web service", path, c.Services)
	}
	if web.Image != "${HOIST_IMAGE:-web:latest}" {
		t.Errorf("web.image = %q, want ${HOIST_IMAGE:-web:latest}", web.Image)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:8080:8080"}, web.Ports); diff != "" {
		t.Errorf("web.ports mismatch (-want +got):\n%s", diff)
	}
	if web.Restart != "unless-stopped" || !web.ReadOnly {
		t.Errorf("web restart, read_only = %q, %v; want unless-stopped, true", web.Restart, web.ReadOnly)
	}
	hc := web.Healthcheck
	for field, v := range map[string]string{"interval": hc.Interval, "timeout": hc.Timeout, "start_period": hc.StartPeriod} {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			t.Errorf("web.healthcheck.%s = %q, want a positive duration", field, v)
		}
	}
	if hc.Retries <= 0 {
		t.Errorf("web.healthcheck.retries = %d, want > 0", hc.Retries)
	}
	if !strings.Contains(string(data), "condition: service_healthy") {
		t.Errorf("%s lacks the depends_on service_healthy example", path)
	}

	// compose restates the image's probe; the two must not drift apart.
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*CMD (\[.*"-healthcheck"\])\s*$`).FindSubmatch(df)
	if m == nil {
		t.Fatalf("Dockerfile has no exec-form HEALTHCHECK CMD")
	}
	var probe []string
	if err := json.Unmarshal(m[1], &probe); err != nil {
		t.Fatalf("Dockerfile HEALTHCHECK CMD %s: %v", m[1], err)
	}
	if diff := cmp.Diff(append([]string{"CMD"}, probe...), hc.Test); diff != "" {
		t.Errorf("compose healthcheck differs from the Dockerfile's (-Dockerfile +compose):\n%s", diff)
	}
}
