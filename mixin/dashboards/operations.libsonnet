// Kedastral / Operations: the forecaster's ticks, queries and errors, remote
// write, the push-mode receiver, and the scaler.
local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = c {
      fc: 'job=~"$job"',
      ri: '$__rate_interval',
    },

    'kedastral-operations.json': g.dashboard(
      c,
      c.dashboardUIDPrefix + '-operations',
      'Kedastral / Operations',
      [
        g.queryVariable('job', 'Job', 'label_values(kedastral_tick_seconds_count{%(forecasterSelector)s}, job)' % c),
        g.queryVariable('workload', 'Workload', 'label_values(kedastral_forecast_desired_replicas{%(forecasterSelector)s, job=~"$job"}, workload)' % c),
      ],
      [
        g.row('Forecaster'),
        g.timeseries('Tick latency', [
          g.target('histogram_quantile(0.99, sum by (le, result) (rate(kedastral_tick_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p99 {{result}}'),
          g.target('histogram_quantile(0.5, sum by (le, result) (rate(kedastral_tick_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p50 {{result}}'),
        ], unit='s', w=8, description='Time of a whole tick: collect, predict, plan, publish.'),
        g.timeseries('Ticks', [
          g.target('sum by (result) (rate(kedastral_tick_seconds_count{%(fc)s}[%(ri)s]))' % v, '{{result}}'),
        ], unit='ops', w=8, min=0),
        g.timeseries('Forecast age', [
          g.target('max by (workload) (workload:kedastral_forecast_age_seconds:time{%(fc)s, workload=~"$workload"})' % v, '{{workload}}'),
        ], unit='s', w=8, min=0, thresholds=[{ color: 'red', value: c.forecastStaleThresholdSeconds }]),
        g.timeseries('Query latency', [
          g.target('histogram_quantile(0.99, sum by (le, adapter) (rate(kedastral_adapter_collect_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p99 {{adapter}}'),
          g.target('histogram_quantile(0.5, sum by (le, adapter) (rate(kedastral_adapter_collect_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p50 {{adapter}}'),
        ], unit='s', w=8, description="Time to read a workload's history, failed reads included."),
        g.timeseries('Model and planner latency', [
          g.target('histogram_quantile(0.99, sum by (le, model) (rate(kedastral_model_predict_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p99 predict {{model}}'),
          g.target('histogram_quantile(0.99, sum by (le) (rate(kedastral_capacity_compute_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p99 plan'),
        ], unit='s', w=8),
        g.timeseries('Errors', [
          g.target('sum by (component, reason) (rate(kedastral_errors_total{%(fc)s}[%(ri)s])) > 0' % v, '{{component}} {{reason}}'),
        ], unit='ops', w=8, min=0, description='gap and non_finite do not fail the tick; the other reasons do.'),
        g.stat('Last configuration load', [
          g.target('min(kedastral_config_last_reload_successful{%(fc)s})' % v),
        ], w=6, description='1: the last configuration load succeeded.', thresholds=[{ color: 'red', value: 0 }, { color: 'green', value: 1 }]),

        g.row('Remote write'),
        g.timeseries('Remote-write samples', [
          g.target('sum by (remote_name) (rate(kedastral_remote_write_samples_sent_total{%(fc)s}[%(ri)s]))' % v, 'sent {{remote_name}}'),
          g.target('sum by (remote_name) (rate(kedastral_remote_write_samples_failed_total{%(fc)s}[%(ri)s]))' % v, 'failed {{remote_name}}'),
          g.target('sum by (remote_name) (rate(kedastral_remote_write_samples_dropped_total{%(fc)s}[%(ri)s]))' % v, 'dropped {{remote_name}}'),
          g.target('sum by (remote_name) (rate(kedastral_remote_write_retries_total{%(fc)s}[%(ri)s]))' % v, 'retries {{remote_name}}'),
        ], unit='ops', w=8, min=0),
        g.timeseries('Remote-write queue and bytes', [
          g.target('sum by (remote_name) (kedastral_remote_write_queue_samples{%(fc)s})' % v, 'queued samples {{remote_name}}'),
          g.target('sum by (remote_name) (rate(kedastral_remote_write_sent_bytes_total{%(fc)s}[%(ri)s]))' % v, 'bytes/s {{remote_name}}'),
        ], w=8, min=0),
        g.timeseries('Time since the last successful send', [
          g.target('time() - max by (remote_name) (kedastral_remote_write_last_send_timestamp_seconds{%(fc)s} > 0)' % v, '{{remote_name}}'),
        ], unit='s', w=8, min=0, thresholds=[{ color: 'red', value: c.remoteWriteLastSendThresholdSeconds }]),

        g.row('Receiver (push mode)'),
        g.timeseries('Receiver requests', [
          g.target('sum by (code) (rate(kedastral_receiver_requests_total{%(fc)s}[%(ri)s]))' % v, '{{code}}'),
        ], unit='reqps', w=8, min=0),
        g.timeseries('Receiver latency', [
          g.target('histogram_quantile(0.99, sum by (le) (rate(kedastral_receiver_request_duration_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p99'),
          g.target('histogram_quantile(0.5, sum by (le) (rate(kedastral_receiver_request_duration_seconds_bucket{%(fc)s}[%(ri)s])))' % v, 'p50'),
        ], unit='s', w=8),
        g.timeseries('Receiver samples', [
          g.target('sum(rate(kedastral_receiver_samples_stored_total{%(fc)s}[%(ri)s]))' % v, 'stored'),
          g.target('sum(rate(kedastral_receiver_samples_dropped_total{%(fc)s}[%(ri)s]))' % v, 'dropped (no workload selects them)'),
          g.target('sum(rate(kedastral_receiver_series_dropped_total{%(fc)s}[%(ri)s]))' % v, 'series dropped'),
          g.target('sum by (reason) (rate(kedastral_receiver_samples_rejected_total{%(fc)s}[%(ri)s])) > 0' % v, 'rejected {{reason}}'),
        ], unit='ops', w=8, min=0),

        g.row('Scaler'),
        g.timeseries('Scaler requests', [
          g.target('sum by (method, status) (rate(kedastral_scaler_requests_total{%(scalerSelector)s}[%(ri)s]))' % v, '{{method}} {{status}}'),
        ], unit='reqps', w=6, min=0, description="KEDA's gRPC calls."),
        g.timeseries('Scaler latency', [
          g.target('histogram_quantile(0.99, sum by (le, method) (rate(kedastral_scaler_request_duration_seconds_bucket{%(scalerSelector)s}[%(ri)s])))' % v, 'p99 {{method}}'),
          g.target('histogram_quantile(0.5, sum by (le, method) (rate(kedastral_scaler_request_duration_seconds_bucket{%(scalerSelector)s}[%(ri)s])))' % v, 'p50 {{method}}'),
        ], unit='s', w=6, description='Time to answer the unary calls, from the cache: network excluded.'),
        g.timeseries('Scaler fallbacks and source errors', [
          g.target('sum by (reason) (rate(kedastral_scaler_fallbacks_total{%(scalerSelector)s}[%(ri)s]))' % v, 'fallback: {{reason}}'),
          g.target('sum by (source, reason) (rate(kedastral_scaler_source_errors_total{%(scalerSelector)s}[%(ri)s]))' % v, 'source error: {{source}} {{reason}}'),
        ], unit='ops', w=6, min=0, description='Fallbacks answer defaultMin; source errors keep the last good plan until it is stale.'),
        g.timeseries('Replicas returned to KEDA', [
          g.target('max by (workload) (kedastral_scaler_returned_replicas{%(scalerSelector)s, workload=~"$workload"})' % v, '{{workload}}'),
          g.target('max by (workload) (kedastral_scaler_forecast_age_seconds{%(scalerSelector)s, workload=~"$workload"})' % v, 'plan age (s) {{workload}}'),
        ], w=6, min=0),
      ],
    ),
  },
}
