package volume

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one file of a volume's payload.
type File struct {
	Data []byte
	Mode os.FileMode
}

const dataLink = "..data"

// WriteAtomic makes dir hold exactly payload (relative path -> file), switching from the
// previous content in one rename: the files live in a timestamped directory that the
// "..data" link points at, and each top-level entry is a link through "..data". It
// reports whether anything changed.
func WriteAtomic(dir string, payload map[string]File, gid int) (bool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	for p := range payload {
		clean := filepath.Clean(p)
		if filepath.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") {
			return false, fmt.Errorf("invalid path %q in volume payload", p)
		}
	}
	if current(dir, payload) {
		return false, nil
	}
	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, err
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, filepath.Clean(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, f.Mode.Perm()); err != nil {
			return false, err
		}
		if err := os.Chmod(full, f.Mode.Perm()); err != nil {
			return false, err
		}
		if gid >= 0 {
			_ = os.Lchown(full, -1, gid)
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		return false, err
	}
	// Top-level links: add the new ones, drop the ones no longer in the payload.
	top := map[string]bool{}
	for p := range payload {
		top[strings.Split(filepath.Clean(p), string(filepath.Separator))[0]] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataLink, name) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join(dataLink, name), link); err != nil {
			return false, err
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	if old != "" && old != filepath.Base(tsDir) {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return true, nil
}

// current tells whether dir already holds exactly payload.
func current(dir string, payload map[string]File) bool {
	target, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil {
		return false
	}
	base := filepath.Join(dir, target)
	var have []string
	_ = filepath.Walk(base, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(base, p)
			have = append(have, rel)
		}
		return nil
	})
	if len(have) != len(payload) {
		return false
	}
	sort.Strings(have)
	for _, rel := range have {
		f, ok := payload[rel]
		if !ok {
			return false
		}
		full := filepath.Join(base, rel)
		data, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(data, f.Data) {
			return false
		}
		if st, err := os.Stat(full); err != nil || st.Mode().Perm() != f.Mode.Perm() {
			return false
		}
	}
	return true
}
