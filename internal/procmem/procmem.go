package procmem

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mapping is one line of /proc/<pid>/maps that may be released.
type Mapping struct {
	Start, End uintptr
}

// readOnlyMappings returns the mappings of the file exe that are private and not
// writable (code and read-only data), from a /proc/<pid>/maps listing.
func readOnlyMappings(maps io.Reader, exe string) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// address perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != exe {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("procmem: bad maps line %q", sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("procmem: bad maps line %q", sc.Text())
		}
		out = append(out, Mapping{Start: uintptr(start), End: uintptr(end)})
	}
	return out, sc.Err()
}

// ReleaseCode unmaps the resident pages of this process's executable code and read-only
// data (MADV_DONTNEED on its private, non-writable file mappings) and returns how many
// bytes it released. Pages still in use fault back in from the page cache. A page of those
// mappings that is no longer the file's (one the dynamic loader relocated, say) is kept:
// only clean file pages are released, as /proc/self/pagemap tells.
func ReleaseCode() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	defer f.Close()
	maps, err := readOnlyMappings(f, exe)
	if err != nil {
		return 0, err
	}
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	defer pagemap.Close()
	pageSize := uintptr(os.Getpagesize())
	var total int64
	for _, m := range maps {
		flags, err := pageFlags(pagemap, m, pageSize)
		if err != nil {
			return total, err
		}
		for _, r := range fileRuns(m, flags, pageSize) {
			if _, _, errno := unix.Syscall(unix.SYS_MADVISE, r.Start, r.End-r.Start, unix.MADV_DONTNEED); errno != 0 {
				return total, fmt.Errorf("procmem: madvise %#x-%#x: %w", r.Start, r.End, errno)
			}
			total += int64(r.End - r.Start)
		}
	}
	return total, nil
}

// The pagemap bits of a page: present in memory, and a file page (or shared anonymous).
const (
	pagePresent = 1 << 63
	pageFile    = 1 << 61
)

// pageFlags reads the pagemap entry of every page of m.
func pageFlags(pagemap *os.File, m Mapping, pageSize uintptr) ([]uint64, error) {
	n := int((m.End - m.Start) / pageSize)
	buf := make([]byte, 8*n)
	if _, err := pagemap.ReadAt(buf, int64(m.Start/pageSize)*8); err != nil {
		return nil, fmt.Errorf("procmem: pagemap: %w", err)
	}
	flags := make([]uint64, n)
	for i := range flags {
		flags[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return flags, nil
}

// fileRuns splits m into runs of resident file pages: those are released; pages that are
// not resident need nothing, and a resident page that is not the file's is kept.
func fileRuns(m Mapping, flags []uint64, pageSize uintptr) []Mapping {
	var runs []Mapping
	for i := 0; i < len(flags); {
		if flags[i]&pagePresent == 0 || flags[i]&pageFile == 0 {
			i++
			continue
		}
		j := i
		for j < len(flags) && flags[j]&pagePresent != 0 && flags[j]&pageFile != 0 {
			j++
		}
		runs = append(runs, Mapping{Start: m.Start + uintptr(i)*pageSize, End: m.Start + uintptr(j)*pageSize})
		i = j
	}
	return runs
}

// StartupSettle is how long after a role reports ready its start-up work (initial lists,
// first syncs) is taken to be over, and the memory only that work used to be worth releasing.
const StartupSettle = 5 * time.Second

// ReleaseHeap collects the garbage start-up left and returns the free heap to the operating
// system at once (debug.FreeOSMemory). Start-up allocates far more than a role keeps (the
// API server builds its OpenAPI documents and type converter, every informer lists), and the
// runtime would otherwise hand those pages back only gradually, or keep them until the heap
// grows into them again. Two collections: what sync.Pools cache (encoders' buffers grown to
// the largest document, say) survives the first one and is freed by the second.
func ReleaseHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}

// ReleaseStartupAfter waits d, unless ctx ends first, then releases once what start-up left
// resident: the free heap (ReleaseHeap), then the executable's code and read-only data
// (ReleaseCode; after the collection, so the collector's own code is released too). It logs
// how much code it released. Run it in its own goroutine.
func ReleaseStartupAfter(ctx context.Context, d time.Duration, log *slog.Logger) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	ReleaseHeap()
	n, err := ReleaseCode()
	if err != nil {
		log.Warn("releasing start-up code pages", "err", err)
		return
	}
	log.Debug("released start-up memory", "codeMiB", n>>20)
}
