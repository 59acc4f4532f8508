package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapcore-ng/usersession-agent/internal/userdb"
)

// userNames resolves user names and uids for one command run through the system's
// whole user database (internal/userdb), asking once per uid: the uids of all
// sessions in one batch, the names given with --users one by one.
type userNames struct {
	db userdb.DB
	// byUID holds a name for uids that have one and "" for uids known to have none.
	byUID map[int]string
}

func newUserNames() *userNames { return &userNames{byUID: map[int]string{}} }

// name returns uid's user name, and false when it has no entry in the user database
// (or it could not be looked up).
func (n *userNames) name(uid int) (string, bool) {
	name := n.byUID[uid]
	return name, name != ""
}

// lookUp fetches the names of those uids not asked about yet, in one batch. When the
// database cannot be asked, they stay without a name and the error says why.
func (n *userNames) lookUp(ctx context.Context, uids []int) error {
	var missing []int
	for _, uid := range uids {
		if _, ok := n.byUID[uid]; !ok && uid >= 0 {
			missing = append(missing, uid)
			n.byUID[uid] = ""
		}
	}
	users, err := n.db.LookupUIDs(ctx, missing)
	if err != nil {
		return err
	}
	for uid, u := range users {
		n.byUID[uid] = u.Name
	}
	return nil
}

// uid resolves a --users entry: a uid as userdb.ParseUID reads it is a uid as is
// (users need not exist in the user database); anything else, such as "01028" or
// "+1028", is a user name: a name of digits is valid in NSS, and must not be shadowed
// by the uid it also reads as.
func (n *userNames) uid(ctx context.Context, s string) (int, error) {
	if uid, ok := userdb.ParseUID(s); ok {
		return uid, nil
	}
	u, err := n.db.LookupName(ctx, s)
	var unknown *userdb.UnknownUserError
	if errors.As(err, &unknown) {
		return 0, fmt.Errorf("cannot find user %q", s)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot find user %q: %w", s, err)
	}
	n.byUID[u.UID] = u.Name
	return u.UID, nil
}
