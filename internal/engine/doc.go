// Package engine is the forecaster's pipeline: per workload, an Engine
// that at every tick collects the load history from a Source, forecasts it
// with a model, plans the replicas and publishes a Snapshot in the Store;
// the Scheduler that runs one Engine per configured workload; the Store
// and its listeners; and the pipeline's own metrics.
package engine
