package in

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/index"
	"github.com/prometheus/prometheus/util/compression"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/read"
)

// DefaultRetention keeps two weeks of history and a day to spare: enough for
// weekly seasons, Prometheus's own default.
const DefaultRetention = 15 * 24 * time.Hour

// Limits of the embedded engine, Prometheus's defaults.
const (
	defaultQueryTimeout = 2 * time.Minute
	maxQuerySamples     = 50_000_000
	lookbackDelta       = 5 * time.Minute
)

// StorageOptions configures the embedded storage.
type StorageOptions struct {
	// Path is the directory of the TSDB: blocks and write-ahead log.
	Path string
	// Retention is how long samples are kept; zero means DefaultRetention.
	Retention time.Duration
	// QueryTimeout bounds one query; zero means 2 minutes.
	QueryTimeout time.Duration
	// Logger logs the TSDB's and the engine's events.
	Logger *slog.Logger
	// Registerer receives the prometheus_tsdb_* and prometheus_engine_*
	// metrics; nil registers none.
	Registerer prometheus.Registerer
	// Errors counts query failures as kedastral_errors_total{component="source",reason}.
	Errors *prometheus.CounterVec
	// MinFreeBytes is the free space under which Writable says the
	// storage should take no more writes; zero checks nothing.
	MinFreeBytes uint64
}

// Storage is the forecaster's embedded Prometheus: a TSDB on local disk,
// written by the remote-write receiver, and a PromQL engine that runs the
// workloads' queries on it with Prometheus's own semantics. Samples are in
// the write-ahead log once a write is answered, so they survive a crash.
type Storage struct {
	db      *tsdb.DB
	engine  *promql.Engine
	timeout time.Duration
	errors  *prometheus.CounterVec
	logger  *slog.Logger
	path    string
	minFree uint64
}

// OpenStorage opens (or creates) the TSDB at opts.Path, replaying its
// write-ahead log.
func OpenStorage(opts StorageOptions) (*Storage, error) {
	if opts.Path == "" {
		return nil, errors.New("open storage: no path")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = defaultQueryTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	logger := opts.Logger.With("component", "storage")
	tsdbOpts := tsdb.DefaultOptions()
	tsdbOpts.RetentionDuration = opts.Retention.Milliseconds()
	tsdbOpts.WALCompression = compression.Snappy
	// As Prometheus does: blocks grow up to a tenth of the retention, and
	// at least the 2h of the head.
	tsdbOpts.MaxBlockDuration = max(tsdbOpts.MinBlockDuration,
		opts.Retention.Milliseconds()/10/tsdbOpts.MinBlockDuration*tsdbOpts.MinBlockDuration)
	db, err := tsdb.Open(opts.Path, logger, opts.Registerer, tsdbOpts, nil)
	if err != nil {
		return nil, fmt.Errorf("open storage at %s: %w", opts.Path, err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               logger,
		Reg:                  opts.Registerer,
		MaxSamples:           maxQuerySamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        lookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               parser.NewParser(parserOptions()),
	})
	if opts.Registerer != nil {
		if err := registerFreeBytes(opts.Registerer, opts.Path); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return &Storage{db: db, engine: engine, timeout: opts.QueryTimeout, errors: opts.Errors, logger: logger,
		path: opts.Path, minFree: opts.MinFreeBytes}, nil
}

// Appendable is where the receiver and a backfill append samples.
func (s *Storage) Appendable() storage.AppendableV2 { return s.db }

// Queryable reads the stored samples.
func (s *Storage) Queryable() storage.Queryable { return s.db }

// Close flushes and closes the TSDB.
func (s *Storage) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	return nil
}

// MaxTime returns the time of the newest stored sample, and false when the
// storage holds none.
func (s *Storage) MaxTime() (time.Time, bool) {
	var t int64
	found := false
	if h := s.db.Head(); h.NumSeries() > 0 && h.MaxTime() != math.MinInt64 {
		t, found = h.MaxTime(), true
	}
	for _, b := range s.db.Blocks() {
		if mt := b.Meta().MaxTime - 1; !found || mt > t {
			t, found = mt, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return time.UnixMilli(t), true
}

// Source returns the history source of one workload's query, run by the
// embedded engine.
func (s *Storage) Source(query string, logger *slog.Logger) forecast.Source {
	return read.NewSource(s, query, s.errors, logger)
}

// QueryRange runs query over r on the stored samples, as Prometheus's
// /api/v1/query_range would. A failure is a *QueryError.
func (s *Storage) QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, v1.Warnings, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	q, err := s.engine.NewRangeQuery(ctx, s.db, nil, query, r.Start, r.End, r.Step)
	if err != nil {
		return nil, nil, read.NewQueryError(read.ReasonBadQuery, fmt.Errorf("parse query: %w", err))
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, nil, classifyEngine(ctx, res.Err)
	}
	warnings, _ := res.Warnings.AsStrings(query, 10, 0)
	m, err := res.Matrix()
	if err != nil {
		return nil, nil, read.NewQueryError(read.ReasonBadResponse, err)
	}
	out := make(model.Matrix, 0, len(m))
	for _, series := range m {
		ss := &model.SampleStream{Metric: make(model.Metric, series.Metric.Len()), Values: make([]model.SamplePair, len(series.Floats))}
		series.Metric.Range(func(l labels.Label) { ss.Metric[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		for i, p := range series.Floats {
			ss.Values[i] = model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)}
		}
		out = append(out, ss)
	}
	return out, warnings, nil
}

// classifyEngine names a failure of the embedded engine.
func classifyEngine(ctx context.Context, err error) *read.QueryError {
	var (
		timeout  promql.ErrQueryTimeout
		canceled promql.ErrQueryCanceled
		storErr  promql.ErrStorage
	)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return read.NewQueryError("", err)
	case errors.As(err, &timeout), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return read.NewQueryError(read.ReasonTimeout, err)
	case errors.As(err, &canceled):
		return read.NewQueryError(read.ReasonCanceled, err)
	case errors.As(err, &storErr):
		return read.NewQueryError(read.ReasonServerError, err)
	default:
		return read.NewQueryError(read.ReasonQueryError, err)
	}
}

// HeadSeries returns how many series the in-memory head holds: the active
// series, which --receiver.max-series bounds.
func (s *Storage) HeadSeries() uint64 { return s.db.Head().NumSeries() }

// HasSeries reports whether the head holds a series of exactly the labels
// ls. It reads the head's index: cheap enough for the receiver to ask only
// once the head is near its series limit.
func (s *Storage) HasSeries(ls labels.Labels) bool {
	ir, err := s.db.Head().Index()
	if err != nil {
		return false
	}
	defer ir.Close()
	ctx := context.Background()
	var its []index.Postings
	ls.Range(func(l labels.Label) {
		if p, err := ir.Postings(ctx, l.Name, l.Value); err == nil {
			its = append(its, p)
		}
	})
	var b labels.ScratchBuilder
	for p := index.Intersect(its...); p.Next(); {
		if err := ir.Series(p.At(), &b, nil); err == nil && labels.Equal(b.Labels(), ls) {
			return true
		}
	}
	return false
}
