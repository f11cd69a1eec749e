package jump

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeRunner holds the rules present; -C finds them, -D removes one copy.
type fakeRunner struct {
	present map[string]int
	calls   []string
}

func (f *fakeRunner) Run(_ context.Context, _ []byte, name string, args ...string) ([]byte, error) {
	line := name + " " + strings.Join(args, " ")
	f.calls = append(f.calls, line)
	key := strings.Join(append(args[2:3:3], args[4:]...), " ") // table and rule, without the op
	switch args[3] {
	case "-C":
		if f.present[key] > 0 {
			return nil, nil
		}
	case "-D":
		if f.present[key] > 0 {
			f.present[key]--
			return nil, nil
		}
	}
	return nil, errors.New("iptables: Bad rule (does a matching rule exist in that chain?)")
}

func TestJumps(t *testing.T) {
	t.Parallel()
	first := Jump{Table: "nat", Chain: "PREROUTING", Args: []string{"-m", "comment", "--comment", `kubernetes "service" portals`, "-j", "KUBE-SERVICES"}}
	last := Jump{Table: "filter", Chain: "FORWARD", Append: true, Args: []string{"-j", "OURS"}}

	if got, want := first.RestoreLine(), `-I PREROUTING 1 -m comment --comment "kubernetes \"service\" portals" -j KUBE-SERVICES`; got != want {
		t.Errorf("RestoreLine = %s, want %s", got, want)
	}
	if got, want := last.RestoreLine(), "-A FORWARD -j OURS"; got != want {
		t.Errorf("RestoreLine = %s, want %s", got, want)
	}

	run := &fakeRunner{present: map[string]int{"filter FORWARD -j OURS": 2}}
	if got := Missing(t.Context(), run, []Jump{first, last}); !reflect.DeepEqual(got, []Jump{first}) {
		t.Errorf("Missing = %+v, want only the absent jump", got)
	}
	Remove(t.Context(), run, []Jump{first, last})
	if run.present["filter FORWARD -j OURS"] != 0 {
		t.Errorf("a copy of the jump is left: %v", run.present)
	}
	if got := Missing(t.Context(), run, []Jump{last}); len(got) != 1 {
		t.Errorf("after Remove, Missing = %+v", got)
	}
}
