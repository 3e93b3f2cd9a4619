package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/report"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

func TestReportFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr bool
		check   func(t *testing.T, f reportFlags)
	}{
		{name: "defaults", check: func(t *testing.T, f reportFlags) {
			if f.cfg.Out != report.DefaultOut || f.cfg.Days() != report.DefaultDays || f.ch.Username != store.DefaultUser {
				t.Fatalf("defaults: %+v", f.cfg)
			}
			if y := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1); !f.cfg.To.Equal(y) {
				t.Fatalf("to %s, want yesterday %s", f.cfg.To, y)
			}
		}},
		{name: "period and out", args: []string{"--from", "2026-11-01", "--to", "2026-11-30", "--out", "/tmp/x.html", "--ch-user", "commpulse_analyst"},
			check: func(t *testing.T, f reportFlags) {
				if f.cfg.From.Format(time.DateOnly) != "2026-11-01" || !f.cfg.End().Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) ||
					f.cfg.Out != "/tmp/x.html" || f.ch.Username != "commpulse_analyst" {
					t.Fatalf("got %+v user %s", f.cfg, f.ch.Username)
				}
			}},
		{name: "env", env: map[string]string{"COMMPULSE_OUT": "r.html", "COMMPULSE_TO": "2026-11-15"}, check: func(t *testing.T, f reportFlags) {
			if f.cfg.Out != "r.html" || f.cfg.To.Format(time.DateOnly) != "2026-11-15" || f.cfg.From.Format(time.DateOnly) != "2026-10-19" {
				t.Fatalf("env not applied: %+v", f.cfg)
			}
		}},
		{name: "to before from", args: []string{"--from", "2026-11-02", "--to", "2026-11-01"}, wantErr: true},
		{name: "bad day", args: []string{"--to", "today"}, wantErr: true},
		{name: "no clickhouse address", args: []string{"--ch-addr", ""}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("report", io.Discard)
			var f reportFlags
			f.bind(fs)
			err := parseFlagsEnv(fs, tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				err = f.validate()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var ue usageError
			if tc.wantErr && !errors.As(err, &ue) {
				t.Errorf("err %v is not a usage error", err)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

// commpulse report against a real ClickHouse: exit 0, the file written,
// its path and size printed; a bad period exits 2 and writes nothing.
func TestReportCLI(t *testing.T) {
	st, srv, db := storetest.Migrated(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	if err := st.Conn().Exec(ctx, `INSERT INTO team_stats (window_start, granularity, team, messages, active_members, scored_messages,
		mean_compound, negative_share, positive_share, after_hours_share, k_applied, epsilon, computed_at)
		VALUES (?, 'day', 'alpha', 120, 7, 100, 0.25, 0.1, 0.5, 0.1, 5, 1, ?)`, day, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r.html")
	ch := []string{"--ch-addr", srv.Addr(), "--ch-database", db}
	var stdout, stderr bytes.Buffer
	args := append([]string{"report", "--from", day.Format(time.DateOnly), "--to", day.Format(time.DateOnly), "--out", out}, ch...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "report: "+out+" (") || !strings.Contains(stdout.String(), "1 teams, 7 charts") {
		t.Errorf("output %q", stdout.String())
	}
	// html/template writes the sign as &#43;.
	if !strings.Contains(string(b), `value="0.25" data-view="team_stats_k" data-team="alpha" data-day="`+day.Format(time.DateOnly)+`" data-col="mean_compound">&#43;0.25</data>`) {
		t.Errorf("the report lacks alpha's published mean compound:\n%s", regexp.MustCompile(`<data[^>]*mean_compound[^<]*</data>`).FindAllString(string(b), -1))
	}
	bad := filepath.Join(t.TempDir(), "bad.html")
	stdout.Reset()
	stderr.Reset()
	if code := run(append([]string{"report", "--from", "2026-11-10", "--to", "2026-11-09", "--out", bad}, ch...), &stdout, &stderr); code != 2 {
		t.Errorf("to before from: exit %d, want 2 (%s)", code, stderr.String())
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote %s", bad)
	}
}

// chromium is Debian's headless browser, or "" when it is missing (the test
// skips, unless COMMPULSE_REQUIRE_CHROMIUM=1: then it fails).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("COMMPULSE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is missing and COMMPULSE_REQUIRE_CHROMIUM=1 (scripts/install-chromium.sh installs it)")
	}
	t.Skip("chromium is missing (scripts/install-chromium.sh installs it)")
	return ""
}

// runChromium runs headless chromium on file with extra arguments and
// returns its stdout and stderr. Every network feature it has is off, so a
// page that tried to fetch anything would show it in the CSP check below,
// not reach a network.
func runChromium(t *testing.T, bin, profile, file string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + profile}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+file)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String(), errb.String()
}

// cspRefusals fails on a console message of chromium about the page's
// Content-Security-Policy: the page tried to load or run something
// (chromium logs "... violates the following Content Security Policy
// directive ... The action has been blocked.").
func cspRefusals(t *testing.T, logs string) {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Refused to") {
			t.Errorf("the page's CSP blocked something: %s", l)
		}
	}
}

