package nftables

import (
	"errors"
	"strings"
	"testing"

	"capstan/internal/proxy/runner"
)

func scriptOf(t *testing.T, calls []runner.Call) string {
	t.Helper()
	for _, c := range calls {
		if c.Line == "nft -f -" {
			return c.Stdin
		}
	}
	return ""
}

func TestSyncIsFullFirstThenPartial(t *testing.T) {
	t.Parallel()
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		switch line {
		case "nft list tables ip":
			return []byte("table ip kube-proxy\ntable ip nat\n"), nil
		case "nft -t list table ip kube-proxy":
			return []byte("table ip kube-proxy {\n\tchain service-OLD-ns/x/tcp/p {\n\t}\n}\n"), nil
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	st := loadState(t)
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	full := scriptOf(t, fake.Calls())
	if !strings.Contains(full, "add table ip kube-proxy") || !strings.Contains(full, "delete chain ip kube-proxy service-OLD-ns/x/tcp/p") {
		t.Errorf("the first sync was not full or kept a stale chain:\n%s", full)
	}
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Line, "nft") {
			t.Errorf("a sync without changes ran %q", c.Line)
		}
	}
	if p.RuleCounts()[table] == 0 {
		t.Error("no rules counted")
	}
}

func TestSyncAfterAFailureIsFull(t *testing.T) {
	t.Parallel()
	fail := true
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		if fail && line == "nft -f -" {
			return nil, errors.New("exit status 1")
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	st := loadState(t)
	if err := p.Sync(t.Context(), st); err == nil {
		t.Fatal("Sync succeeded though nft failed")
	}
	fail = false
	fake.Calls()
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if s := scriptOf(t, fake.Calls()); !strings.Contains(s, "add table ip kube-proxy") {
		t.Errorf("the sync after a failure was not full:\n%s", s)
	}
}

func TestCleanupDeletesTheTableOnlyWhenPresent(t *testing.T) {
	t.Parallel()
	present := false
	fake := &runner.Fake{Respond: func(line, _ string) ([]byte, error) {
		if line == "nft list tables ip" && present {
			return []byte("table ip kube-proxy\n"), nil
		}
		return nil, nil
	}}
	p, _ := New(Options{Runner: fake})
	if err := p.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Line, "nft delete") {
			t.Errorf("deleted a table that is not there: %s", c.Line)
		}
	}
	present = true
	if err := p.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	deleted := false
	for _, c := range fake.Calls() {
		deleted = deleted || c.Line == "nft delete table ip kube-proxy"
	}
	if !deleted {
		t.Error("the table was not deleted")
	}
}
