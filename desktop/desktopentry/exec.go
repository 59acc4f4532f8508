package desktopentry

import (
	"errors"
	"strings"
)

// ExecArgs splits the (already unescaped) value of an Exec key into arguments and
// drops its field codes (%f, %U, %i, ...): the launchers of this project pass no
// files, URLs or icons; "%%" is a literal "%". The quoting rules are the
// specification's ("The Exec key"): arguments are separated by spaces, double quotes
// group, and inside them a backslash escapes `"`, "`", "$" and "\".
func ExecArgs(value string) ([]string, error) {
	var args []string
	var cur strings.Builder
	// explicit marks an argument given in quotes, kept even when empty.
	explicit, quoted := false, false
	for i := 0; i < len(value); i++ {
		ch := value[i]
		switch {
		case quoted && ch == '\\' && i+1 < len(value) && strings.IndexByte("\"`$\\", value[i+1]) >= 0:
			i++
			cur.WriteByte(value[i])
		case ch == '"':
			quoted = !quoted
			explicit = true
		case !quoted && ch == ' ':
			if explicit || cur.Len() > 0 {
				args = append(args, cur.String())
			}
			cur.Reset()
			explicit = false
		case ch == '%' && i+1 < len(value):
			i++
			if value[i] == '%' {
				cur.WriteByte('%')
			}
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote in Exec key")
	}
	if explicit || cur.Len() > 0 {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty Exec key")
	}
	return args, nil
}
