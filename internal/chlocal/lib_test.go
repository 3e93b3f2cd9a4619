package chlocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExtractLib(t *testing.T) {
	fake, err := os.ReadFile("testdata/npm-pack.tgz")
	if err != nil || len(fake) == 0 {
		t.Fatalf("fixture: %v", err)
	}
	wantContent := "not really an ELF\n"
	sum := sha256.Sum256([]byte(wantContent))
	goodSHA := hex.EncodeToString(sum[:])
	cases := []struct {
		name    string
		tgz     string
		sha     string
		wantErr string // "" = success
	}{
		{"member extracted and verified", "testdata/npm-pack.tgz", goodSHA, ""},
		{"checksum mismatch", "testdata/npm-pack.tgz", strings.Repeat("0", 64), "sha256"},
		{"member missing", "testdata/npm-pack-without-lib.tgz", "", "has no package/libchdb.so"},
		{"not a gzip file", "testdata/npm-pack.tgz.missing", "", "open tarball"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "libchdb.so")
			err := extractLib(tc.tgz, dst, tc.sha)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Fatalf("failed extraction left %d files behind", len(entries))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil || string(got) != wantContent {
				t.Fatalf("extracted %q (%v), want %q", got, err, wantContent)
			}
			if fi, _ := os.Stat(dst); fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("mode %v is not executable", fi.Mode())
			}
		})
	}
}

func TestEnsureLibResolution(t *testing.T) {
	ctx := context.Background()
	// A cache entry with the pinned size (sparse: no 566 MB written).
	cached := t.TempDir()
	p := LibPath(cached)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(libSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	explicit := filepath.Join(t.TempDir(), "my-libchdb.so")
	if err := os.WriteFile(explicit, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		envLib   string
		cacheDir string
		want     string
		wantErr  string
	}{
		{"env path wins over cache", explicit, cached, explicit, ""},
		{"env path must exist", explicit + ".nope", cached, "", EnvLib},
		{"cache hit needs no npm", "", cached, p, ""},
		{"no npm says what to install", "", t.TempDir(), "", "apt-get install npm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvLib, tc.envLib)
			t.Setenv("PATH", t.TempDir()) // no npm anywhere
			got, err := EnsureLib(ctx, tc.cacheDir, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("EnsureLib = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestLockFileExcludes checks that the fetch lock admits one holder at a time
// and that a waiter gives up when its context ends.
func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	unlock, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path); err == nil {
		t.Fatal("second lockFile succeeded while the first holds the lock")
	}
	unlock()

	var mu sync.Mutex
	holders, maxHolders := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			unlock, err := lockFile(context.Background(), path)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			holders++
			maxHolders = max(maxHolders, holders)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			holders--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if maxHolders != 1 {
		t.Fatalf("%d holders at once, want 1", maxHolders)
	}
}
