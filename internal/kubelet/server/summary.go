package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("failed to get the summary: %w", err))
		return
	}
	writeJSON(w, sum)
}

// summary gathers the node's and its pods' usage.
func (s *Server) summary(ctx context.Context) (*Summary, error) {
	now := s.opts.Clock.Now()
	usage, err := s.opts.Node.Usage(ctx)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Node: nodeSummary(s.opts.NodeName, now, usage, s.cpu.rateAt("", now, usage.CPUCoreNanoSeconds))}
	if s.opts.Images != nil {
		if fs := s.imageFs(ctx, now); fs != nil {
			sum.Node.Runtime = &RuntimeStats{ImageFs: fs, ContainerFs: fs}
		}
	}
	sum.Pods, err = s.podSummaries(ctx, now)
	if err != nil {
		return nil, err
	}
	return sum, nil
}

func u64(v uint64) *uint64 { return &v }
func i64(v int64) *int64   { return &v }

// nodeSummary renders the node's usage; nanoCores is nil until there are two samples.
func nodeSummary(name string, now time.Time, u NodeUsage, nanoCores *uint64) NodeSummary {
	t := metav1.NewTime(now)
	n := NodeSummary{
		NodeName:  name,
		StartTime: metav1.NewTime(u.Boot),
		CPU:       &CPUStats{Time: t, UsageCoreNanoSeconds: u64(u.CPUCoreNanoSeconds), UsageNanoCores: nanoCores},
		Memory: &MemoryStats{Time: t, AvailableBytes: u64(sub(u.MemoryTotal, u.MemoryWorkingSet)),
			UsageBytes: u64(u.MemoryUsage), WorkingSetBytes: u64(u.MemoryWorkingSet), RSSBytes: u64(u.MemoryRSS)},
		Fs: fsStats(t, u.Fs),
	}
	if u.MaxPID > 0 {
		n.Rlimit = &RlimitStats{Time: t, MaxPID: i64(u.MaxPID), NumOfRunningProcesses: i64(u.Processes)}
	}
	if len(u.Interfaces) > 0 {
		n.Network = &NetworkStats{Time: t}
		for _, c := range u.Interfaces {
			n.Network.Interfaces = append(n.Network.Interfaces, InterfaceStats{Name: c.Name,
				RxBytes: u64(c.RxBytes), RxErrors: u64(c.RxErrors), TxBytes: u64(c.TxBytes), TxErrors: u64(c.TxErrors)})
		}
		n.Network.InterfaceStats = n.Network.Interfaces[0]
	}
	return n
}

func fsStats(t metav1.Time, f FsUsage) *FsStats {
	return &FsStats{Time: t, AvailableBytes: u64(f.Available), CapacityBytes: u64(f.Capacity), UsedBytes: u64(f.Used),
		Inodes: u64(f.Inodes), InodesFree: u64(f.InodesFree), InodesUsed: u64(sub(f.Inodes, f.InodesFree))}
}

// imageFs is the runtime's image file system: its use from CRI, its size from statfs.
func (s *Server) imageFs(ctx context.Context, now time.Time) *FsStats {
	resp, err := s.opts.Images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(resp.GetImageFilesystems()) == 0 {
		return nil
	}
	use := resp.GetImageFilesystems()[0]
	fs := &FsStats{Time: metav1.NewTime(now), UsedBytes: u64(use.GetUsedBytes().GetValue()), InodesUsed: u64(use.GetInodesUsed().GetValue())}
	if mp := use.GetFsId().GetMountpoint(); mp != "" {
		if f, err := s.opts.Node.Fs(mp); err == nil {
			fs.CapacityBytes, fs.AvailableBytes = u64(f.Capacity), u64(f.Available)
			fs.Inodes, fs.InodesFree = u64(f.Inodes), u64(f.InodesFree)
		}
	}
	return fs
}

// podSummaries are the ready sandboxes' usage, from the runtime's container stats.
func (s *Server) podSummaries(ctx context.Context, now time.Time) ([]PodSummary, error) {
	sbResp, err := s.opts.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}})
	if err != nil {
		return nil, fmt.Errorf("listing pod sandboxes: %w", err)
	}
	cResp, err := s.opts.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	stResp, err := s.opts.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing container stats: %w", err)
	}
	return s.buildPodSummaries(now, sbResp.GetItems(), cResp.GetContainers(), stResp.GetStats()), nil
}

