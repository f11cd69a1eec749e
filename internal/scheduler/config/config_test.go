package config

import (
	"strings"
	"testing"
	"time"
)

const sample = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
clientConnection:
  qps: 100
  burst: 200
percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  percentageOfNodesToScore: 100
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
    multiPoint:
      disabled:
      - name: ImageLocality
  pluginConfig:
  - name: NodeResourcesFit
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 2
        - name: memory
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if *c.LeaderElection.LeaderElect || c.LeaderElection.LeaseDuration.Duration != 15*time.Second || c.LeaderElection.ResourceName != "kube-scheduler" {
		t.Errorf("leader election %+v", c.LeaderElection)
	}
	if c.ClientConnection.QPS != 100 || *c.PercentageOfNodesToScore != 30 || *c.PodInitialBackoffSeconds != 2 || *c.PodMaxBackoffSeconds != 20 {
		t.Errorf("top level %+v", c)
	}
	if len(c.Profiles) != 2 || c.Profiles[1].Name() != "bin-packer" || *c.Profiles[1].PercentageOfNodesToScore != 100 {
		t.Fatalf("profiles %+v", c.Profiles)
	}
	bp := c.Profiles[1]
	for _, p := range bp.Plugins.MultiPoint.Enabled {
		if p.Name == ImageLocality {
			t.Error("ImageLocality disabled through multiPoint is still enabled")
		}
	}
	fit := bp.Args(NodeResourcesFit).(*NodeResourcesFitArgs)
	if fit.ScoringStrategy.Type != MostAllocated || fit.ScoringStrategy.Resources[0].Weight != 2 || fit.ScoringStrategy.Resources[1].Weight != 1 {
		t.Errorf("fit args %+v", fit.ScoringStrategy)
	}
	if a := c.Profiles[0].Args(InterPodAffinity).(*InterPodAffinityArgs); a.HardPodAffinityWeight != 1 {
		t.Errorf("default InterPodAffinity args %+v", a)
	}
	if a := c.Profiles[0].Args(DefaultPreemption).(*DefaultPreemptionArgs); a.MinCandidateNodesPercentage != 10 || a.MinCandidateNodesAbsolute != 100 {
		t.Errorf("default preemption args %+v", a)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if len(c.Profiles) != 1 || c.Profiles[0].Name() != "default-scheduler" || !*c.LeaderElection.LeaderElect {
		t.Fatalf("%+v", c)
	}
	weights := map[string]int32{}
	for _, p := range c.Profiles[0].Plugins.MultiPoint.Enabled {
		if p.Weight != nil {
			weights[p.Name] = *p.Weight
		}
	}
	want := map[string]int32{TaintToleration: 3, NodeAffinity: 2, NodeResourcesFit: 1, PodTopologySpread: 2, InterPodAffinity: 2, NodeResourcesBalancedAllocation: 1, ImageLocality: 1}
	for k, v := range want {
		if weights[k] != v {
			t.Errorf("%s weight %d, want %d", k, weights[k], v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown fields are errors", head + "bogus: 1\n", "unknown field"},
		{"wrong kind", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: Other\n", "want kubescheduler.config.k8s.io/v1"},
		{"percentage out of range", head + "percentageOfNodesToScore: 101\n", "percentageOfNodesToScore"},
		{"max backoff below initial", head + "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n", "podMaxBackoffSeconds"},
		{"duplicate profiles", head + "profiles:\n- schedulerName: a\n- schedulerName: a\n", "Duplicate value"},
		{"bad scoring strategy", head + "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: Random\n", "Unsupported value"},
		{"args of a plugin without args", head + "profiles:\n- pluginConfig:\n  - name: NodeName\n    args:\n      x: 1\n", "takes no arguments"},
		{"unknown args fields", head + "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args:\n      hardPodAffinityWeigth: 1\n", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestMergeKeepsDefaultOrder(t *testing.T) {
	w := int32(7)
	merged := mergeSet(PluginSet{Enabled: []Plugin{{Name: "A"}, {Name: "B"}, {Name: "C"}}},
		PluginSet{Enabled: []Plugin{{Name: "D"}, {Name: "B", Weight: &w}}, Disabled: []Plugin{{Name: "C"}}})
	var got []string
	for _, p := range merged.Enabled {
		got = append(got, p.Name)
	}
	if strings.Join(got, ",") != "A,B,D" || *merged.Enabled[1].Weight != 7 {
		t.Errorf("merged %v", got)
	}
	all := mergeSet(PluginSet{Enabled: []Plugin{{Name: "A"}}}, PluginSet{Enabled: []Plugin{{Name: "X"}}, Disabled: []Plugin{{Name: "*"}}})
	if len(all.Enabled) != 1 || all.Enabled[0].Name != "X" {
		t.Errorf("disabling * left %v", all.Enabled)
	}
}
