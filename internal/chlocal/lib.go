package chlocal

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const (
	// LibVersion is the pinned version of the npm package that ships libchdb.so.
	// The npm "latest" tag (26.5.x) rejects --listen_host, so the version is never
	// left floating.
	LibVersion = "26.7.3-stable.1"

	// npmPackage is the npm package that contains package/libchdb.so.
	npmPackage = "@chdb/lib-linux-x64-gnu"

	// libSHA256 and libSize pin the exact libchdb.so of LibVersion. npm already
	// checks the tarball's integrity; the pin also catches a truncated or
	// half-written cache entry left by hand.
	libSHA256 = "36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5"
	libSize   = 566330096

	// libMember is the path of the library inside the npm tarball.
	libMember = "package/libchdb.so"

	// EnvLib names an environment variable holding the path of a libchdb.so to
	// use instead of the cache (no fetch, no checksum).
	EnvLib = "COMMPULSE_LIBCHDB"
	// EnvCacheDir overrides DefaultCacheDir.
	EnvCacheDir = "COMMPULSE_CACHE_DIR"
)

// DefaultCacheDir returns $COMMPULSE_CACHE_DIR, else os.UserCacheDir()/commpulse,
// else a directory under os.TempDir() when the user has no cache directory.
func DefaultCacheDir() string {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "commpulse")
	}
	return filepath.Join(os.TempDir(), "commpulse-cache")
}

// LibPath returns where EnsureLib keeps libchdb.so under cacheDir.
func LibPath(cacheDir string) string {
	return filepath.Join(cacheDir, "chdb", LibVersion, "libchdb.so")
}

// EnsureLib returns the path of libchdb.so, fetching it on first use.
//
// Order: $COMMPULSE_LIBCHDB when set (it must exist); else the cached copy under
// cacheDir (DefaultCacheDir when empty); else `npm pack` of the pinned package
// into a temporary directory, extraction of package/libchdb.so, checksum
// verification and an atomic rename into the cache. A cold fetch downloads
// 178 MB and takes 12-16 s here; progress lines go to progress (may be nil).
//
// Several processes (test binaries of parallel packages) may call EnsureLib at
// once: the fetch runs under an exclusive flock on a lock file next to the
// cache entry, and whoever gets the lock second finds the finished file. The
// rename makes a crash mid-fetch leave either nothing or a complete file.
func EnsureLib(ctx context.Context, cacheDir string, progress io.Writer) (string, error) {
	if p := os.Getenv(EnvLib); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("chlocal: %s=%q: %w", EnvLib, p, err)
		}
		return p, nil
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	if progress == nil {
		progress = io.Discard
	}
	dst := LibPath(cacheDir)
	if libReady(dst) {
		return dst, nil
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("chlocal: the embedded ClickHouse engine is only packaged for linux/amd64 here (this is %s/%s); run a ClickHouse server >= 25.8 instead", runtime.GOOS, runtime.GOARCH)
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("chlocal: create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if libReady(dst) { // another process fetched it while we waited for the lock
		return dst, nil
	}

	fmt.Fprintf(progress, "fetching ClickHouse engine libchdb %s via npm (178 MB, first run only)...\n", shortVersion())
	start := time.Now()
	tgz, cleanup, err := npmPack(ctx, dir)
	if err != nil {
		return "", err
	}
	defer cleanup()
	if err := extractLib(tgz, dst, libSHA256); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "libchdb %s ready in %s: %s\n", shortVersion(), time.Since(start).Round(100*time.Millisecond), dst)
	return dst, nil
}

// shortVersion is LibVersion without the "-stable.N" suffix, for humans.
func shortVersion() string {
	v, _, _ := strings.Cut(LibVersion, "-")
	return v
}

// libReady reports whether the cache entry exists with the pinned size. The
// checksum is verified once, before the rename; re-hashing 566 MB on every
// test binary start would cost more than a second.
func libReady(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == libSize
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel the
// wait (flock itself cannot be interrupted from Go).
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chlocal: open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("chlocal: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("chlocal: waiting for another process fetching libchdb: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// npmPack runs `npm pack` of the pinned package in a fresh directory under
// parent and returns the path of the tarball.
func npmPack(ctx context.Context, parent string) (tgz string, cleanup func(), err error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", nil, fmt.Errorf("chlocal: npm not found on PATH: install Node.js and npm (Debian: apt-get install npm) "+
			"or set %s to the path of libchdb.so from %s@%s: %w", EnvLib, npmPackage, LibVersion, err)
	}
	tmp, err := os.MkdirTemp(parent, ".fetch-")
	if err != nil {
		return "", nil, fmt.Errorf("chlocal: temp dir for npm pack: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", npmPackage+"@"+LibVersion)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("chlocal: npm pack %s@%s: %w: %s", npmPackage, LibVersion, err, strings.TrimSpace(string(out)))
	}
	matches, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(matches) != 1 {
		cleanup()
		return "", nil, fmt.Errorf("chlocal: npm pack left %d tarballs in %s, want 1 (output: %s)", len(matches), tmp, strings.TrimSpace(string(out)))
	}
	return matches[0], cleanup, nil
}

// extractLib copies package/libchdb.so out of the gzipped tarball tgz into dst,
// atomically: it writes a temporary file in dst's directory, checks the
// SHA-256 against wantSHA (skipped when empty), syncs and renames.
func extractLib(tgz, dst, wantSHA string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("chlocal: open tarball: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("chlocal: read %s: %w", filepath.Base(tgz), err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("chlocal: %s has no %s", filepath.Base(tgz), libMember)
		}
		if err != nil {
			return fmt.Errorf("chlocal: read %s: %w", filepath.Base(tgz), err)
		}
		if hdr.Name == libMember && hdr.Typeflag == tar.TypeReg {
			return writeAtomic(tr, dst, wantSHA)
		}
	}
}

func writeAtomic(r io.Reader, dst, wantSHA string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".libchdb-*.tmp")
	if err != nil {
		return fmt.Errorf("chlocal: create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return fmt.Errorf("chlocal: extract %s: %w", libMember, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); wantSHA != "" && got != wantSHA {
		return fmt.Errorf("chlocal: %s has sha256 %s, want %s", libMember, got, wantSHA)
	}
	if err := tmp.Chmod(0o755); err != nil {
		return fmt.Errorf("chlocal: chmod: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("chlocal: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("chlocal: close: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("chlocal: install %s: %w", dst, err)
	}
	return nil
}
