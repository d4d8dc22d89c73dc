//go:build !unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// execSelf runs the program again as a child with the new environment and
// exits with its status (no exec(2) outside Unix).
func execSelf(exe string, argv, env []string) error {
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("re-execute %s: %w", exe, err)
	}
	os.Exit(0)
	return nil
}
