// Command scaler is Kedastral's KEDA External Scaler: it serves each
// workload's desired replicas to KEDA over gRPC, from a cache of the
// forecasters' plans (or of Prometheus's copy of them) refreshed in the
// background; it follows a stale plan until its horizon, and falls back to
// --default-min when there is no plan or it has run out.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/scaler"
)

// shutdownTimeout bounds the drain of gRPC and HTTP requests at exit.
const shutdownTimeout = 10 * time.Second

// notFoundWait is the longest wait between two reads of a workload no
// source has ever had a plan for (scaler.CacheOptions.NotFoundWait).
const notFoundWait = time.Minute

// flags holds the parsed command line.
type flags struct {
	grpcAddr       string
	forecasterURLs []string
	prometheusURL  string
	workload       string
	defaultMin     int
	staleAfter     model.Duration
	refresh        model.Duration
	sourceTimeout  model.Duration
	maxWorkloads   int
	tlsCert        string
	tlsKey         string
	tlsClientCA    string
	tlsConfigFile  string
	httpConfigFile string
	maxStreams     int
	maxReads       int
	readTimeout    model.Duration
	web            *web.FlagConfig
	log            promslog.Config
}

func main() {
	os.Exit(runScaler(os.Args[1:], os.Stderr))
}

func addFlags(app *kingpin.Application) *flags {
	f := &flags{}
	app.Flag("grpc.listen-address", "Address of the gRPC External Scaler that KEDA calls.").Default(":8080").StringVar(&f.grpcAddr)
	app.Flag("listen", "Alias of --grpc.listen-address.").Hidden().StringVar(&f.grpcAddr)
	app.Flag("forecaster.url", "Base URL of a forecaster, such as http://kedastral-forecaster:8081; repeatable (shards, HA replicas: the freshest plan wins).").
		PlaceHolder("<url>").StringsVar(&f.forecasterURLs)
	app.Flag("forecaster-url", "Alias of --forecaster.url.").Hidden().StringsVar(&f.forecasterURLs)
	app.Flag("prometheus.url", "Read kedastral_forecast_desired_replicas from this Prometheus instead of the forecasters.").
		PlaceHolder("<url>").StringVar(&f.prometheusURL)
	app.Flag("workload", "Workload of a ScaledObject whose metadata names none.").StringVar(&f.workload)
	cli.IntVar(app.Flag("default-min", "Replicas returned when a workload's plan is missing or stale (a ScaledObject may override it with defaultMin).").
		Default("2"), &f.defaultMin)
	app.Flag("stale-after", "Age past which a plan is not used (a ScaledObject may override it with staleAfter).").
		Default("2m").SetValue(&f.staleAfter)
	app.Flag("refresh-interval", "Time between two reads of each workload's plan.").Default("5s").SetValue(&f.refresh)
	cli.IntVar(app.Flag("max-workloads", "Most workloads tracked at once (their names come from KEDA's calls); a call naming another is refused with RESOURCE_EXHAUSTED. A workload nobody asks for is forgotten after 10 minutes. 0 means no limit.").
		Default("10000"), &f.maxWorkloads)
	app.Flag("source.timeout", "Time limit of one read of a plan.").Default("2s").SetValue(&f.sourceTimeout)
	app.Flag("source.http-config-file", "HTTP client configuration (YAML, the format of Prometheus's http_config: basic_auth, authorization, oauth2, tls_config, proxy_url…) for reading the plans from --forecaster.url or --prometheus.url, such as a forecaster behind --web.config.file.").
		PlaceHolder("<file>").StringVar(&f.httpConfigFile)
	app.Flag("grpc.tls-config-file", "Web configuration file (exporter-toolkit's format, as --web.config.file) whose tls_server_config serves the gRPC API with TLS or mutual TLS; read again at each connection. Replaces the three --grpc.tls-* file flags.").
		PlaceHolder("<file>").StringVar(&f.tlsConfigFile)
	app.Flag("grpc.tls-cert-file", "Certificate of the gRPC server (PEM); with --grpc.tls-key-file, serves TLS.").PlaceHolder("<file>").StringVar(&f.tlsCert)
	app.Flag("grpc.tls-key-file", "Key of the gRPC server certificate (PEM).").PlaceHolder("<file>").StringVar(&f.tlsKey)
	app.Flag("grpc.tls-client-ca-file", "CA bundle (PEM) that client certificates must chain to: mutual TLS, as KEDA's tlsClientCert and tlsClientKey provide.").
		PlaceHolder("<file>").StringVar(&f.tlsClientCA)
	cli.IntVar(app.Flag("grpc.max-streams", "Most StreamIsActive streams (KEDA's external-push trigger, one per ScaledObject) open at once; another is refused with RESOURCE_EXHAUSTED. 0 means no limit.").
		Default("1000"), &f.maxStreams)
	cli.IntVar(app.Flag("source.max-concurrent-reads", "Most reads of plans in flight at once, over every workload. 0 means no limit.").
		Default("32"), &f.maxReads)
	app.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections, on the HTTP server (as Prometheus's flag of that name).").
		Default("5m").SetValue(&f.readTimeout)
	f.web = kingpinflag.AddFlags(app, ":8082")
	promslogflag.AddFlags(app, &f.log)
	if format := os.Getenv("LOG_FORMAT"); format != "" {
		app.GetFlag(promslogflag.FormatFlagName).Default(format)
	}
	cli.SetEnvars(app)
	return f
}

// check settles what parsing alone cannot.
func (f *flags) check() error {
	switch {
	case len(f.forecasterURLs) == 0 && f.prometheusURL == "":
		return errors.New("--forecaster.url or --prometheus.url is required")
	case len(f.forecasterURLs) > 0 && f.prometheusURL != "":
		return errors.New("--forecaster.url and --prometheus.url cannot be used together")
	case f.defaultMin < 0:
		return errors.New("--default-min must not be negative")
	case f.maxWorkloads < 0 || f.maxStreams < 0 || f.maxReads < 0:
		return errors.New("--max-workloads, --grpc.max-streams and --source.max-concurrent-reads must not be negative (0 means no limit)")
	case f.defaultMin > scaler.MaxReplicas:
		return fmt.Errorf("--default-min must be at most %d", scaler.MaxReplicas)
	case f.readTimeout <= 0:
		return errors.New("--web.read-timeout must be positive")
	case f.staleAfter <= 0 || f.refresh <= 0 || f.sourceTimeout <= 0:
		return errors.New("--stale-after, --refresh-interval and --source.timeout must be positive")
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return errors.New("--grpc.tls-cert-file and --grpc.tls-key-file go together")
	case f.tlsClientCA != "" && f.tlsCert == "":
		return errors.New("--grpc.tls-client-ca-file needs --grpc.tls-cert-file and --grpc.tls-key-file")
	case f.tlsConfigFile != "" && f.tlsCert != "":
		return errors.New("--grpc.tls-config-file and the --grpc.tls-*-file flags cannot be used together")
	}
	return nil
}

// runScaler is the whole program; it returns the exit code.
func runScaler(args []string, stderr io.Writer) int {
	f, logger, code := parseCommandLine(args, stderr)
	if logger == nil {
		return code
	}
	logger.Info("Starting scaler", "version", version.Info())
	sc, err := newScalerProcess(f, logger)
	if err != nil {
		logger.Error("Cannot start", "err", err)
		return 1
	}
	defer sc.stopStreams()
	return sc.run()
}

// parseCommandLine parses and checks the flags. It returns them with the
// logger they configure, or a nil logger and the exit code of a bad
// command line.
func parseCommandLine(args []string, stderr io.Writer) (*flags, *slog.Logger, int) {
	app := cli.NewApp("scaler", "Kedastral scaler: serves each workload's planned replicas to KEDA as an External Scaler.", stderr)
	f := addFlags(app)
	logger, code := cli.ParseCommandLine(app, args, stderr, &f.log, f.check)
	return f, logger, code
}

// scalerProcess is the running program: the cache of plans, the gRPC
// server KEDA calls, and the HTTP server of /metrics and health.
type scalerProcess struct {
	flags    *flags
	logger   *slog.Logger
	cache    *scaler.Cache
	grpc     *grpc.Server
	health   *health.Server
	listener net.Listener
	// tls is the gRPC server's TLS, nil without it.
	tls  *scaler.ServerTLS
	http *http.Server
	// stopStreams ends the streams KEDA holds open (StreamIsActive), which
	// GracefulStop would otherwise wait for until its timeout.
	stopStreams context.CancelFunc
}

// newScalerProcess builds the program's parts from the flags and listens
// on the gRPC address.
func newScalerProcess(f *flags, logger *slog.Logger) (*scalerProcess, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("kedastral"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := scaler.NewMetrics(reg)
	source, err := newSource(f, metrics)
	if err != nil {
		return nil, fmt.Errorf("read plans: %w", err)
	}
	sc := &scalerProcess{flags: f, logger: logger, health: health.NewServer(), http: newWebServer(reg, time.Duration(f.readTimeout), logger)}
	sc.cache = scaler.NewCache(source, scaler.CacheOptions{
		Refresh: time.Duration(f.refresh), Timeout: time.Duration(f.sourceTimeout), Idle: 10 * time.Minute,
		MaxWorkloads: f.maxWorkloads, Logger: logger.With("component", "cache"), Age: metrics.CacheAge, Forget: metrics.Forget,
		MaxConcurrentReads: f.maxReads, NotFoundWait: notFoundWait,
	})
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kedastral_scaler_workloads",
		Help: "Workloads the scaler tracks now (at most --max-workloads).",
	}, func() float64 { return float64(sc.cache.Tracked()) }))
	if f.workload != "" {
		sc.cache.Get(f.workload) // warm the default workload's plan
	}
	if sc.tls, err = newServerTLS(f, logger); err != nil {
		return nil, err
	}
	streams, stopStreams := context.WithCancel(context.Background())
	sc.stopStreams = stopStreams
	sc.grpc = newGRPCServer(sc.tls, f.maxStreams, metrics, streams)
	defaults := scaler.Defaults{Workload: f.workload, DefaultMin: f.defaultMin, StaleAfter: time.Duration(f.staleAfter)}
	externalscaler.RegisterExternalScalerServer(sc.grpc, scaler.NewServer(sc.cache, defaults, metrics,
		scaler.ServerOptions{Poll: time.Second, MaxStreams: f.maxStreams}))
	healthpb.RegisterHealthServer(sc.grpc, sc.health)
	if sc.listener, err = net.Listen("tcp", f.grpcAddr); err != nil {
		stopStreams()
		return nil, fmt.Errorf("listen for gRPC on %s: %w", f.grpcAddr, err)
	}
	return sc, nil
}

