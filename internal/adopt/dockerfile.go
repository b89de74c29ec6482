package adopt

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper-cased: FROM, USER, ...
	Args string
}

// parseDockerfile splits a Dockerfile into its stages' instructions.
func parseDockerfile(data string) [][]instruction {
	var stages [][]instruction
	var cur []instruction
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line, start := 0, 0
	var buf strings.Builder
	flush := func() {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			if cur != nil {
				stages = append(stages, cur)
			}
			cur = []instruction{}
		}
		cur = append(cur, in)
	}
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(t, "#") || (t == "" && buf.Len() == 0) {
			continue
		}
		if buf.Len() == 0 {
			start = line
		}
		if cont, ok := strings.CutSuffix(t, "\\"); ok {
			buf.WriteString(cont + " ")
			continue
		}
		buf.WriteString(t)
		flush()
	}
	flush()
	if cur != nil {
		stages = append(stages, cur)
	}
	return stages
}

// words reads an exec-form (JSON array) or shell-form argument list.
func words(args string) []string {
	var out []string
	if strings.HasPrefix(args, "[") && json.Unmarshal([]byte(args), &out) == nil {
		return out
	}
	return strings.Fields(args)
}

// flags splits leading --flag=value words off an instruction's arguments.
func flags(args string) (map[string]string, []string) {
	f := map[string]string{}
	w := strings.Fields(args)
	for len(w) > 0 && strings.HasPrefix(w[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(w[0], "--"), "=")
		f[k] = v
		w = w[1:]
	}
	return f, w
}

// staticBases are base images whose content hoist's built-in base already
// provides (CA certificates, a nonroot user, /tmp).
var staticBases = []string{"scratch", "gcr.io/distroless/static", "gcr.io/distroless/static-debian11", "gcr.io/distroless/static-debian12",
	"gcr.io/distroless/base", "gcr.io/distroless/base-debian12", "cgr.dev/chainguard/static", "alpine", "busybox", "debian", "ubuntu"}

// readBase decides whether a base image is replaced by hoist's built-in
// one: distroless/static-like bases are, and so are distribution images
// (alpine, debian) when the final stage only installs certificates and
// time zones on them. Anything else is carried as Base.
func (s *settings) readBase(r *Result, ref, where string) {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	name = strings.TrimPrefix(name, "docker.io/library/")
	if slices.Contains(staticBases, name) {
		r.carry("base "+ref+" → hoist's built-in static base (CA certificates, nonroot user, /tmp)", where)
		if slices.Contains([]string{"alpine", "busybox", "debian", "ubuntu"}, name) {
			r.note("hoist's base has no shell or package manager, unlike " + name + "; set targets.Base(\"" + ref + "\") to keep them")
		}
		return
	}
	s.base = ref
	r.carry("base "+ref, where)
}

