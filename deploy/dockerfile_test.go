package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func readDockerfile(t testing.TB) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		trimmed = strings.TrimSuffix(trimmed, "\\")
		if cur == nil {
			cmd, args, _ := strings.Cut(trimmed, " ")
			cur = &instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: n}
		} else if !strings.HasPrefix(trimmed, "#") {
			cur.args += " " + strings.TrimSpace(trimmed)
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("Dockerfile ends inside a continued instruction (line %d)", cur.line)
	}
	return out
}

// exactVersion matches tags pinned to a release: at least major.minor.patch,
// an optional v and an optional -suffix (bookworm, alpine).
var exactVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$`)

// splitImage returns the repository and the tag of an image reference.
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

func TestDockerfile(t *testing.T) {
	df := readDockerfile(t)
	var froms []instruction
	var user, entrypoint string
	env := map[string]string{}
	copied := map[string]bool{}
	for _, ins := range df {
		switch ins.cmd {
		case "FROM":
			froms = append(froms, ins)
			user, entrypoint = "", "" // per stage
		case "USER":
			user = ins.args
		case "ENTRYPOINT":
			entrypoint = ins.args
		case "ENV":
			for _, kv := range strings.Fields(ins.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "COPY":
			if f := strings.Fields(ins.args); len(f) > 0 {
				copied[f[len(f)-1]] = true
			}
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM lines", len(froms))
	}
	goMinor := goDirective(t)
	for _, f := range froms {
		ref := strings.Fields(f.args)[0]
		if ref == "scratch" {
			continue
		}
		repo, tag := splitImage(ref)
		if !exactVersion.MatchString(tag) {
			t.Errorf("line %d: FROM %s is not pinned to an exact version", f.line, ref)
		}
		if repo == "golang" && !strings.HasPrefix(tag, goMinor+".") {
			t.Errorf("line %d: FROM %s does not match go.mod's go %s", f.line, ref, goMinor)
		}
	}
	final := strings.Fields(froms[len(froms)-1].args)[0]
	if final != "scratch" {
		t.Errorf("final stage FROM %s; want scratch (nothing but the static binary)", final)
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root uid (runAsNonRoot can only verify numbers)", user)
	}
	if !strings.Contains(entrypoint, "/usr/local/bin/commpulse") {
		t.Errorf("ENTRYPOINT %s does not run /usr/local/bin/commpulse", entrypoint)
	}
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV CGO_ENABLED=%q, want 0", env["CGO_ENABLED"])
	}
	for _, p := range []string{"/usr/local/bin/commpulse", "/usr/local/bin/probe", "/etc/ssl/certs/ca-certificates.crt"} {
		if !copied[p] {
			t.Errorf("the final stage does not COPY %s", p)
		}
	}
}

// goDirective returns "1.26" for `go 1.26.0` in go.mod.
func goDirective(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// TestImageBinariesAreStatic builds with the Dockerfile's go build lines and
// checks the ELF files the way the image's FROM scratch needs them: no
// program interpreter and no shared library.
func TestImageBinariesAreStatic(t *testing.T) {
	commpulse, probe := binaries(t)
	for _, p := range []string{commpulse, probe} {
		f, err := elf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter: dynamically linked, cannot run FROM scratch", filepath.Base(p))
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("%s imports shared libraries %v (%v)", filepath.Base(p), libs, err)
		}
		f.Close()
	}
}

// TestImageBinaryHasNoDemo: the image's build (-tags nodemo) leaves out
// the commands of the embedded engines (demo, up), and every other command
// is still there.
func TestImageBinaryHasNoDemo(t *testing.T) {
	commpulse, _ := binaries(t)
	var out []byte
	for _, embedded := range []string{"demo", "up"} {
		var err error
		out, err = exec.Command(commpulse, embedded).CombinedOutput()
		if err == nil || !strings.Contains(string(out), `unknown command "`+embedded+`"`) {
			t.Errorf("image binary: commpulse %s = %v, want unknown command:\n%s", embedded, err, out)
		}
		if strings.Contains(string(out), "\n  "+embedded+" ") {
			t.Errorf("image binary lists the %s command:\n%s", embedded, out)
		}
	}
	for _, cmd := range []string{"ingest", "analyze", "migrate", "generate", "import"} {
		if !strings.Contains(string(out), "\n  "+cmd+" ") {
			t.Errorf("image binary lacks the %s command:\n%s", cmd, out)
		}
	}
}

func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			ignored[l] = true
		}
	}
	// What the build stage needs must stay in the context; secrets must not.
	for _, need := range []string{"go.mod", "go.sum", "cmd", "pipeline", "nlp", "anomaly", "network", "internal"} {
		if ignored[need] {
			t.Errorf(".dockerignore drops %s, which the build needs", need)
		}
	}
	if !ignored["deploy/compose/secrets"] {
		t.Error(".dockerignore keeps deploy/compose/secrets in the build context")
	}
}