// newWebServer returns the HTTP server of /metrics, /healthz and /-/healthy;
// a request must be read within readTimeout, which also closes idle
// connections, as Prometheus's server does.
func newWebServer(reg *prometheus.Registry, readTimeout time.Duration, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)})))
	mux.HandleFunc("/healthz", serveHealthy)
	mux.HandleFunc("/-/healthy", serveHealthy)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout}
}

// serveHealthy answers the health checks while the process runs.
func serveHealthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "Scaler is Healthy.")
}

// run serves until a signal or a failure, and returns the exit code.
func (sc *scalerProcess) run() int {
	var g run.Group
	g.Add(cli.SignalHandler(context.Background(), os.Interrupt, syscall.SIGTERM))
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error {
		sc.cache.Run(ctx)
		return nil
	}, func(error) { cancel() })
	sc.addGRPC(&g)
	g.Add(func() error {
		if err := web.ListenAndServe(sc.http, sc.flags.web, sc.logger); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("web server: %w", err)
		}
		return nil
	}, func(error) {
		sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer scancel()
		_ = sc.http.Shutdown(sctx)
	})
	err := g.Run()
	var sig run.SignalError
	if err != nil && !errors.As(err, &sig) {
		sc.logger.Error("Scaler stopped", "err", err)
		return 1
	}
	sc.logger.Info("Scaler stopped", "reason", err)
	return 0
}

