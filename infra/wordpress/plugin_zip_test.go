// Checks of the companion plugin that need no WordPress: `make plugin`'s zip
// is reproducible and holds exactly the plugin's files, and the version the
// plugin reports matches its header. (The plugin's behaviour is tested
// against the real WordPress in infra/e2e.)
package wordpress_test

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const pluginDir = "plugins/igny8-connector"

func buildZip(t *testing.T, out string) []byte {
	t.Helper()
	cmd := exec.Command("python3", "plugin-zip.py", pluginDir, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plugin-zip.py: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPluginZipIsReproducibleAndComplete(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed to build the plugin zip (make plugin)")
	}
	dir := t.TempDir()
	first := buildZip(t, filepath.Join(dir, "a.zip"))
	second := buildZip(t, filepath.Join(dir, "b.zip"))
	if !bytes.Equal(first, second) {
		t.Fatal("two builds of the same sources differ")
	}

	var want []string
	err := filepath.WalkDir(pluginDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != pluginDir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(pluginDir, p)
			want = append(want, "igny8-connector/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
		if f.Mode().Perm() != 0o644 || !f.Modified.Equal(zr.File[0].Modified) {
			t.Errorf("%s: mode %v, time %v: want 0644 and one fixed time", f.Name, f.Mode(), f.Modified)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("zip entries\n%v\nwant the plugin's files, sorted\n%v", got, want)
	}
	if !slices.Contains(got, "igny8-connector/igny8-connector.php") || !slices.Contains(got, "igny8-connector/uninstall.php") {
		t.Errorf("the zip lacks the main file or uninstall.php: %v", got)
	}
}

func TestPluginVersionMatchesItsHeader(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(pluginDir, "igny8-connector.php"))
	if err != nil {
		t.Fatal(err)
	}
	header := regexp.MustCompile(`(?m)^ \* Version:\s+(\S+)$`).FindSubmatch(src)
	constant := regexp.MustCompile(`define\('IGNY8_CONNECTOR_VERSION', '([^']+)'\)`).FindSubmatch(src)
	if header == nil || constant == nil || !bytes.Equal(header[1], constant[1]) {
		t.Fatalf("the plugin header's Version and IGNY8_CONNECTOR_VERSION differ (or are missing): %q vs %q", header, constant)
	}
	for _, h := range []string{"Plugin Name:", "Requires at least:", "Requires PHP:", "License:"} {
		if !bytes.Contains(src, []byte(h)) {
			t.Errorf("the plugin header lacks %q", h)
		}
	}
}
