package desktopentry_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
)

func TestExecArgs(t *testing.T) {
	for _, tc := range []struct {
		exec string
		want []string
		err  string
	}{
		{`/snap/bin/foo %U`, []string{"/snap/bin/foo"}, ""},
		{`env A=b /snap/bin/foo.app --x %f`, []string{"env", "A=b", "/snap/bin/foo.app", "--x"}, ""},
		{`"/opt/my app/run" "" "a \"q\" \$x" 100%%`, []string{"/opt/my app/run", "", `a "q" $x`, "100%"}, ""},
		{`"c:\\dir"`, []string{`c:\dir`}, ""},
		{`"unterminated`, nil, "unterminated"},
		{`%U %F`, nil, "empty"},
	} {
		got, err := desktopentry.ExecArgs(tc.exec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ExecArgs(%q) = %q, %v; want error %q", tc.exec, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ExecArgs(%q) = %q, %v; want %q", tc.exec, got, err, tc.want)
		}
	}
}
