package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"strconv"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/workloadflag"
	"github.com/HatiCode/kedastral/remote/in"
	"github.com/HatiCode/kedastral/remote/out"
)

// flags holds the parsed command line.
type flags struct {
	configFile    string
	prometheusURL string
	promTimeout   model.Duration
	staleAfter    model.Duration
	readTimeout   model.Duration
	workload      config.Workload
	web           web.FlagConfig
	log           promslog.Config
	// lifecycle enables the state-changing endpoints (POST /-/reload).
	lifecycle bool

	// Push mode: the remote-write receiver and the embedded storage.
	receiver     bool
	storagePath  string
	retention    model.Duration
	maxBodyBytes units.Base2Bytes
	maxInFlight  int
	minFreeSpace units.Base2Bytes
	limits       in.Limits

	// horizons are the horizons of the per-horizon series published.
	horizons string

	// Remote write of the forecasts.
	remoteWriteURLs     []string
	remoteWriteMessage  string
	remoteWriteExternal map[string]string

	// Sharding: this forecaster runs the workloads whose name hashes to
	// shardIndex modulo shardCount.
	shardCount int
	shardIndex int

	// listenAlias is the original specification's --listen.
	listenAlias string
	// workloadFlagsSet names the workload flags given on the command line,
	// which --config.file replaces.
	workloadFlagsSet map[string]*bool
}

