// Package out sends the forecasts out of the forecaster: a remote-write
// sender with a bounded queue per endpoint, and the configuration of an
// endpoint, shaped like Prometheus's remote_write section.
package out
