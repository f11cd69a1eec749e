// Package logging routes the loggers of the libraries we embed (etcd's zap, client-go's
// klog) into the process's one log/slog logger, so every line has the same format and a
// component attribute. It owns no logger of its own and keeps no state.
package logging
