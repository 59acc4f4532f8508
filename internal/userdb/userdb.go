// Package userdb looks users up in the system's whole user database (NSS: files,
// extrausers, LDAP, SSSD, systemd's userdb, ...) from a static binary, by running
// getent(1) under a deadline. It is for root's commands only: the session agent never
// looks users up.
//
// Why getent rather than cgo's getpwnam_r: the `snap` binary is static (no dynamic
// loader at every socket-activated start of the agent, no libc pages in its memory),
// and a static binary cannot load NSS modules. Go's pure os/user reads /etc/passwd
// only, which misses every user of Ubuntu Core (extrausers) and of LDAP or SSSD hosts.
// getent is glibc's own front end to NSS, present wherever glibc is; running it costs
// root's command one process per batch of lookups and costs the agent nothing. A
// cgo call could not be given a deadline: a hung LDAP server would hang root's
// command, while a getent process is killed when its deadline passes.
package userdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one getent run when DB.Timeout is zero. Remote databases
// (LDAP, SSSD) answer within a second when healthy; this leaves room for a slow one
// without letting a dead one hold root's command.
const DefaultTimeout = 5 * time.Second

// User is one passwd entry.
type User struct {
	Name string
	UID  int
}

// UnknownUserError is returned for a user name with no entry in any database.
type UnknownUserError struct{ Name string }

func (e *UnknownUserError) Error() string {
	return fmt.Sprintf("no user %q in the user database", e.Name)
}

// DB looks users up with getent. The zero value is ready to use.
type DB struct {
	// Getent is the getent command; empty means "getent" on PATH.
	Getent string
	// Timeout bounds each getent run; zero means DefaultTimeout.
	Timeout time.Duration
}

// LookupName returns the entry of the user called name, an *UnknownUserError when no
// database has one, or an error saying why the database could not be asked (getent
// missing, killed at its deadline, ...).
//
// getent takes a key that reads as a number (strtoul's rule: "1028", but also
// "01028", "+1028", " 1028") for a uid, never for a name, so that `getent passwd
// 01028` answers uid 1028's entry. Such a name is found instead by listing the
// database and taking the entry of exactly that name: databases that do not list
// their users (SSSD and most LDAP set-ups by default) do not find it, and their users
// of such names are to be addressed by uid.
func (db *DB) LookupName(ctx context.Context, name string) (User, error) {
	// ':' and newlines would forge fields or lines of getent's answer; NSS has no
	// such names, so they are simply not found.
	if name == "" || strings.ContainsAny(name, ":\n\x00") {
		return User{}, &UnknownUserError{Name: name}
	}
	if readsAsUID(name) {
		return db.listedName(ctx, name)
	}
	users, err := db.getent(ctx, []string{name})
	if err != nil {
		return User{}, err
	}
	// A database may match a name it does not store as given (LDAP and SSSD can be
	// case-insensitive); the one entry getent printed is that name's.
	if len(users) != 1 {
		return User{}, &UnknownUserError{Name: name}
	}
	return users[0], nil
}

// ParseUID reads s as a uid if it is one written canonically, as the kernel and
// getent write uids: decimal, no sign, no leading zero ("0" itself aside), below
// 4294967295 ((uid_t)-1, which stands for "no uid" in set*uid(2) and chown(2)). It
// reports false for anything else, which is then a user name: "01028" and "+1028" are
// names NSS may hold.
func ParseUID(s string) (int, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return int(n), true
}

// readsAsUID says whether getent takes key for a uid: glibc's getent(1) looks a passwd
// key up with getpwuid when strtoul(3) reads all of it as a number (leading white
// space, an optional sign, decimal digits), with getpwnam otherwise.
func readsAsUID(key string) bool {
	key = strings.TrimLeft(key, " \t\n\v\f\r")
	if strings.HasPrefix(key, "+") || strings.HasPrefix(key, "-") {
		key = key[1:]
	}
	return key != "" && strings.Trim(key, "0123456789") == ""
}

// listedName finds the entry called name in the list of every user getent prints.
// Lines that do not parse belong to other users (or are compat "+" lines) and are
// passed over; the first entry of that name is the one NSS would answer.
func (db *DB) listedName(ctx context.Context, name string) (User, error) {
	out, err := db.run(ctx, nil)
	if err != nil {
		return User{}, err
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if entryName, _, _ := strings.Cut(line, ":"); entryName != name {
			continue
		}
		users, err := parsePasswd([]byte(line))
		if err != nil {
			return User{}, err
		}
		return users[0], nil
	}
	return User{}, &UnknownUserError{Name: name}
}

// LookupUIDs returns the entries of those uids that have one, by uid, asking for all
// of them in one getent run. A uid missing from the map has no entry anywhere.
func (db *DB) LookupUIDs(ctx context.Context, uids []int) (map[int]User, error) {
	found := map[int]User{}
	if len(uids) == 0 {
		return found, nil
	}
	keys := make([]string, len(uids))
	for i, uid := range uids {
		keys[i] = strconv.Itoa(uid)
	}
	users, err := db.getent(ctx, keys)
	if err != nil {
		return nil, err
	}
	want := map[int]bool{}
	for _, uid := range uids {
		want[uid] = true
	}
	for _, u := range users {
		if want[u.UID] {
			found[u.UID] = u
		}
	}
	return found, nil
}

// getent runs `getent passwd -- KEY...` and parses the entries it prints.
func (db *DB) getent(ctx context.Context, keys []string) ([]User, error) {
	out, err := db.run(ctx, keys)
	if err != nil {
		return nil, err
	}
	return parsePasswd(out)
}

// run runs `getent passwd -- KEY...`, or `getent passwd` to list every user when keys
// is empty, and returns what it printed. Exit status 2 means some keys have no entry
// (getent(1)), which is an answer, not a failure.
func (db *DB) run(ctx context.Context, keys []string) ([]byte, error) {
	timeout := db.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bin := db.Getent
	if bin == "" {
		bin = "getent"
	}
	args := []string{"passwd"}
	if len(keys) > 0 {
		args = append(args, "--")
		args = append(args, keys...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	// An NSS module's helper may inherit the output pipe and outlive getent.
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("cannot look up users: getent did not answer within %v", timeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 2) {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return nil, fmt.Errorf("cannot look up users with getent: %w", err)
	}
	return stdout.Bytes(), nil
}

// parsePasswd parses passwd(5) lines: name:password:uid:gid:gecos:home:shell.
func parsePasswd(out []byte) ([]User, error) {
	var users []User
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] == "" {
			return nil, fmt.Errorf("cannot parse user database entry %q", line)
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("cannot parse user database entry %q: bad uid", line)
		}
		users = append(users, User{Name: f[0], UID: int(uid)})
	}
	return users, nil
}
