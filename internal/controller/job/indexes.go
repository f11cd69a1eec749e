package job

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// indexSet is a set of completion indexes.
type indexSet map[int]struct{}

// parseIndexes reads a status string such as "1,3-5,7", keeping the indexes below
// completions. Malformed parts are skipped.
func parseIndexes(s string, completions int) indexSet {
	out := indexSet{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := max(first, 0); i <= last && i < completions; i++ {
			out[i] = struct{}{}
		}
	}
	return out
}

func (s indexSet) has(i int) bool {
	_, ok := s[i]
	return ok
}

func (s indexSet) add(is ...int) {
	for _, i := range is {
		s[i] = struct{}{}
	}
}

func (s indexSet) sorted() []int {
	out := make([]int, 0, len(s))
	for i := range s {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// String formats the set the way the status does: ascending, runs of three or more
// consecutive indexes as "first-last", e.g. "1,3-5,7".
func (s indexSet) String() string {
	ix := s.sorted()
	var b strings.Builder
	for i := 0; i < len(ix); {
		j := i
		for j+1 < len(ix) && ix[j+1] == ix[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ix[i]))
		switch {
		case j == i+1:
			b.WriteString("," + strconv.Itoa(ix[j]))
		case j > i+1:
			b.WriteString("-" + strconv.Itoa(ix[j]))
		}
		i = j + 1
	}
	return b.String()
}

// podIndex is the completion index of a pod, or -1 when it has none or a malformed one.
func podIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[indexAnnotation]
	if !ok {
		v, ok = p.Labels[indexAnnotation]
	}
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

// pendingIndexes returns up to n of the lowest indexes below completions that are neither
// done (succeeded or failed), running, nor waiting out a per-index backoff.
func pendingIndexes(completions, n int, done, running, waiting indexSet) []int {
	var out []int
	for i := 0; i < completions && len(out) < n; i++ {
		if !done.has(i) && !running.has(i) && !waiting.has(i) {
			out = append(out, i)
		}
	}
	return out
}
