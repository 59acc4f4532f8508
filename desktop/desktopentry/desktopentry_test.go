package desktopentry_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
)

func TestReadPicksTheMostSpecificLocale(t *testing.T) {
	dir := t.TempDir()
	content := `# comment
[Other Group]
Name=wrong

[Desktop Entry]
Name=overridden by the last
Name=Plain\sname
Name[sr]=sr
Name[sr@latin]=sr@latin
Name[sr_RS]=sr_RS
Name[sr_RS@latin]=sr_RS@latin
Icon = themed-icon
`
	if err := os.WriteFile(filepath.Join(dir, "app.desktop"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for locale, want := range map[string]string{
		"":                  "Plain name",
		"C":                 "Plain name",
		"en_US.UTF-8":       "Plain name",
		"sr":                "sr",
		"sr_ME.UTF-8":       "sr",
		"sr_ME@latin":       "sr@latin",
		"sr_RS.UTF-8":       "sr_RS",
		"sr_RS.UTF-8@latin": "sr_RS@latin",
	} {
		e, err := desktopentry.Read(dir, "app", locale)
		if err != nil {
			t.Fatal(err)
		}
		if e.Name != want || e.Icon != "themed-icon" {
			t.Errorf("locale %q: %+v, want name %q", locale, e, want)
		}
	}
}

func TestReadRefusesWhatIsNotAnEntry(t *testing.T) {
	dir := t.TempDir()
	if _, err := desktopentry.Read(dir, "missing", ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, name := range []string{"", "../x", "a/b", ".x", "a..b", strings.Repeat("a", 256)} {
		if _, err := desktopentry.Read(dir, name, ""); err == nil || desktopentry.ValidName(name) {
			t.Errorf("name %q accepted", name)
		}
	}
	os.WriteFile(filepath.Join(dir, "nogroup.desktop"), []byte("Name=x\n"), 0o644)
	if _, err := desktopentry.Read(dir, "nogroup", ""); err == nil {
		t.Error("a file without [Desktop Entry] is read")
	}
	os.WriteFile(filepath.Join(dir, "twice.desktop"), []byte("[Desktop Entry]\nName=a\n[Other]\n[Desktop Entry]\nName=b\n"), 0o644)
	if _, err := desktopentry.Read(dir, "twice", ""); err == nil || !strings.Contains(err.Error(), "more than one [Desktop Entry] group") {
		t.Errorf("a file with two [Desktop Entry] groups: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "big.desktop"), []byte("[Desktop Entry]\n"+strings.Repeat("#", 300<<10)), 0o644)
	if _, err := desktopentry.Read(dir, "big", ""); err == nil {
		t.Error("an oversized file is read")
	}
}

func TestLocaleFromTheEnvironment(t *testing.T) {
	env := map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}
	if got := desktopentry.Locale(func(k string) string { return env[k] }); got != "fr_FR.UTF-8" {
		t.Fatalf("got %q", got)
	}
	env["LC_ALL"] = "it_IT"
	if got := desktopentry.Locale(func(k string) string { return env[k] }); got != "it_IT" {
		t.Fatalf("got %q", got)
	}
}
