// Writes the machine the kernel reports (uname -m) to /out/arch. Built for
// each architecture the emulation test runs; it uses nothing but syscall,
// so it runs in a stage FROM scratch.
package main

import "syscall"

func main() {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		syscall.Exit(1)
	}
	machine := make([]byte, 0, len(u.Machine)+1)
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		machine = append(machine, byte(c))
	}
	_ = syscall.Mkdir("/out", 0o755)
	fd, err := syscall.Open("/out/arch", syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o644)
	if err != nil {
		syscall.Exit(2)
	}
	if _, err := syscall.Write(fd, append(machine, '\n')); err != nil {
		syscall.Exit(3)
	}
	syscall.Exit(0)
}
