// Command pause is the process of every pod sandbox: it holds the pod's namespaces open,
// reaps the zombies of a shared process namespace, and exits 0 on SIGINT or SIGTERM. The
// kubelet packs it into the built-in sandbox image (package images); it never runs on the
// host. Keep it small: it has no dependencies beyond the standard library.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		os.Stderr.WriteString("pause: warning: not running as PID 1\n")
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