// nonWhite counts the pixels of img that are not (nearly) white.
func nonWhite(img image.Image) (n, total int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				n++
			}
		}
	}
	return n, b.Dx() * b.Dy()
}

// Acceptance (issue 15, point 4): `commpulse demo --once` runs the real
// generated pipeline (kfake, ingest, analyze, embedded ClickHouse) and
// writes report.html; Debian's headless chromium renders it to a PNG that
// is not blank, its DOM holds every chart's svg id, nothing was refused by
// the page's CSP (it loads nothing), and no person id of the generated
// directory, nor any pseudonym-shaped string, is in the HTML.
func TestReportRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo on Kafka and ClickHouse")
	}
	bin := chromium(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "demo")
	args := []string{"demo", "--once", "--data-dir", dataDir, "--kafka-port", "0", "--ch-port", "0", "--http-addr", "127.0.0.1:0", "--rate", "0"}
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	path := filepath.Join(dataDir, "report.html")
	if !strings.Contains(out.String(), "report:     "+path+" (") {
		t.Errorf("demo did not print the report's path:\n%s", out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	ids := regexp.MustCompile(`<svg id="([^"]+)"`).FindAllStringSubmatch(html, -1)
	// 12 teams: the overview, three trends per team, themes, network, reviews.
	if len(ids) != 1+3*12+3 {
		t.Errorf("%d charts in the report, want %d", len(ids), 1+3*12+3)
	}
	t.Logf("report: %d bytes, %d charts", len(b), len(ids))

	t.Run("no person id", func(t *testing.T) {
		var f demoFlags
		fs := newFlagSet("demo", nil)
		f.bind(fs)
		if err := parseFlagsEnv(fs, args[1:], func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		org, err := demoOrg(f, time.Now().UTC().Truncate(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		people := org.Directory()
		if len(people) == 0 {
			t.Fatal("no person in the generated directory")
		}
		for _, p := range people {
			if strings.Contains(html, p.Person) {
				t.Errorf("the report names %s", p.Person)
			}
		}
		if m := regexp.MustCompile(`[ph]_[0-9a-f]{16,64}`).FindString(html); m != "" {
			t.Errorf("the report holds a pseudonym-shaped string %q", m)
		}
		t.Logf("%d person ids of the generated directory scanned for", len(people))
	})

	t.Run("chromium", func(t *testing.T) {
		png1 := filepath.Join(dir, "report.png")
		_, logs := runChromium(t, bin, filepath.Join(dir, "profile1"), path, "--screenshot="+png1, "--window-size=1400,5000")
		cspRefusals(t, logs)
		f, err := os.Open(png1)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("decode the screenshot: %v", err)
		}
		n, total := nonWhite(img)
		t.Logf("screenshot %dx%d: %d of %d pixels not white (%.1f%%)", img.Bounds().Dx(), img.Bounds().Dy(), n, total, 100*float64(n)/float64(total))
		if float64(n) < 0.01*float64(total) {
			t.Errorf("the screenshot is (nearly) blank: %d of %d pixels not white", n, total)
		}

		dom, logs := runChromium(t, bin, filepath.Join(dir, "profile2"), path, "--dump-dom")
		cspRefusals(t, logs)
		if !strings.Contains(dom, "commpulse report") {
			t.Fatalf("dump-dom is not the report:\n%.400s", dom)
		}
		for _, m := range ids {
			if !strings.Contains(dom, `<svg id="`+m[1]+`"`) {
				t.Errorf("chart %s is not in chromium's DOM", m[1])
			}
		}
		t.Logf("%d chart ids found in chromium's DOM", len(ids))
	})
}
