//go:build !linux

package main

import "syscall"

// sysProcAttr leaves a child in the demo's process group: the terminal's
// Ctrl-C reaches it too, and the demo then waits for it to stop. Without
// Linux's parent-death signal, a demo killed by SIGKILL leaves it running.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
