package images

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPauseBinaryIsAStaticExecutable(t *testing.T) {
	t.Parallel()
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		bin, err := PauseBinary(arch)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: not an ELF file: %v", arch, err)
		}
		if f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC || f.Machine != machine || f.OSABI != elf.ELFOSABI_NONE {
			t.Errorf("%s: header %+v", arch, f.FileHeader)
		}
		if len(f.Progs) != 1 {
			t.Fatalf("%s: %d program headers, want 1", arch, len(f.Progs))
		}
		p := f.Progs[0]
		if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_X || p.Off != 0 || p.Filesz != uint64(len(bin)) || p.Memsz != p.Filesz {
			t.Errorf("%s: segment %+v does not load the whole file", arch, p.ProgHeader)
		}
		if f.Entry <= p.Vaddr || f.Entry >= p.Vaddr+p.Memsz {
			t.Errorf("%s: entry %#x outside the segment", arch, f.Entry)
		}
		if len(bin) > 512 {
			t.Errorf("%s: %d bytes; the pause program is meant to be tiny", arch, len(bin))
		}
	}
	if _, err := PauseBinary("riscv64"); err == nil {
		t.Error("PauseBinary(riscv64) succeeded; want an error naming the built-in architectures")
	}
	if _, err := PauseImageFor("mips"); err == nil {
		t.Error("PauseImageFor(mips) succeeded")
	}
}

func TestPauseImageIsDeterministic(t *testing.T) {
	t.Parallel()
	a, err := PauseImageFor("arm64")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PauseImageFor("arm64")
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two builds differ: %s %s", da, db)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.OS != "linux" || strings.Join(cf.Config.Entrypoint, " ") != "/pause" {
		t.Fatalf("config = %+v", cf)
	}
}

// writePause writes the pause program for this machine, or skips where it cannot run.
func writePause(t *testing.T) string {
	t.Helper()
	bin, err := PauseBinary(runtime.GOARCH)
	if err != nil {
		t.Skipf("no built-in pause program for %s to run", runtime.GOARCH)
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitSleeping waits until pid runs the pause program and sleeps in its signal wait,
// its only blocking point.
func waitSleeping(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err == nil && strings.Contains(string(stat), "(pause) S") {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("pid %d never slept in the pause program", pid)
}

func TestPauseExitsZeroOnSIGTERMAndSIGINTAndIgnoresOthers(t *testing.T) {
	path := writePause(t)
	for _, tc := range []struct {
		name    string
		ignored []syscall.Signal
		stop    syscall.Signal
	}{
		{"SIGTERM", nil, syscall.SIGTERM},
		{"SIGINT after SIGHUP and SIGUSR1", []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1}, syscall.SIGINT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(path)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitSleeping(t, cmd.Process.Pid)
			for _, sig := range tc.ignored {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Process.Signal(tc.stop); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("pause ended with %v, want exit status 0", err)
			}
		})
	}
}

// TestPauseReapsOrphansAsPID1 runs pause as PID 1 of a new PID namespace, orphans a process
// into that namespace and waits for pause to reap it.
func TestPauseReapsOrphansAsPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace needs root")
	}
	path := writePause(t)
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	waitSleeping(t, pid)

	// A shell in the namespace starts a child and exits at once: the child is orphaned to
	// pause, which must reap it when it ends.
	errc := make(chan error, 1)
	go func() {
		// The thread joins the namespace for its children and is discarded afterwards
		// (never unlocked).
		runtime.LockOSThread()
		ns, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "ns", "pid"))
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWPID); err != nil {
			errc <- err
			return
		}
		errc <- exec.Command("/bin/sh", "-c", "sleep 1 & exit 0").Run()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	children := filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children")
	sawOrphan := false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(children)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(data)) != "" {
			sawOrphan = true
		} else if sawOrphan {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("pause ended with %v", err)
			}
			return
		}
		runtime.Gosched()
	}
	data, _ := os.ReadFile(children)
	t.Fatalf("orphan seen: %v; pause's children after 10s: %q (a zombie left unreaped)", sawOrphan, data)
}
