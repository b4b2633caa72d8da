package deploy_test

// The Dockerfile: its reading into stages (parseDockerfile), TestDockerfile,
// and imageUID, the image's USER, which the Kubernetes checks compare
// runAsUser and fsGroup with.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one instruction of a Dockerfile.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

type stage struct {
	image, name string
	ins         []instruction
}

// parseDockerfile reads the instructions (comments and parser directives
// skipped, continuation lines joined) into stages.
func parseDockerfile(t *testing.T, p string) []stage {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", p, in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment or a parser directive
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// TestDockerfile: a static build by deploy/build.sh on the Go release of
// go.mod, copied onto distroless (or scratch) and run as a numeric
// non-root user, with the data folder a volume that user owns.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and the image", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// The build stage: golang of go.mod's release, running the script.
	if build.name != "build" {
		t.Errorf("the first stage is named %q, want build (COPY --from=build)", build.name)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + string(goLine[1]); build.image != want && !strings.HasPrefix(build.image, want+"-") && !strings.HasPrefix(build.image, want+".") {
		t.Errorf("build stage FROM %s, want %s (go.mod's go %s)", build.image, want, goLine[1])
	}
	runs := 0
	for _, in := range build.ins {
		if in.cmd != "RUN" {
			continue
		}
		cmd := in.args
		for strings.HasPrefix(cmd, "--") { // --mount=..., --network=...
			_, cmd, _ = strings.Cut(cmd, " ")
			cmd = strings.TrimSpace(cmd)
		}
		if strings.Contains(cmd, "go build") {
			t.Errorf("Dockerfile:%d: RUN %s: the build command lives in deploy/build.sh only (CI runs that)", in.line, cmd)
		}
		if cmd == buildCmd {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("the build stage runs %q %d times, want once", buildCmd, runs)
	}

	// The image.
	if !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?:nonroot|scratch)$`).MatchString(final.image) {
		t.Errorf("the image is FROM %s, want gcr.io/distroless/static-debian12:nonroot or scratch", final.image)
	}
	var binary, user, entrypoint string
	var dataOwner string
	volume := false
	for _, in := range final.ins {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			var chown string
			from := ""
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					from = v
				}
				if v, ok := strings.CutPrefix(f[0], "--chown="); ok {
					chown = v
				}
				f = f[1:]
			}
			if from == "build" && len(f) == 2 && f[0] == builtAt {
				binary = f[1]
			}
			if len(f) == 2 && strings.TrimSuffix(f[1], "/") == dataDir {
				dataOwner = chown
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			var argv []string
			if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
				t.Errorf("Dockerfile:%d: ENTRYPOINT %s: want the exec form, [\"/path/to/gatehouse\"]", in.line, in.args)
			} else {
				entrypoint = argv[0]
			}
		case "VOLUME":
			volume = volume || strings.Contains(in.args, `"`+dataDir+`"`) || strings.Fields(in.args)[0] == dataDir
		}
	}
	if binary == "" {
		t.Errorf("the image does not COPY --from=build %s", builtAt)
	}
	if entrypoint != binary {
		t.Errorf("ENTRYPOINT runs %q, but the binary is copied to %q", entrypoint, binary)
	}
	uid := imageUID(t)
	if uid == 0 {
		t.Errorf("USER %q: want a numeric non-root user (Kubernetes' runAsNonRoot can only check a number)", user)
	}
	if !volume {
		t.Errorf("the image declares no VOLUME %s", dataDir)
	}
	if owner, _, _ := strings.Cut(dataOwner, ":"); owner != strconv.Itoa(uid) {
		t.Errorf("%s is copied with --chown=%q, want the USER %d: a new volume takes the image folder's owner, and gatehouse must write there", dataDir, dataOwner, uid)
	}
}

// imageUID is the numeric user of the image's USER, 0 when it is not one.
func imageUID(t *testing.T) int {
	t.Helper()
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	user := ""
	for _, in := range stages[len(stages)-1].ins {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	u, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(u)
	if err != nil {
		return 0
	}
	return n
}
