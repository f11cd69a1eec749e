package logging

import (
	"flag"
	"log/slog"
	"strconv"

	"k8s.io/klog/v2"
)

// DebugVerbosity is the least --v that logs at debug level, as upstream components log
// their debugging detail at klog V(4).
const DebugVerbosity = 4

// Level is the slog level of verbosity v (upstream's --v): info below DebugVerbosity,
// debug from it on.
func Level(v int) slog.Level {
	if v >= DebugVerbosity {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// SetVerbosity applies --v to the process: the default slog logger's level and the
// verbosity of klog (client-go's V-levelled lines).
func SetVerbosity(v int) error {
	slog.SetLogLoggerLevel(Level(v))
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	return fs.Set("v", strconv.Itoa(v))
}
