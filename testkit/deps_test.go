// The test harnesses live in testkit/ so that what production builds from never sits
// beside them; this test keeps it so. Production packages are the module's packages
// outside testkit/ and tests/, except test helpers kept beside the code they test and
// named after Go's *test convention (net/http/httptest; here usersession/client/
// clienttest), which may use the harnesses. Production packages' non-test imports,
// direct or not, never reach testkit/, a test helper or the testing package; and as
// the commands under cmd/ are production packages, the binaries we ship (cmd/snap)
// hold none of them. Their _test.go files may import the harnesses: go list's
// Imports, which this reads, are the non-test ones.
package testkit_test

import (
	"bytes"
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

type pkg struct {
	name    string
	imports []string
}

// goList runs the go command with a deadline, so that a wedged toolchain (a module
// download, a busy machine) fails the test instead of holding the test binary.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		testenv.SkipOrFail(t, "checking imports needs the go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"list"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// graph is every package the module's packages build from, the standard library's
// and other modules' included, since a chain to testing may run through them.
func graph(t *testing.T) (module string, pkgs map[string]pkg) {
	module = strings.TrimSpace(goList(t, "-m", "-f", "{{.Path}}"))
	out := goList(t, "-deps", "-f", "{{.ImportPath}}\t{{.Name}}\t{{join .Imports \" \"}}", module+"/...")
	pkgs = map[string]pkg{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("cannot parse go list's line %q", line)
		}
		pkgs[f[0]] = pkg{name: f[1], imports: strings.Fields(f[2])}
	}
	return module, pkgs
}

func TestProductionStaysClearOfTestCode(t *testing.T) {
	module, pkgs := graph(t)
	under := func(path, dir string) bool {
		return path == module+"/"+dir || strings.HasPrefix(path, module+"/"+dir+"/")
	}
	inModule := func(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }
	isHelper := func(path string) bool {
		return inModule(path) && !under(path, "testkit") && !under(path, "tests") &&
			strings.HasSuffix(pkgs[path].name, "test")
	}
	forbidden := func(path string) bool {
		return path == "testing" || under(path, "testkit") || isHelper(path)
	}

	var roots []string
	for path := range pkgs {
		if inModule(path) && !forbidden(path) && !under(path, "tests") {
			roots = append(roots, path)
		}
	}
	sort.Strings(roots)
	// A vacuous pass (a renamed module, a moved testkit) must not look like a clean one.
	for _, want := range []string{module + "/cmd/snap", module + "/testkit/testenv"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("go list does not know %s: this test's idea of the layout is stale", want)
		}
	}

	// Breadth first from the roots, never through a forbidden package, so that each
	// offending import is reported once, at the package that makes it, with one chain
	// from a production package to it.
	from := map[string]string{}
	queue := append([]string(nil), roots...)
	for _, r := range roots {
		from[r] = ""
	}
	short := func(path string) string { return strings.TrimPrefix(path, module+"/") }
	chain := func(path string) string {
		var c []string
		for p := path; p != ""; p = from[p] {
			c = append([]string{short(p)}, c...)
		}
		return strings.Join(c, " -> ")
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		imports := append([]string(nil), pkgs[p].imports...)
		sort.Strings(imports)
		for _, i := range imports {
			if forbidden(i) {
				t.Errorf("%s imports %s, test code, into production (%s -> %s)",
					short(p), short(i), chain(p), short(i))
				continue
			}
			if _, seen := from[i]; !seen {
				from[i] = p
				queue = append(queue, i)
			}
		}
	}
}