// addGRPC serves KEDA's calls; at the end the health service says
// NOT_SERVING, open streams end, and calls in flight have shutdownTimeout
// to finish.
func (sc *scalerProcess) addGRPC(g *run.Group) {
	g.Add(func() error {
		sc.logger.Info("Serving KEDA External Scaler", "address", sc.listener.Addr().String(),
			"tls", sc.tls != nil, "mtls", sc.tls != nil && sc.tls.MutualTLS())
		if err := sc.grpc.Serve(sc.listener); err != nil {
			return fmt.Errorf("grpc server: %w", err)
		}
		return nil
	}, func(error) {
		sc.health.Shutdown()
		sc.stopStreams()
		stopped := make(chan struct{})
		go func() { sc.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(shutdownTimeout):
			sc.grpc.Stop()
		}
	})
}

// newSource returns the forecasters, or Prometheus, as the flags say, read
// with the HTTP client of --source.http-config-file.
func newSource(f *flags, metrics *scaler.Metrics) (scaler.Source, error) {
	httpConfig := &promconfig.DefaultHTTPClientConfig
	if f.httpConfigFile != "" {
		var err error
		if httpConfig, _, err = promconfig.LoadHTTPConfigFile(f.httpConfigFile); err != nil {
			return nil, fmt.Errorf("--source.http-config-file: %w", err)
		}
	}
	client, err := promconfig.NewClientFromConfig(*httpConfig, "kedastral_scaler")
	if err != nil {
		return nil, fmt.Errorf("--source.http-config-file: %w", err)
	}
	client.Timeout = time.Duration(f.sourceTimeout)
	if f.prometheusURL != "" {
		return scaler.NewPrometheus(f.prometheusURL, client, metrics.SourceErrors)
	}
	return scaler.NewForecasters(f.forecasterURLs, client, metrics.SourceErrors)
}

