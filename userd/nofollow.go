package userd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// stillNames checks, right before xdg-open runs on path, that path names the file fd
// is a descriptor of (the same device and inode) and that no component of path is a
// symbolic link: the path was read from fd before the user was asked, and is the
// kernel's own, symbolic link free, name of the file then, so a link on it now was put
// there since.
//
// Why not hand xdg-open the descriptor (/proc/PID/fd/N) instead: xdg-mime finds the
// handler from the file name ("N" has no extension, so content sniffing takes a
// document for a zip archive), the handler shows and saves under that name,
// /proc/self/fd/N names the handler's own descriptors (a handler already running,
// GApplication or D-Bus activated, opens the path in its own process), and userd's
// /proc/PID/fd/N only works while userd keeps the descriptor open, for a time no one
// knows. The check leaves a window: from here until the handler opens the path itself
// (xdg-open looks the handler up first, tens of milliseconds), an app that swaps the
// file back and forth can still win the race.
func stillNames(path string, fd int) error {
	opened, err := openNoSymlinks(path)
	if err != nil {
		return err
	}
	defer unix.Close(opened)
	var byPath, byFD unix.Stat_t
	if err := unix.Fstat(opened, &byPath); err != nil {
		return err
	}
	if err := unix.Fstat(fd, &byFD); err != nil {
		return err
	}
	if byPath.Dev != byFD.Dev || byPath.Ino != byFD.Ino {
		return errors.New("the path names another file")
	}
	return nil
}

// openNoSymlinks opens the absolute path with O_PATH without following a symbolic
// link on the way, the last component included: openat2 with RESOLVE_NO_SYMLINKS
// (Linux 5.6); where the kernel (or a seccomp filter) has no openat2, component by
// component from / with O_NOFOLLOW (openByComponents).
func openNoSymlinks(path string) (int, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM):
		return openByComponents(path)
	case errors.Is(err, unix.ELOOP):
		return -1, errors.New("a component of the path is a symbolic link")
	default:
		return -1, err
	}
}

// openByComponents is openNoSymlinks for kernels without openat2 (Ubuntu 16.04 and
// 18.04 run 4.x): each component is opened O_PATH|O_NOFOLLOW from the one before,
// which gives the link itself where one is, and is refused then.
func openByComponents(path string) (int, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return -1, fmt.Errorf("%q is not a clean absolute path", path)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if path == "/" {
		return fd, nil
	}
	for _, part := range strings.Split(path[1:], "/") {
		next, err := unix.Openat(fd, part, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(fd)
			return -1, errors.New("a component of the path is a symbolic link")
		}
	}
	return fd, nil
}