// addFlags defines every flag of the forecaster on app.
// addReceiverFlags adds the remote-write receiver's limits.
func addReceiverFlags(app *kingpin.Application, f *flags) {
	app.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections (as Prometheus's flag of that name): a stalled upload is cut off then.").
		Default("5m").SetValue(&f.readTimeout)
	app.Flag("storage.min-free-space", "Free space under which the receiver answers remote writes 503 (the sender retries), before the disk is full; 0 never refuses.").
		Default("128MiB").BytesVar(&f.minFreeSpace)
	defLimits := in.DefaultLimits()
	app.Flag("receiver.max-body-size", "Largest remote-write request body accepted, compressed; larger ones are answered 413.").
		Default("16MiB").BytesVar(&f.maxBodyBytes)
	cli.IntVar(app.Flag("receiver.max-concurrent-requests", "Most remote-write requests read, decoded and stored at once; another is answered 429 with Retry-After, which the sender retries. Each costs memory in proportion to its size. 0: no limit.").
		Default("16"), &f.maxInFlight)
	cli.IntVar(app.Flag("receiver.max-series", "Most active series (in the embedded storage's head) the receiver keeps; at the limit a new series is refused (400) and those held keep receiving samples. 0: no limit.").
		Default(strconv.Itoa(defLimits.Series)), &f.limits.Series)
	cli.IntVar(app.Flag("receiver.max-series-per-request", "Most series in one remote-write request; a larger request is refused whole with 413, nothing of it stored. 0: no limit.").
		Default(strconv.Itoa(defLimits.SeriesPerRequest)), &f.limits.SeriesPerRequest)
	cli.IntVar(app.Flag("receiver.max-samples-per-request", "Most samples and histograms in one remote-write request; a larger request is refused whole with 413. 0: no limit.").
		Default(strconv.Itoa(defLimits.SamplesPerRequest)), &f.limits.SamplesPerRequest)
	cli.IntVar(app.Flag("receiver.max-labels-per-series", "Most labels of a series kept; a series with more is refused (400), the rest of the request stored. 0: no limit.").
		Default(strconv.Itoa(defLimits.LabelsPerSeries)), &f.limits.LabelsPerSeries)
	cli.IntVar(app.Flag("receiver.max-label-name-length", "Longest label name of a series kept, in bytes; a series over it is refused (400). 0: no limit.").
		Default(strconv.Itoa(defLimits.LabelNameLength)), &f.limits.LabelNameLength)
	cli.IntVar(app.Flag("receiver.max-label-value-length", "Longest label value of a series kept, in bytes; a series over it is refused (400). 0: no limit.").
		Default(strconv.Itoa(defLimits.LabelValueLength)), &f.limits.LabelValueLength)
}

func addFlags(app *kingpin.Application) *flags {
	d := config.DefaultWorkload()
	f := &flags{workload: d, workloadFlagsSet: map[string]*bool{}, remoteWriteExternal: map[string]string{}}

	app.Flag("config.file", "YAML file listing the workloads; replaces the workload flags below.").
		PlaceHolder("<file>").StringVar(&f.configFile)
	app.Flag("prometheus.url", "URL of the Prometheus to read load from (overrides prometheus.url of the config file).").
		PlaceHolder("<url>").StringVar(&f.prometheusURL)
	app.Flag("prometheus.timeout", "Time limit of one query to Prometheus, retries included; 10s when neither this nor prometheus.timeout of the config file is set (this wins).").
		PlaceHolder("10s").SetValue(&f.promTimeout)
	app.Flag("web.enable-remote-write-receiver", "Receive load by remote write at /api/v1/write even with --prometheus.url, which then only backfills the history missing at start-up. Without --prometheus.url the receiver is always on (push mode).").
		BoolVar(&f.receiver)
	app.Flag("web.enable-lifecycle", "Enable reloading the configuration by HTTP (POST or PUT /-/reload); without it that endpoint answers 403. SIGHUP reloads either way.").
		BoolVar(&f.lifecycle)
	addReceiverFlags(app, f)
	app.Flag("storage.path", "Directory of the embedded TSDB that holds the load received by remote write (push mode).").
		Default("data/").StringVar(&f.storagePath)
	app.Flag("storage.retention", "How long the embedded TSDB keeps samples; at least the longest workload window, and two weeks for weekly seasons.").
		Default("15d").SetValue(&f.retention)
	app.Flag("remote-write.url", "Remote-write endpoint to send the forecasts to, such as http://prometheus:9090/api/v1/write; repeatable. Adds to remote_write of the config file.").
		PlaceHolder("<url>").StringsVar(&f.remoteWriteURLs)
	app.Flag("remote-write.protobuf-message", "Remote-write protocol of the --remote-write.url endpoints: "+out.MessageV1+" (1.0) or "+out.MessageV2+" (2.0).").
		Default(out.MessageV1).EnumVar(&f.remoteWriteMessage, out.MessageV1, out.MessageV2)
	app.Flag("remote-write.external-label", "Label added to every remote-written series, as name=value (such as replica=a); repeatable. Overrides external_labels of the config file.").
		PlaceHolder("name=value").StringMapVar(&f.remoteWriteExternal)
	app.Flag("publish.horizons", "Horizons at which the per-horizon series (forecast values, bounds, replicas, error and bias ratios) are published on /metrics and by remote write: key (now, the lead time and the last step; each replicas count the most the plan asks for until the next one) or all (every step). The JSON snapshot has every step either way.").
		Default(string(exporter.HorizonsKey)).EnumVar(&f.horizons, exporter.HorizonsNames()...)
	cli.IntVar(app.Flag("shard.count", "Number of forecaster shards the workloads are split across, by a hash of their name.").
		Default("1"), &f.shardCount)
	cli.IntVar(app.Flag("shard.index", "Which shard this forecaster is, from 0 to --shard.count − 1: it forecasts only the workloads that hash to it.").
		Default("0"), &f.shardIndex)
	app.Flag("stale-after", "Age past which a snapshot is served with X-Kedastral-Stale: true, and past which load data is too old to forecast from.").
		Default("2m").SetValue(&f.staleAfter)

	w := &f.workload
	f.workloadFlag(app, "workload", "Name of the workload (one-workload mode).").StringVar(&w.Name)
	f.workloadFlag(app, "metric", "Name of the load being forecast, for people (defaults to the query).").StringVar(&w.Metric)
	f.workloadFlag(app, "query", "PromQL expression of the workload's load; several series are summed.").StringVar(&w.Query)
	f.workloadFlag(app, "interval", "Time between two forecasts.").Default(d.Interval.String()).SetValue(&w.Interval)
	flag := func(name, help string) *kingpin.FlagClause { return f.workloadFlag(app, name, help) }
	f.workloadFlag(app, "step", "Time between two points of history and of forecast.").Default(d.Step.String()).SetValue(&w.Step)
	workloadflag.Model(flag, w)
	workloadflag.Capacity(flag, &w.Capacity)
	f.workloadFlag(app, "lead-time-query", "PromQL of the pods' start-up time in seconds: the plan uses the larger of --lead-time and its --lead-time-quantile over the last day (--lead-time=auto: it alone).").
		StringVar(&w.Capacity.LeadTimeQuery)
	f.workloadFlag(app, "lead-time-quantile", "Quantile of the start-up times --lead-time-query measured over the last day that the plan uses.").
		Default("0.9").Float64Var(&w.Capacity.LeadTimeQuantile)
	f.workloadFlag(app, "replicas-query", "PromQL of the replicas of the workload running and ready (kube-state-metrics): the scorecard then judges what actually ran too.").
		StringVar(&w.Capacity.ReplicasQuery)
	f.workloadFlag(app, "mode", "active: the scaler serves the plan; shadow: it serves the reactive count, ceil(observed × headroom / target-per-pod), while the plan is published beside it.").
		Default(d.Mode).EnumVar(&w.Mode, config.Modes()...)

	f.web = *kingpinflag.AddFlags(app, ":8081")
	promslogflag.AddFlags(app, &f.log)
	if format := os.Getenv("LOG_FORMAT"); format != "" {
		app.GetFlag(promslogflag.FormatFlagName).Default(format)
	}
	cli.SetEnvars(app)
	f.addAliases(app)
	return f
}

// workloadFlag defines a flag of one-workload mode and records whether it was
// given, so that it can be refused beside --config.file.
func (f *flags) workloadFlag(app *kingpin.Application, name, help string) *kingpin.FlagClause {
	set := new(bool)
	f.workloadFlagsSet[name] = set
	return app.Flag(name, help).IsSetByUser(set)
}

// addAliases defines the original specification's flag names as hidden
// aliases of the current ones.
func (f *flags) addAliases(app *kingpin.Application) {
	c := &f.workload.Capacity
	app.Flag("listen", "Alias of --web.listen-address.").Hidden().StringVar(&f.listenAlias)
	app.Flag("prom-url", "Alias of --prometheus.url.").Hidden().StringVar(&f.prometheusURL)
	f.workloadFlag(app, "prom-query", "Alias of --query.").Hidden().StringVar(&f.workload.Query)
	cli.IntVar(f.workloadFlag(app, "min", "Alias of --min-replicas.").Hidden(), &c.MinReplicas)
	cli.IntVar(f.workloadFlag(app, "max", "Alias of --max-replicas.").Hidden(), &c.MaxReplicas)
	f.workloadFlag(app, "down-max-pct", "Alias of --down-max-percent.").Hidden().Float64Var(&c.DownMaxPercent)
	app.Flag("log-level", "Alias of --log.level.").Hidden().SetValue(f.log.Level)
}

// check settles what parsing alone cannot.
func (f *flags) check() error {
	if f.listenAlias != "" {
		*f.web.WebListenAddresses = []string{f.listenAlias}
	}
	if f.readTimeout <= 0 {
		return errors.New("--web.read-timeout must be positive")
	}
	if l := f.limits; min(l.Series, l.SeriesPerRequest, l.SamplesPerRequest, l.LabelsPerSeries, l.LabelNameLength, l.LabelValueLength) < 0 {
		return errors.New("--receiver.max-* limits must not be negative (0 means no limit)")
	}
	if f.staleAfter <= 0 {
		return errors.New("--stale-after must be positive")
	}
	if f.retention <= 0 {
		return errors.New("--storage.retention must be positive")
	}
	if f.minFreeSpace < 0 {
		return errors.New("--storage.min-free-space must not be negative")
	}
	if f.maxInFlight < 0 {
		return errors.New("--receiver.max-concurrent-requests must not be negative (0 means no limit)")
	}
	if f.maxBodyBytes <= 0 {
		return errors.New("--receiver.max-body-size must be positive")
	}
	if f.shardCount < 1 || f.shardIndex < 0 || f.shardIndex >= f.shardCount {
		return fmt.Errorf("--shard.index=%d must be from 0 to --shard.count − 1 (--shard.count=%d, at least 1)", f.shardIndex, f.shardCount)
	}
	if f.configFile == "" {
		switch {
		case f.workload.Query == "":
			return errors.New("--query (or --config.file) is required")
		case f.workload.Name == "":
			return errors.New("--workload is required with --query")
		}
		return nil
	}
	for name, set := range f.workloadFlagsSet {
		if *set {
			return fmt.Errorf("--%s cannot be used with --config.file: set it on the workload in the file", name)
		}
		if env := cli.EnvarName(name); os.Getenv(env) != "" {
			return fmt.Errorf("%s cannot be used with --config.file: set it on the workload in the file", env)
		}
	}
	return nil
}

// config returns the configuration: the file's when --config.file is set,
// else the one workload of the flags; --prometheus.url and
// --prometheus.timeout override the file.
func (f *flags) config() (*config.Config, error) {
	cfg := &config.Config{Prometheus: config.DefaultPrometheus(), Workloads: []config.Workload{f.workload}}
	if f.configFile != "" {
		var err error
		if cfg, err = config.LoadFile(f.configFile); err != nil {
			return nil, err
		}
	}
	if f.prometheusURL != "" {
		u, err := url.Parse(f.prometheusURL)
		if err != nil {
			return nil, fmt.Errorf("--prometheus.url: %w", err)
		}
		cfg.Prometheus.URL = &promconfig.URL{URL: u}
	}
	if f.promTimeout != 0 {
		cfg.Prometheus.Timeout = f.promTimeout
	}
	for _, raw := range f.remoteWriteURLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("--remote-write.url: %w", err)
		}
		rw := out.DefaultConfig()
		rw.URL, rw.ProtobufMessage = &promconfig.URL{URL: u}, f.remoteWriteMessage
		cfg.RemoteWrite = append(cfg.RemoteWrite, rw)
	}
	if len(f.remoteWriteExternal) > 0 {
		external := maps.Clone(cfg.ExternalLabels)
		if external == nil {
			external = map[string]string{}
		}
		maps.Copy(external, f.remoteWriteExternal)
		cfg.ExternalLabels = external
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var err error
	if cfg.Workloads, err = config.Shard(cfg.Workloads, f.shardCount, f.shardIndex); err != nil {
		return nil, err
	}
	return cfg, nil
}

// pushMode reports whether the forecaster reads its own storage, written by
// remote write: when no Prometheus is configured, or when the receiver is
// asked for.
func (f *flags) pushMode(cfg *config.Config) bool {
	return f.receiver || cfg.Prometheus.URL == nil
}