// buildPodSummaries groups the running containers' stats by ready sandbox. CPU rates the
// runtime leaves out are computed from the previous sample.
func (s *Server) buildPodSummaries(now time.Time, sandboxes []*runtimeapi.PodSandbox, containers []*runtimeapi.Container, stats []*runtimeapi.ContainerStats) []PodSummary {
	byID := map[string]*runtimeapi.ContainerStats{}
	for _, st := range stats {
		byID[st.GetAttributes().GetId()] = st
	}
	bySandbox := map[string][]*runtimeapi.Container{}
	for _, c := range containers {
		bySandbox[c.GetPodSandboxId()] = append(bySandbox[c.GetPodSandboxId()], c)
	}
	seen := map[string]bool{"": true}
	out := []PodSummary{}
	for _, sb := range sandboxes {
		md := sb.GetMetadata()
		ps := PodSummary{
			PodRef:     PodReference{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid()},
			StartTime:  metav1.NewTime(time.Unix(0, sb.GetCreatedAt())),
			Containers: []ContainerSummary{},
		}
		var cpuTotal, rateTotal, ws, usage, rss, faults, majfaults, disk, inodes uint64
		haveRate := true
		for _, c := range bySandbox[sb.GetId()] {
			st := byID[c.GetId()]
			cs := ContainerSummary{Name: c.GetMetadata().GetName(), StartTime: metav1.NewTime(time.Unix(0, c.GetCreatedAt()))}
			if cpu := st.GetCpu(); cpu != nil {
				t := sampleTime(cpu.GetTimestamp(), now)
				total := cpu.GetUsageCoreNanoSeconds().GetValue()
				seen[c.GetId()] = true
				rate := s.cpu.rateAt(c.GetId(), t, total)
				if v := cpu.GetUsageNanoCores(); v != nil {
					rate = u64(v.GetValue())
				}
				cs.CPU = &CPUStats{Time: metav1.NewTime(t), UsageCoreNanoSeconds: u64(total), UsageNanoCores: rate}
				cpuTotal += total
				if rate == nil {
					haveRate = false
				} else {
					rateTotal += *rate
				}
			}
			if m := st.GetMemory(); m != nil {
				cs.Memory = &MemoryStats{Time: metav1.NewTime(sampleTime(m.GetTimestamp(), now)),
					WorkingSetBytes: u64(m.GetWorkingSetBytes().GetValue()), UsageBytes: u64(m.GetUsageBytes().GetValue()),
					RSSBytes: u64(m.GetRssBytes().GetValue()), PageFaults: u64(m.GetPageFaults().GetValue()),
					MajorPageFaults: u64(m.GetMajorPageFaults().GetValue())}
				if v := m.GetAvailableBytes(); v != nil {
					cs.Memory.AvailableBytes = u64(v.GetValue())
				}
				ws += m.GetWorkingSetBytes().GetValue()
				usage += m.GetUsageBytes().GetValue()
				rss += m.GetRssBytes().GetValue()
				faults += m.GetPageFaults().GetValue()
				majfaults += m.GetMajorPageFaults().GetValue()
			}
			if l := st.GetWritableLayer(); l != nil {
				cs.Rootfs = &FsStats{Time: metav1.NewTime(sampleTime(l.GetTimestamp(), now)),
					UsedBytes: u64(l.GetUsedBytes().GetValue()), InodesUsed: u64(l.GetInodesUsed().GetValue())}
				disk += l.GetUsedBytes().GetValue()
				inodes += l.GetInodesUsed().GetValue()
			}
			ps.Containers = append(ps.Containers, cs)
		}
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		t := metav1.NewTime(now)
		if len(ps.Containers) > 0 {
			ps.CPU = &CPUStats{Time: t, UsageCoreNanoSeconds: u64(cpuTotal)}
			if haveRate {
				ps.CPU.UsageNanoCores = u64(rateTotal)
			}
			ps.Memory = &MemoryStats{Time: t, WorkingSetBytes: u64(ws), UsageBytes: u64(usage), RSSBytes: u64(rss),
				PageFaults: u64(faults), MajorPageFaults: u64(majfaults)}
			ps.EphemeralStorage = &FsStats{Time: t, UsedBytes: u64(disk), InodesUsed: u64(inodes)}
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].PodRef, out[j].PodRef
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	s.cpu.keep(seen)
	return out
}

func sampleTime(ns int64, now time.Time) time.Time {
	if ns <= 0 {
		return now
	}
	return time.Unix(0, ns)
}

// cpuSampler turns cumulative CPU time into a rate between two samples of the same key.
type cpuSampler struct {
	mu   sync.Mutex
	last map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	total uint64
	rate  *uint64
}

// rateAt records the sample and returns the nanocores used since the previous one of key,
// or nil when there is none (or the counter went back: a new container under the key). A
// sample no newer than the last gets the last answer.
func (c *cpuSampler) rateAt(key string, at time.Time, total uint64) *uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]cpuSample{}
	}
	prev, ok := c.last[key]
	if ok && !at.After(prev.at) {
		return prev.rate
	}
	var rate *uint64
	if ok && total >= prev.total {
		rate = u64(uint64(float64(total-prev.total) / at.Sub(prev.at).Seconds()))
	}
	c.last[key] = cpuSample{at: at, total: total, rate: rate}
	return rate
}

// keep forgets the samples of containers no longer running.
func (c *cpuSampler) keep(seen map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.last {
		if !seen[k] {
			delete(c.last, k)
		}
	}
}