// readDockerfile carries the final stage of a Dockerfile over into s.
func (r *Result) readDockerfile(root string, s *settings) error {
	file := "Dockerfile"
	data, err := os.ReadFile(filepath.Join(root, file))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	stages := parseDockerfile(string(data))
	if len(stages) == 0 {
		return nil
	}
	r.Sources = append(r.Sources, file)
	final := stages[len(stages)-1]
	builders := map[string]bool{}
	for _, st := range stages[:len(stages)-1] {
		if w := strings.Fields(st[0].Args); len(w) >= 3 && strings.EqualFold(w[len(w)-2], "as") {
			builders[strings.ToLower(w[len(w)-1])] = true
		}
	}
	var baseRef string
	var runs []instruction
	onlyPackages := true
	for _, in := range final {
		where := fmt.Sprintf("%s:%d %s", file, in.Line, in.Cmd)
		switch in.Cmd {
		case "FROM":
			_, w := flags(in.Args)
			if len(w) > 0 {
				baseRef = w[0]
			}
		case "RUN":
			runs = append(runs, in)
			pkgs, ok := installs(in.Args)
			if !ok {
				onlyPackages = false
				continue
			}
			for _, p := range pkgs {
				switch p {
				case "tzdata":
					s.tzdata = true
					r.carry("time zone data", where+" (tzdata)")
				case "ca-certificates":
				default:
					onlyPackages = false
				}
			}
		case "USER":
			switch u := in.Args; u {
			case "65532", "65532:65532", "nonroot", "nonroot:nonroot":
				r.carry("user "+u+" (hoist's default nonroot; nothing written)", where)
			default:
				if strings.Trim(strings.ReplaceAll(u, ":", ""), "0123456789") != "" {
					r.skip("user "+u, where, "hoist's base knows only uids; write it as uid:gid with User")
					continue
				}
				s.user = u
				r.carry("user "+u, where)
			}
		case "WORKDIR":
			if in.Args != "/home/nonroot" {
				s.workdir = in.Args
				r.carry("working directory "+in.Args, where)
			}
		case "EXPOSE":
			for _, p := range strings.Fields(in.Args) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				if !slices.Contains(s.ports, p) {
					s.ports = append(s.ports, p)
					r.carry("port "+p, where)
				}
			}
		case "ENV":
			for _, kv := range envPairs(in.Args) {
				s.env = append(s.env, kv)
				r.carry("environment "+kv, where)
			}
		case "CMD":
			s.cmd = words(in.Args)
			r.carry("default arguments "+strings.Join(s.cmd, " "), where)
		case "ENTRYPOINT":
			w := words(in.Args)
			if len(w) > 0 && path.Dir(w[0]) == "/usr/local/bin" {
				r.carry("entrypoint "+w[0]+" (hoist's default place; nothing written)", where)
				if len(w) > 1 {
					s.cmd = append(w[1:], s.cmd...)
					r.carry("default arguments "+strings.Join(w[1:], " "), where)
				}
			} else if len(w) > 0 {
				r.skip("entrypoint "+strings.Join(w, " "), where, "hoist puts binaries in /usr/local/bin and runs the main one")
			}
		case "COPY", "ADD":
			f, w := flags(in.Args)
			if len(w) < 2 {
				continue
			}
			src, dst := w[0], w[len(w)-1]
			from := strings.ToLower(f["from"])
			switch {
			case strings.Contains(src, "zoneinfo"):
				s.tzdata = true
				r.carry("time zone data", where)
			case strings.Contains(src, "ca-certificates") || strings.Contains(src, "/etc/ssl"):
				r.carry("CA certificates (in hoist's base; nothing written)", where)
			case strings.Contains(src, "passwd") || strings.Contains(src, "group"):
				r.carry("passwd/group (hoist's base has a nonroot user; nothing written)", where)
			case from != "" && (builders[from] || strings.Contains(from, "/")), from == "" && s.isBinary(path.Base(src)):
				if path.Dir(strings.TrimSuffix(dst, "/")) != "/usr/local/bin" && dst != "/usr/local/bin/" && dst != "/usr/local/bin" {
					r.skip("binary at "+dst, where, "hoist puts binaries in /usr/local/bin")
				}
			case isStaticDir(src):
				r.carry("static files "+src+" (hoist ships ui/, web/, static/ and public/ itself, at WORKDIR/<dir>)", where)
			default:
				r.skip("files "+src+" → "+dst, where, "copy them with Image.Files (targets.Configure)")
			}
		case "HEALTHCHECK":
			r.skip("healthcheck", where, "hoist's Image.Healthcheck runs \"<binary> -healthcheck\"; set it with targets.Configure")
		case "LABEL":
			r.skip("labels", where, "set Image.Labels with targets.Configure; hoist adds the OCI labels itself")
		case "ARG", "SHELL", "STOPSIGNAL", "VOLUME", "ONBUILD", "MAINTAINER":
			r.skip(strings.ToLower(in.Cmd)+" "+in.Args, where, "hoist's image has no equivalent")
		}
	}
	if baseRef != "" {
		if len(runs) > 0 && !onlyPackages {
			s.base = baseRef
			r.carry("base "+baseRef, file+" FROM")
			for _, in := range runs {
				r.skip("RUN "+in.Args, fmt.Sprintf("%s:%d", file, in.Line), "hoist builds images without running commands; bake this into the base")
			}
		} else {
			s.readBase(r, baseRef, file+" FROM")
		}
	}
	if len(stages) > 1 {
		r.note("the Dockerfile's build stages are replaced by go:build; the image is assembled from dist/ without a daemon")
	}
	return nil
}

// installs reads the packages of an apk add or apt-get install command, and
// reports whether the RUN does nothing else.
func installs(cmd string) ([]string, bool) {
	var pkgs []string
	for _, part := range strings.FieldsFunc(cmd, func(r rune) bool { return r == '&' || r == ';' }) {
		w := strings.Fields(part)
		switch {
		case len(w) == 0:
		case len(w) >= 2 && w[0] == "apk" && w[1] == "add":
			pkgs = append(pkgs, nonFlags(w[2:])...)
		case len(w) >= 2 && (w[0] == "apt-get" || w[0] == "apt") && w[1] == "install":
			pkgs = append(pkgs, nonFlags(w[2:])...)
		case len(w) >= 2 && (w[0] == "apt-get" || w[0] == "apt" || w[0] == "apk") && (w[1] == "update" || w[1] == "clean" || w[1] == "upgrade"):
		case w[0] == "rm" || w[0] == "update-ca-certificates":
		default:
			return pkgs, false
		}
	}
	return pkgs, true
}

func nonFlags(w []string) []string {
	var out []string
	for _, x := range w {
		if !strings.HasPrefix(x, "-") {
			out = append(out, x)
		}
	}
	return out
}

// envPairs reads ENV KEY=value pairs, or the legacy ENV KEY value form.
func envPairs(args string) []string {
	w := strings.Fields(args)
	if len(w) >= 2 && !strings.Contains(w[0], "=") {
		return []string{w[0] + "=" + strings.Join(w[1:], " ")}
	}
	var out []string
	for _, kv := range w {
		if strings.Contains(kv, "=") {
			out = append(out, strings.Trim(kv, `"`))
		}
	}
	return out
}

func isStaticDir(src string) bool {
	first := strings.Split(strings.TrimPrefix(path.Clean(src), "./"), "/")[0]
	return slices.Contains([]string{"ui", "web", "static", "public"}, first)
}
