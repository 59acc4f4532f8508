package main

import (
	"fmt"
	"os/user"
	"strconv"
)

// userNames resolves user names and uids for one command run, asking the user
// database once per uid: a fan-out over hundreds of sessions would otherwise read
// /etc/passwd (or NSS) once per row.
type userNames struct {
	byUID map[int]string
}

func newUserNames() *userNames { return &userNames{byUID: map[int]string{}} }

// name returns uid's user name, or the uid in decimal when it has none.
func (n *userNames) name(uid int) string {
	if name, ok := n.byUID[uid]; ok {
		return name
	}
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	n.byUID[uid] = name
	return name
}

// uid resolves a --users entry: a decimal number is a uid as is (users need not
// exist in the user database), anything else a user name.
func (n *userNames) uid(s string) (int, error) {
	if uid, err := strconv.ParseUint(s, 10, 32); err == nil {
		return int(uid), nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, fmt.Errorf("cannot find user %q: %w", s, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, fmt.Errorf("cannot use user %q: uid %q is not a number", s, u.Uid)
	}
	n.byUID[uid] = u.Username
	return uid, nil
}
