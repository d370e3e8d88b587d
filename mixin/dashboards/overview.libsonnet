// Kedastral / Overview: per workload, the load against its forecast, the
// replica plan against the replicas running, and the forecasts' accuracy.
local g = import '../lib/dashboard.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local sel = 'job=~"$job", workload=~"$workload"',
    local v = c { sel: sel },

    'kedastral-overview.json': g.dashboard(
      c,
      c.dashboardUIDPrefix + '-overview',
      'Kedastral / Overview',
      [
        g.queryVariable('job', 'Job', 'label_values(kedastral_forecast_desired_replicas{%(forecasterSelector)s}, job)' % c),
        g.queryVariable('workload', 'Workload', 'label_values(kedastral_forecast_desired_replicas{%(forecasterSelector)s, job=~"$job"}, workload)' % c, multi=false, includeAll=false),
      ],
      [
        g.row('Now'),
        g.stat('Desired replicas', [
          g.target('max by (workload) (kedastral_forecast_desired_replicas{%(sel)s})' % v, '{{workload}}'),
        ], description='Replicas wanted now, lead time applied: what KEDA scales to.'),
        g.stat('Actual replicas', [
          g.target('workload:kube_deployment_status_replicas:max{workload=~"$workload"}', '{{workload}}'),
        ], description='Replicas of the Deployment named as the workload (kube-state-metrics).'),
        g.stat('Forecast age', [
          g.target('time() - max by (workload) (kedastral_forecast_generated_timestamp_seconds{%(sel)s})' % v, '{{workload}}'),
        ], unit='s', thresholds=[{ color: 'red', value: c.forecastStaleThresholdSeconds }]),
        g.stat('Active model', [
          g.target('max by (workload, model) (kedastral_forecast_model_info{%(sel)s})' % v, '{{model}}'),
        ], textMode='name', description='The model that made the newest forecast (the one auto chose).'),
        g.stat('Forecast error (avg over horizons)', [
          g.target('avg by (workload) (workload:kedastral_forecast_error_ratio:avg{%(sel)s})' % v, '{{workload}}'),
        ], unit='percentunit', thresholds=[{ color: 'red', value: c.forecastErrorRatioThreshold }]),
        g.stat('Forecast bias (avg over horizons)', [
          g.target('avg by (workload) (workload:kedastral_forecast_bias_ratio:avg{%(sel)s})' % v, '{{workload}}'),
        ], unit='percentunit'),

        g.row('Load'),
        g.timeseries(
          'Observed load and the forecast made %(leadTime)s earlier' % c,
          [
            g.target('max by (workload) (kedastral_forecast_observed_value{%(sel)s})' % v, 'observed'),
            g.target('max by (workload) (kedastral_forecast_value{%(sel)s, horizon="%(leadTime)s"} offset %(leadTime)s)' % v, 'forecast'),
            g.target('max by (workload) (kedastral_forecast_value_lower{%(sel)s, horizon="%(leadTime)s"} offset %(leadTime)s)' % v, 'lower'),
            g.target('max by (workload) (kedastral_forecast_value_upper{%(sel)s, horizon="%(leadTime)s"} offset %(leadTime)s)' % v, 'upper'),
          ],
          w=24,
          h=9,
          description='The load observed at each forecast, against the forecast for that moment made the lead time (%(leadTime)s) earlier, with its prediction interval (lower to upper).' % c,
          overrides=[
            {
              matcher: { id: 'byName', options: 'upper' },
              properties: [
                { id: 'custom.fillBelowTo', value: 'lower' },
                { id: 'custom.lineWidth', value: 0 },
                { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'lower' },
              properties: [
                { id: 'custom.lineWidth', value: 0 },
                { id: 'custom.fillOpacity', value: 0 },
                { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
              ],
            },
          ],
        ),

        g.row('Replicas'),
        g.timeseries('Planned and actual replicas', [
          g.target('max by (workload) (kedastral_forecast_desired_replicas{%(sel)s})' % v, 'desired (plan)'),
          g.target('max by (workload) (kedastral_forecast_reactive_floor_replicas{%(sel)s})' % v, 'reactive floor (load now)'),
          g.target('max by (workload) (workload:kedastral_forecast_replicas:max{%(sel)s})' % v, 'peak of the plan over the horizon'),
          g.target('workload:kube_deployment_status_replicas:max{workload=~"$workload"}', 'actual'),
          g.target('workload:kube_horizontalpodautoscaler_spec_max_replicas:max{workload=~"$workload"}', 'HPA max'),
        ], min=0, description='The plan against the replicas running (kube-state-metrics).'),
        g.timeseries('Desired over actual replicas', [
          g.target('max by (workload) (workload:kedastral_forecast_desired_replicas:ratio_actual{%(sel)s})' % v, '{{workload}}'),
        ], unit='percentunit', min=0, description='Above 100 %: the plan wants more replicas than are running (scaling up, or held back).'),
        g.timeseries('Set by the reactive floor', [
          g.target('avg by (workload) (avg_over_time(kedastral_forecast_reactive_floor_decided{%(sel)s}[1h]))' % v, '{{workload}}'),
        ], unit='percentunit', min=0, description='Share of the last hour when the load observed now, not the forecast, set the desired replicas: the forecast planned too low.'),
        g.timeseries('Headroom on the forecast', [
          g.target('max by (workload) (kedastral_forecast_plan_headroom{%(sel)s})' % v, '{{workload}}'),
        ], min=0, description="The headroom applied to the forecast part of the plan: the configured one, or with plan_on auto the tuner's choice within the cost budget."),

        g.row('Scorecard: would predictive have been better this week?'),
        g.timeseries('Short-handed over the last 7 days', [
          g.target('sum by (workload, policy) (increase(kedastral_scorecard_short_seconds_total{%(sel)s}[7d])) / sum by (workload, policy) (increase(kedastral_scorecard_scored_seconds_total{%(sel)s}[7d]))' % v, '{{workload}} {{policy}}'),
        ], unit='percentunit', min=0, description="Share of the last 7 days' load when the replicas each policy would have had ready served less than the load: predictive (the plan) against reactive (ceil(observed × headroom / target per pod)), pods ready a lead time after they are asked for, and what actually ran when replicas_query is set. Lower is better; in shadow mode too."),
        g.timeseries('Replica-hours over the last 7 days', [
          g.target('sum by (workload, policy) (increase(kedastral_scorecard_replica_seconds_total{%(sel)s}[7d])) / 3600' % v, '{{workload}} {{policy}}'),
        ], min=0, description='What each policy would have run over the last 7 days: the cost of the short-handed time beside it.'),

        g.row('Accuracy'),
        g.timeseries('Forecast error (WAPE)', [
          g.target('avg by (workload) (workload:kedastral_forecast_error_ratio:avg{%(sel)s})' % v, 'average over horizons'),
          g.target('max by (workload) (kedastral_forecast_error_ratio{%(sel)s, horizon="%(leadTime)s"})' % v, 'at the lead time'),
        ], unit='percentunit', min=0, thresholds=[{ color: 'red', value: c.forecastErrorRatioThreshold }], description='Sum |forecast - actual| / sum |actual| over the accuracy window.'),
        g.timeseries('Forecast bias', [
          g.target('avg by (workload) (workload:kedastral_forecast_bias_ratio:avg{%(sel)s})' % v, 'average over horizons'),
          g.target('max by (workload) (kedastral_forecast_bias_ratio{%(sel)s, horizon="%(leadTime)s"})' % v, 'at the lead time'),
        ], unit='percentunit', thresholds=[{ color: 'red', value: c.forecastBiasRatioThreshold }], description='Negative: the forecasts run low (under-provisioning).'),
        g.timeseries('Active model', [
          g.target('max by (workload, model) (kedastral_forecast_model_info{%(sel)s})' % v, '{{model}}'),
        ], w=24, h=6, min=0, description='1 while a model makes the forecasts.'),
      ],
    ),
  },
}
