package main

import "syscall"

// sysProcAttr puts a child in its own process group, so that the terminal's
// Ctrl-C reaches the demo alone, and has the kernel send it SIGTERM if the
// demo dies without stopping it (even by SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
