package kubelet

import (
	"bytes"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Limits of a termination message, as upstream's kubelet applies them.
const (
	maxTerminationMessage = 4096
	maxFallbackLogBytes   = 2048
	maxFallbackLogLines   = 80
)

// terminationMessage reads what an exited container left as its termination message.
func (k *Kubelet) terminationMessage(id string, rt *podRuntime, exitCode int32) (string, bool) {
	k.cache.mu.Lock()
	msg, ok := k.cache.messages[id]
	k.cache.mu.Unlock()
	if ok {
		return msg, msg != ""
	}
	st := rt.statuses[id]
	if st == nil || st.FinishedAt == 0 {
		return "", false
	}
	path := st.Annotations[annotationTerminationPath]
	for _, m := range st.Mounts {
		if path != "" && m.ContainerPath == path {
			msg = readLimited(m.HostPath, maxTerminationMessage)
		}
	}
	if msg == "" && exitCode != 0 && st.Annotations[annotationTerminationPolicy] == string(corev1.TerminationMessageFallbackToLogsOnError) {
		msg = logTail(st.LogPath, maxFallbackLogLines, maxFallbackLogBytes)
	}
	k.cache.mu.Lock()
	k.cache.messages[id] = msg
	k.cache.mu.Unlock()
	return msg, msg != ""
}

func readLimited(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, n))
	return string(data)
}

// logTail returns the text of the last lines of a CRI log file ("<time> <stream> <P|F>
// <text>" per line; P marks a line continued by the next entry).
func logTail(path string, lines int, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	// The last entries fit in a small window at the end of the file.
	const window = 64 * 1024
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-window, 0)
	data := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && err != io.EOF {
		return ""
	}
	var text strings.Builder
	for _, entry := range bytes.Split(data, []byte("\n")) {
		parts := bytes.SplitN(entry, []byte(" "), 4)
		if len(parts) != 4 {
			continue
		}
		text.Write(parts[3])
		if string(parts[2]) != "P" {
			text.WriteByte('\n')
		}
	}
	all := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	out := strings.Join(all, "\n")
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
	}
	return out
}
