//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// execSelf replaces the process image, keeping its PID, so Ctrl-C and kill
// reach the re-executed stack directly.
func execSelf(exe string, argv, env []string) error {
	if err := syscall.Exec(exe, argv, env); err != nil {
		return fmt.Errorf("re-execute %s: %w", exe, err)
	}
	return nil
}
