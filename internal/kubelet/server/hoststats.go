package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// NodeUsage is the node's own usage, as the summary reports it.
type NodeUsage struct {
	// Boot is when the node started.
	Boot time.Time
	// CPUCoreNanoSeconds is the CPU time used by everything on the node since boot.
	CPUCoreNanoSeconds uint64
	// Memory in bytes.
	MemoryTotal, MemoryUsage, MemoryWorkingSet, MemoryRSS uint64
	// Fs is the file system of the kubelet's data directory.
	Fs FsUsage
	// MaxPID and Processes, for the rlimit section.
	MaxPID, Processes int64
	// Interfaces are the node's network interfaces but the loopback.
	Interfaces []InterfaceCounters
}

// FsUsage is a file system's size and use.
type FsUsage struct {
	Capacity, Available, Used, Inodes, InodesFree uint64
}

// InterfaceCounters are one network interface's counters.
type InterfaceCounters struct {
	Name                                 string
	RxBytes, RxErrors, TxBytes, TxErrors uint64
}

// NodeStats reads the node's usage.
type NodeStats interface {
	Usage(ctx context.Context) (NodeUsage, error)
	// Fs is the usage of the file system holding path.
	Fs(path string) (FsUsage, error)
}

// HostStats reads the node's usage from /proc and statfs.
type HostStats struct {
	// RootDir is the directory whose file system is the node's. Default "/".
	RootDir string
	// Proc is where procfs is mounted. Default "/proc".
	Proc string
}

// Usage reads /proc/stat, /proc/meminfo, /proc/net/dev and the data directory's file
// system.
func (h HostStats) Usage(ctx context.Context) (NodeUsage, error) {
	var u NodeUsage
	proc := h.Proc
	if proc == "" {
		proc = "/proc"
	}
	stat, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return u, err
	}
	if u.CPUCoreNanoSeconds, u.Boot, err = parseProcStat(stat); err != nil {
		return u, err
	}
	meminfo, err := os.ReadFile(filepath.Join(proc, "meminfo"))
	if err != nil {
		return u, err
	}
	mem := parseMeminfo(meminfo)
	u.MemoryTotal = mem["MemTotal"]
	u.MemoryUsage = sub(mem["MemTotal"], mem["MemFree"])
	// The working set leaves out the page cache the kernel can drop first, as upstream.
	u.MemoryWorkingSet = sub(u.MemoryUsage, mem["Inactive(file)"])
	u.MemoryRSS = mem["AnonPages"]
	root := h.RootDir
	if root == "" {
		root = "/"
	}
	if u.Fs, err = h.Fs(root); err != nil {
		return u, err
	}
	if data, err := os.ReadFile(filepath.Join(proc, "sys/kernel/pid_max")); err == nil {
		u.MaxPID, _ = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	}
	if entries, err := os.ReadDir(proc); err == nil {
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
				u.Processes++
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(proc, "net/dev")); err == nil {
		u.Interfaces = parseNetDev(data)
	}
	return u, nil
}

// Fs stats the file system holding path.
func (HostStats) Fs(path string) (FsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FsUsage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return FsUsage{
		Capacity:   st.Blocks * bs,
		Available:  st.Bavail * bs,
		Used:       (st.Blocks - st.Bfree) * bs,
		Inodes:     st.Files,
		InodesFree: st.Ffree,
	}, nil
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// userHZ is the unit of /proc/stat's CPU times on Linux.
const userHZ = 100

// parseProcStat reads the CPU time spent busy by all CPUs (every column of the "cpu" line
// but idle and iowait, in nanoseconds) and the boot time.
func parseProcStat(data []byte) (uint64, time.Time, error) {
	var busy uint64
	var boot time.Time
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "cpu":
			found = true
			// user nice system idle iowait irq softirq steal guest guest_nice; guest time is
			// already counted in user and nice.
			for i, v := range f[1:] {
				if i == 3 || i == 4 || i >= 8 {
					continue
				}
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return 0, boot, fmt.Errorf("/proc/stat cpu line: %w", err)
				}
				busy += n
			}
		case "btime":
			if len(f) > 1 {
				s, err := strconv.ParseInt(f[1], 10, 64)
				if err == nil {
					boot = time.Unix(s, 0)
				}
			}
		}
	}
	if !found {
		return 0, boot, fmt.Errorf("/proc/stat has no cpu line")
	}
	return busy * (uint64(time.Second) / userHZ), boot, nil
}

// parseMeminfo reads /proc/meminfo into bytes by field name.
func parseMeminfo(data []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[name] = n
	}
	return out
}

// parseNetDev reads /proc/net/dev's counters, leaving out the loopback.
func parseNetDev(data []byte) []InterfaceCounters {
	var out []InterfaceCounters
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "lo" || len(f) < 11 {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
		out = append(out, InterfaceCounters{Name: name, RxBytes: n(0), RxErrors: n(2), TxBytes: n(8), TxErrors: n(10)})
	}
	return out
}
