package iptables

import (
	"errors"
	"strings"
	"testing"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

func count(calls []runner.Call, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c.Line, prefix) {
			n++
		}
	}
	return n
}

func restoreInput(t *testing.T, calls []runner.Call) string {
	t.Helper()
	for _, c := range calls {
		if strings.HasPrefix(c.Line, "iptables-restore") {
			return c.Stdin
		}
	}
	t.Fatal("iptables-restore was not run")
	return ""
}

func TestSyncIsFullFirstThenPartial(t *testing.T) {
	t.Parallel()
	fake := &runner.Fake{}
	p, err := New(Options{Runner: fake})
	if err != nil {
		t.Fatal(err)
	}
	st := loadState(t, desired.Masquerade{})
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if count(calls, "iptables-save -t nat") != 1 {
		t.Errorf("the first sync did not read the nat table for stale chains: %v", calls)
	}
	// The fake answers every check with success, so no insert follows.
	if n := count(calls, "iptables -w -t"); n != len(jumps()) {
		t.Errorf("the first sync checked %d jump rules, want %d", n, len(jumps()))
	}
	if !strings.Contains(restoreInput(t, calls), ":KUBE-SVC-") {
		t.Error("the first sync wrote no service chains")
	}

	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	calls = fake.Calls()
	if count(calls, "iptables-save") != 0 || count(calls, "iptables -w") != 0 {
		t.Errorf("a partial sync read the tables or checked jumps: %v", calls)
	}
	if in := restoreInput(t, calls); strings.Contains(in, ":KUBE-SVC-") {
		t.Errorf("a partial sync without changes rewrote service chains:\n%s", in)
	}

	st.Full = true
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if calls = fake.Calls(); !strings.Contains(restoreInput(t, calls), ":KUBE-SVC-") {
		t.Error("a sync asked to be full wrote no service chains")
	}
	if got := p.RuleCounts(); got["nat"] == 0 || got["filter"] == 0 {
		t.Errorf("RuleCounts() = %v, want rules in both tables", got)
	}
}

func TestSyncAfterAFailureIsFull(t *testing.T) {
	t.Parallel()
	fail := true
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		if fail && strings.HasPrefix(line, "iptables-restore") {
			return nil, errors.New("exit status 1")
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	st := loadState(t, desired.Masquerade{})
	if err := p.Sync(t.Context(), st); err == nil {
		t.Fatal("Sync succeeded though iptables-restore failed")
	}
	fake.Calls()
	fail = false
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if calls := fake.Calls(); !strings.Contains(restoreInput(t, calls), ":KUBE-SVC-") {
		t.Error("the sync after a failure was not full")
	}
}

func TestMissingJumpsAreAddedWithTheRules(t *testing.T) {
	t.Parallel()
	present := map[string]bool{}
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		if strings.Contains(line, " -C ") && !present[line] {
			return nil, errors.New("exit status 1")
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	if err := p.Sync(t.Context(), &desired.State{Full: true}); err != nil {
		t.Fatal(err)
	}
	in := restoreInput(t, fake.Calls())
	for _, want := range []string{
		`-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
		`-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
		`-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
	} {
		if !strings.Contains(in, want+"\n") {
			t.Errorf("the first sync does not add %q:\n%s", want, in)
		}
	}
	// Once there, they are not added again.
	for _, j := range jumps() {
		present["iptables "+strings.Join(append([]string{"-w", "-t", j.Table, "-C", j.Chain}, j.Args...), " ")] = true
	}
	if err := p.Sync(t.Context(), &desired.State{Full: true}); err != nil {
		t.Fatal(err)
	}
	if in := restoreInput(t, fake.Calls()); strings.Contains(in, "-I ") {
		t.Errorf("a full sync re-added present jumps:\n%s", in)
	}
}

func TestCleanupDeletesOnlyOwnedChains(t *testing.T) {
	t.Parallel()
	deletes := 0
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		switch {
		case strings.HasPrefix(line, "iptables-save -t nat"):
			return []byte("*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SEP-AAAA - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n"), nil
		case strings.HasPrefix(line, "iptables-save -t filter"):
			return []byte("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\nCOMMIT\n"), nil
		case strings.Contains(line, " -D "):
			// Every jump exists once.
			deletes++
			if deletes%2 == 0 {
				return nil, errors.New("exit status 1")
			}
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	if err := p.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	in := restoreInput(t, fake.Calls())
	for _, want := range []string{"-X KUBE-SERVICES", "-X KUBE-SEP-AAAA", "-X KUBE-FORWARD"} {
		if !strings.Contains(in, want+"\n") {
			t.Errorf("cleanup input lacks %q:\n%s", want, in)
		}
	}
	for _, keep := range []string{"DOCKER", "KUBE-KUBELET-CANARY", "PREROUTING", "INPUT"} {
		if strings.Contains(in, keep) {
			t.Errorf("cleanup touches %s:\n%s", keep, in)
		}
	}
}
