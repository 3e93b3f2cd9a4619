package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// root is the repository root, relative to this package's directory.
const root = ".."

// tmpDir is removed by TestMain.
var tmpDir string

var built struct {
	once      sync.Once
	commpulse string
	probe     string
	err       error
}

// dockerBuild is one `go build` command of the Dockerfile.
type dockerBuild struct {
	env  []string // from ENV lines
	args []string // after "go build", without -o and its value
	out  string   // the -o value
	pkg  string   // the last argument
}

// dockerfileBuilds returns the `go build` commands of the Dockerfile's RUN
// lines, so the tests build exactly what the image builds.
func dockerfileBuilds(t testing.TB) []dockerBuild {
	t.Helper()
	df := readDockerfile(t)
	var env []string
	var builds []dockerBuild
	for _, ins := range df {
		switch ins.cmd {
		case "ENV":
			env = append(env, strings.Fields(ins.args)...)
		case "RUN":
			for _, part := range strings.Split(ins.args, "&&") {
				words, err := shellWords(part)
				if err != nil {
					t.Fatalf("Dockerfile RUN %q: %v", part, err)
				}
				i := indexPair(words, "go", "build")
				if i < 0 {
					continue
				}
				b := dockerBuild{env: env}
				rest := words[i+2:]
				for j := 0; j < len(rest); j++ {
					if rest[j] == "-o" && j+1 < len(rest) {
						b.out = rest[j+1]
						j++
						continue
					}
					b.args = append(b.args, rest[j])
				}
				if len(b.args) == 0 {
					t.Fatalf("Dockerfile go build without a package: %q", part)
				}
				b.pkg = b.args[len(b.args)-1]
				b.args = b.args[:len(b.args)-1]
				builds = append(builds, b)
			}
		}
	}
	return builds
}

func indexPair(words []string, a, b string) int {
	for i := 0; i+1 < len(words); i++ {
		if words[i] == a && words[i+1] == b {
			return i
		}
	}
	return -1
}

// shellWords splits a command line on blanks, honouring single and double
// quotes (enough for Dockerfile RUN lines; no expansion).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\\':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// binaries builds commpulse and the probe once per test binary with the
// Dockerfile's own go build lines and environment.
func binaries(t testing.TB) (commpulse, probe string) {
	t.Helper()
	built.once.Do(func() {
		for _, b := range dockerfileBuilds(t) {
			out := filepath.Join(tmpDir, filepath.Base(b.out))
			args := append([]string{"build"}, b.args...)
			args = append(args, "-o", out, b.pkg)
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), b.env...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
				return
			}
			switch b.pkg {
			case "./cmd/commpulse":
				built.commpulse = out
			case "./cmd/probe":
				built.probe = out
			}
		}
		if built.commpulse == "" || built.probe == "" {
			built.err = fmt.Errorf("the Dockerfile does not build both ./cmd/commpulse and ./cmd/probe")
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.commpulse, built.probe
}

// flagInfo is one flag of a subcommand as `-h` prints it.
type flagInfo struct {
	name string
	typ  string // "" for booleans, else the type word: string, int, duration, float, value, ...
}

var flagCache sync.Map // subcommand -> map[string]flagInfo

var flagLine = regexp.MustCompile(`^  -([a-z0-9][a-z0-9.-]*)(?: ([a-z0-9]+))?$`)

// subcommandFlags runs `commpulse <sub> -h` and parses its flag list.
func subcommandFlags(t testing.TB, sub string) map[string]flagInfo {
	t.Helper()
	if v, ok := flagCache.Load(sub); ok {
		return v.(map[string]flagInfo)
	}
	bin, _ := binaries(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, sub, "-h")
	cmd.Stderr = &stderr
	cmd.Env = []string{} // no COMMPULSE_* from the test environment
	if err := cmd.Run(); err != nil {
		t.Fatalf("commpulse %s -h: %v\n%s", sub, err, stderr.String())
	}
	flags := map[string]flagInfo{}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = flagInfo{name: m[1], typ: m[2]}
		}
	}
	if len(flags) == 0 {
		t.Fatalf("commpulse %s -h listed no flags:\n%s", sub, stderr.String())
	}
	flagCache.Store(sub, flags)
	return flags
}

// envFlag maps COMMPULSE_CH_ADDR to ch-addr (the inverse of the binary's
// envName) and reports whether the name has the prefix.
func envFlag(env string) (string, bool) {
	rest, ok := strings.CutPrefix(env, "COMMPULSE_")
	if !ok || rest == "" {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(rest, "_", "-")), true
}
