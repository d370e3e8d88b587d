// Package in is what comes into the forecaster from Prometheus in push
// mode: the remote-write receiver (1.0 and 2.0) that keeps the series the
// workloads' queries select, and the embedded Prometheus TSDB and PromQL
// engine they are stored in and queried from.
package in