// newServerTLS returns the gRPC server's TLS as the flags ask for it, or
// nil without TLS.
func newServerTLS(f *flags, logger *slog.Logger) (*scaler.ServerTLS, error) {
	if f.tlsConfigFile == "" && f.tlsCert == "" {
		return nil, nil
	}
	return scaler.NewServerTLS(f.tlsConfigFile, scaler.TLSFromFiles(f.tlsCert, f.tlsKey, f.tlsClientCA), logger)
}

// newGRPCServer returns the gRPC server, with serverTLS when it is not nil,
// counting every call; streams end when streams is done. With maxStreams,
// a connection carries at most maxStreams + 100 calls at once (HTTP/2's
// own limit: the client waits), room for the unary calls beside the
// StreamIsActive streams the Server bounds.
func newGRPCServer(serverTLS *scaler.ServerTLS, maxStreams int, metrics *scaler.Metrics, streams context.Context) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(metrics.UnaryInterceptor),
		grpc.ChainStreamInterceptor(metrics.StreamInterceptor, endOnShutdown(streams)),
	}
	if maxStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(min(maxStreams, math.MaxUint32-100)+100)))
	}
	if serverTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(serverTLS.Config())))
	}
	return grpc.NewServer(opts...)
}

// endOnShutdown cancels every stream's context once done is.
func endOnShutdown(done context.Context) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		stop := context.AfterFunc(done, cancel)
		defer stop()
		return handler(srv, &streamWithContext{ServerStream: ss, ctx: ctx})
	}
}

// streamWithContext is a server stream with its context replaced.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's replaced context.
func (s *streamWithContext) Context() context.Context { return s.ctx }
