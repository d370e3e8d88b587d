// A small library of Grafana JSON builders, in place of grafonnet.
local datasource = { type: 'prometheus', uid: '${datasource}' };

// place gives each panel a unique id and a gridPos: panels fill 24 columns
// left to right and wrap; a row starts a new line.
local place(panels) =
  local step(acc, p) =
    local w = p.gridPos.w;
    local h = p.gridPos.h;
    local wrap = p.type == 'row' || acc.x + w > 24;
    local x = if wrap then 0 else acc.x;
    local y = if wrap then acc.y + acc.rowH else acc.y;
    {
      x: if p.type == 'row' then 0 else x + w,
      y: if p.type == 'row' then y + h else y,
      rowH: if p.type == 'row' then 0 else (if wrap then h else std.max(acc.rowH, h)),
      id: acc.id + 1,
      out: acc.out + [p { id: acc.id, gridPos: { x: x, y: y, w: w, h: h } }],
    };
  std.foldl(step, panels, { x: 0, y: 0, rowH: 0, id: 1, out: [] }).out;

{
  datasource:: datasource,

  // target is one PromQL query of a panel.
  target(expr, legend='', instant=false, format='time_series'):: {
    datasource: datasource,
    expr: expr,
    legendFormat: legend,
    instant: instant,
    range: !instant,
    format: format,
  },

  // row is a section title across the dashboard.
  row(title):: {
    type: 'row',
    title: title,
    collapsed: false,
    panels: [],
    gridPos: { w: 24, h: 1 },
  },

  // timeseries is a graph; targets get refIds A, B, ...
  timeseries(title, targets, unit='short', w=12, h=8, description='', min=null, overrides=[], thresholds=[]):: {
    type: 'timeseries',
    title: title,
    description: description,
    datasource: datasource,
    gridPos: { w: w, h: h },
    targets: [
      targets[i] { refId: std.char(65 + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
    fieldConfig: {
      defaults: {
        unit: unit,
        [if min != null then 'min']: min,
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: false,
          thresholdsStyle: { mode: if thresholds == [] then 'off' else 'line' },
        },
        thresholds: {
          mode: 'absolute',
          steps: [{ color: 'green', value: null }] + thresholds,
        },
      },
      overrides: overrides,
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
  },

  // stat is a single number (or name, with textMode 'name').
  stat(title, targets, unit='short', w=4, h=4, description='', textMode='auto', thresholds=[]):: {
    type: 'stat',
    title: title,
    description: description,
    datasource: datasource,
    gridPos: { w: w, h: h },
    targets: [
      targets[i] { refId: std.char(65 + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
    fieldConfig: {
      defaults: {
        unit: unit,
        thresholds: {
          mode: 'absolute',
          steps: [{ color: 'green', value: null }] + thresholds,
        },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: textMode,
      justifyMode: 'auto',
      orientation: 'auto',
    },
  },

  // datasourceVariable selects the Prometheus data source.
  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
  },

  // queryVariable is a variable filled by label_values(...).
  queryVariable(name, label, query, multi=true, includeAll=true):: {
    name: name,
    label: label,
    type: 'query',
    datasource: datasource,
    query: query,
    definition: query,
    current: {},
    hide: 0,
    multi: multi,
    includeAll: includeAll,
    [if includeAll then 'allValue']: '.+',
    options: [],
    refresh: 2,
    regex: '',
    sort: 1,
  },

  // dashboard assembles a dashboard; panels are placed by place().
  dashboard(config, uid, title, variables, panels):: {
    uid: uid,
    title: title,
    tags: config.dashboardTags,
    timezone: config.dashboardTimezone,
    refresh: config.dashboardRefresh,
    time: { from: config.dashboardTimeFrom, to: 'now' },
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: { list: [] },
    templating: { list: [$.datasourceVariable] + variables },
    panels: place(panels),
  },
}
