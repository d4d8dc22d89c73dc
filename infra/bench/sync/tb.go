package main

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// tb is the testing.TB the test helpers (fakewp.New, testutil.MustCreateTable)
// need, for a main program: Fatal stops the calling goroutine after the
// cleanups run, as it does in a test.
type tb struct {
	testing.TB // nil: any method not below panics
	name       string
	mu         sync.Mutex
	cleanups   []func()
}

func (t *tb) Helper()      {}
func (t *tb) Name() string { return t.name }
func (t *tb) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *tb) Logf(format string, args ...any) { progress(format, args...) }
func (t *tb) Log(args ...any)                 { progress("%s", fmt.Sprint(args...)) }
func (t *tb) Errorf(format string, args ...any) {
	progress("error: "+format, args...)
}
func (t *tb) Fatalf(format string, args ...any) { t.Fatal(fmt.Sprintf(format, args...)) }
func (t *tb) Fatal(args ...any) {
	panic(fatal(fmt.Sprint(args...)))
}
func (t *tb) Skipf(format string, args ...any) { t.Fatalf("skip: "+format, args...) }

// fatal is a helper's failure; run recovers it into an error.
type fatal string

func (t *tb) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// guard turns a helper's Fatal panic into an error.
func guard(err *error) {
	if r := recover(); r != nil {
		if f, ok := r.(fatal); ok {
			*err = fmt.Errorf("%s", string(f))
			return
		}
		buf := make([]byte, 4096)
		buf = buf[:runtime.Stack(buf, false)]
		*err = fmt.Errorf("panic: %v\n%s", r, buf)
	}
}
