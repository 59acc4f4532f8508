package userd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Both ways of opening without symbolic links (openat2 and, for older kernels, one
// component at a time) accept a plain path and refuse a link anywhere on it; stillNames
// tells the file a descriptor holds from another at the same path.
func TestStillNames(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sub", "file")
	if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(file, filepath.Join(dir, "link"))
	os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "sublink"))
	for name, open := range map[string]func(string) (int, error){"openNoSymlinks": openNoSymlinks, "openByComponents": openByComponents} {
		for _, path := range []string{file, filepath.Dir(file), "/"} {
			fd, err := open(path)
			if err != nil {
				t.Errorf("%s(%s): %v", name, path, err)
				continue
			}
			unix.Close(fd)
		}
		for _, path := range []string{filepath.Join(dir, "link"), filepath.Join(dir, "sublink", "file")} {
			if fd, err := open(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("%s(%s) = %d, %v; want a refusal of the link", name, path, fd, err)
				if err == nil {
					unix.Close(fd)
				}
			}
		}
	}
	if _, err := openByComponents("/a/../b"); err == nil {
		t.Error("openByComponents took an unclean path")
	}

	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := stillNames(file, int(f.Fd())); err != nil {
		t.Errorf("stillNames of the file itself: %v", err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, file); err != nil {
		t.Fatal(err)
	}
	if err := stillNames(file, int(f.Fd())); err == nil || !strings.Contains(err.Error(), "another file") {
		t.Errorf("stillNames of a file renamed over it: %v", err)
	}
}
