package usersessiontest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// Users that exist only in libnss-extrausers' database, the user database of Ubuntu
// Core, with uids far from useradd's range.
const (
	extraUsersDir   = "/var/lib/extrausers"
	extraUserPrefix = "sat-x"
	extraUserUID0   = 4200
	extraPoolSize   = 8
	nsswitchConf    = "/etc/nsswitch.conf"
)

// useExtraUsers adds libnss-extrausers to the passwd, group and shadow databases of
// /etc/nsswitch.conf until the test ends, then puts back the file as it was (also when
// the test fails). One test process at a time holds the file: the others wait.
func useExtraUsers(t testing.TB) {
	t.Helper()
	lib, _ := filepath.Glob("/usr/lib*/libnss_extrausers.so.2")
	libs, _ := filepath.Glob("/usr/lib/*-linux-gnu/libnss_extrausers.so.2")
	if len(lib)+len(libs) == 0 {
		testenv.SkipOrFail(t, "libnss-extrausers is not installed")
	}
	lock := openLock(t, "nsswitch")
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("cannot lock %s: %v", nsswitchConf, err)
	}
	t.Cleanup(func() { lock.Close() })

	orig, err := os.ReadFile(nsswitchConf)
	if err != nil {
		t.Fatalf("cannot read %s: %v", nsswitchConf, err)
	}
	var out []string
	for _, line := range strings.Split(string(orig), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "passwd:" || f[0] == "group:" || f[0] == "shadow:") && !strings.Contains(line, "extrausers") {
			line += " extrausers"
		}
		out = append(out, line)
	}
	t.Cleanup(func() {
		if err := writeFileAtomic(nsswitchConf, orig, 0o644); err != nil {
			t.Errorf("cannot restore %s: %v", nsswitchConf, err)
		}
	})
	if err := writeFileAtomic(nsswitchConf, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatalf("cannot configure extrausers in %s: %v", nsswitchConf, err)
	}
}

// claimExtraUser takes a free user of the extrausers pool, making sure it exists in
// the extrausers database only, with a home directory. NSS must already read that
// database (useExtraUsers).
func claimExtraUser(t testing.TB) (string, *os.File) {
	t.Helper()
	name, lock, i := claimFrom(t, extraUserPrefix, extraPoolSize)
	uid := extraUserUID0 + i
	if err := ensureExtraUser(name, uid); err != nil {
		lock.Close()
		t.Fatal(err)
	}
	return name, lock
}

// ensureExtraUser adds name (uid and gid uid) to the extrausers passwd, group and
// shadow files unless it is there, refusing when /etc/passwd has the name or uid.
func ensureExtraUser(name string, uid int) error {
	passwd, err := os.ReadFile(filepath.Join(extraUsersDir, "passwd"))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cannot read the extrausers database: %w", err)
	}
	home := filepath.Join("/home", name)
	if !hasEntry(passwd, name) {
		etc, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return fmt.Errorf("cannot read /etc/passwd: %w", err)
		}
		if hasEntry(etc, name) || bytes.Contains(etc, []byte(fmt.Sprintf(":x:%d:", uid))) {
			return fmt.Errorf("cannot use %s (uid %d) as an extrausers-only user: /etc/passwd has it", name, uid)
		}
		for _, e := range []struct {
			file, line string
			mode       os.FileMode
		}{
			{"passwd", fmt.Sprintf("%s:x:%d:%d::%s:/bin/bash\n", name, uid, uid, home), 0o644},
			{"group", fmt.Sprintf("%s:x:%d:\n", name, uid), 0o644},
			{"shadow", fmt.Sprintf("%s:*:19000:0:99999:7:::\n", name), 0o600},
		} {
			if err := appendLine(filepath.Join(extraUsersDir, e.file), e.line, e.mode); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", home, err)
	}
	if err := os.Chown(home, uid, uid); err != nil {
		return fmt.Errorf("cannot chown %s: %w", home, err)
	}
	// The harness script finds the user (and creates none) only through NSS.
	if out, err := exec.Command("getent", "passwd", name).CombinedOutput(); err != nil {
		return fmt.Errorf("NSS does not find extrausers-only user %s: %v (%s)", name, err, bytes.TrimSpace(out))
	}
	return nil
}

func hasEntry(db []byte, name string) bool {
	return bytes.HasPrefix(db, []byte(name+":")) || bytes.Contains(db, []byte("\n"+name+":"))
}

func appendLine(path, line string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", path, err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}

// writeFileAtomic replaces path, so that no reader sees half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".usersessiontest"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// AddExtraName gives the session's user a second name in the extrausers database
// until the test ends: an entry called name with the session's uid and gid, after
// the user's own, so that the uid's first name stays the user's. The session must be
// an ExtraUser one: NSS then reads extrausers, and no other test writes it meanwhile
// (an entry of that name left by a test that crashed is replaced).
func (s *Session) AddExtraName(name string) {
	s.t.Helper()
	if etc, err := os.ReadFile("/etc/passwd"); err != nil || hasEntry(etc, name) {
		s.t.Fatalf("cannot add user name %s to extrausers: /etc/passwd has it (or cannot be read: %v)", name, err)
	}
	line := fmt.Sprintf("%s:x:%d:%d::%s:/bin/bash", name, s.UID, s.GID, s.Home)
	if err := rewriteExtraPasswd(name, line); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if err := rewriteExtraPasswd(name, ""); err != nil {
			s.t.Error(err)
		}
	})
}

// rewriteExtraPasswd replaces the entries called name in the extrausers passwd file
// with line, or removes them when line is empty.
func rewriteExtraPasswd(name, line string) error {
	path := filepath.Join(extraUsersDir, "passwd")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, name+":") {
			kept = append(kept, l)
		}
	}
	if line != "" {
		kept = append(kept, line)
	}
	if err := writeFileAtomic(path, []byte(strings.Join(kept, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
