package linkcheck_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/linkcheck"
)

const module = "github.com/gatehousehq/gatehouse"

// core lists the packages a service imports to check tokens; none of them
// may link a transport, an expression language or a Redis client.
var core = []string{"guard", "token", "keys", "revocation", "identity"}

// banned are module paths the core must not depend on.
var banned = []string{
	"google.golang.org/grpc",
	"cel.dev/cel-go", // cel-go's module path since v0.24
	"github.com/google/cel-go",
	"github.com/redis/go-redis",
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		if p := filepath.Join(goroot, "bin", "go"); fileExists(p) {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build and list packages: %v", err)
	}
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// run runs the go command in the module's root and returns its output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = "../.." // the module root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestCoreImports(t *testing.T) {
	for _, pkg := range core {
		t.Run(pkg, func(t *testing.T) {
			deps := strings.Fields(run(t, "list", "-deps", module+"/"+pkg))
			for _, d := range deps {
				for _, b := range banned {
					if d == b || strings.HasPrefix(d, b+"/") {
						t.Errorf("%s links %s (go list -deps %s); it belongs in a subpackage", pkg, d, pkg)
					}
				}
			}
		})
	}
}

func TestGuardOnlyBinarySize(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "guardonly")
	run(t, "build", "-o", bin, "./internal/linkcheck/testdata/guardonly")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	n := len(strings.Fields(run(t, "list", "-deps", "./internal/linkcheck/testdata/guardonly")))
	t.Logf("guard-only service: %d bytes (%.1f MB, not stripped), %d packages", fi.Size(), float64(fi.Size())/1e6, n)
	if fi.Size() > linkcheck.MaxGuardOnlyBytes {
		t.Errorf("the guard-only service is %.1f MB, over %.1f MB: something in guard, token or keys links more than it should (compare go list -deps ./internal/linkcheck/testdata/guardonly with the previous commit)",
			float64(fi.Size())/1e6, float64(linkcheck.MaxGuardOnlyBytes)/1e6)
	}
}
