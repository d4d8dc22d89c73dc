package app_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// maxInitBytes is what one of our packages may allocate while it is
// initialised. Cold-start INIT runs every package's initialisation, in
// every function, whether or not the function uses the package: compiling
// regular expressions or parsing embedded data there cost the functions
// about a millisecond of INIT. Such work belongs behind sync.OnceValue.
const maxInitBytes = 4 << 10

var initLine = regexp.MustCompile(`^init (github\.com/igny8/\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)

// TestPackagesDoNoWorkAtInit builds each function and reads the runtime's
// inittrace (allocation counts are deterministic, unlike clock times): none
// of our packages may allocate more than maxInitBytes while initialised.
func TestPackagesDoNoWorkAtInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four functions")
	}
	dir := t.TempDir()
	for _, fn := range []string{"api", "webhook", "syncworker", "publisher"} {
		t.Run(fn, func(t *testing.T) {
			bin := filepath.Join(dir, fn)
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../../functions/"+fn)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", fn, err, out)
			}
			// No configuration: main exits at once, after every package
			// has been initialised and traced.
			run := exec.Command(bin)
			run.Env = []string{"GODEBUG=inittrace=1"}
			out, _ := run.CombinedOutput()
			seen := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				m := initLine.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				seen++
				if n, _ := strconv.Atoi(m[2]); n > maxInitBytes {
					t.Errorf("%s allocates %d bytes (%s allocations) at init, more than %d: move the work behind sync.OnceValue", m[1], n, m[3], maxInitBytes)
				}
			}
			if seen == 0 {
				t.Fatalf("no inittrace line for our packages in the output of %s:\n%s", fn, out)
			}
		})
	}
}
