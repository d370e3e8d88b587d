package exporter

// pageTemplate is the page ("page"), the workloads' fragment that the
// refresh replaces ("workloads") and one chart ("chart").
const pageTemplate = `{{define "page"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}}</title>
<style>
:root{--bg:#f4f5f7;--card:#fff;--fg:#1f2933;--muted:#616e7c;--grid:#e4e7eb;--observed:#1c64d9;--forecast:#d9480f;--band:#f59f00;--replicas:#2b8a3e;--now:#7b8794}
@media (prefers-color-scheme:dark){:root{--bg:#15181c;--card:#1f2329;--fg:#e6e8eb;--muted:#9aa5b1;--grid:#323840;--observed:#58a6ff;--forecast:#ff8a50;--band:#ffa94d;--replicas:#51cf66;--now:#8b949e}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header,main,footer{max-width:1240px;margin:0 auto;padding:0 16px}
header{display:flex;align-items:baseline;flex-wrap:wrap;gap:4px 12px;padding-top:20px;padding-bottom:14px}
h1{font-size:1.4rem;margin:0}
a{color:var(--observed)}
.version,.updated,.metric,.summary,.legend,footer{color:var(--muted);font-size:.85rem}
.updated{margin:12px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,500px),1fr));gap:16px}
.workload{background:var(--card);border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.1);padding:14px 18px;min-width:0}
.workload h2{display:inline;font-size:1.1rem;margin:0 8px 0 0}
.metric{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.summary{margin:4px 0 0}
.summary b{color:var(--fg);font-weight:600}
.scorecard{border-collapse:collapse;font-size:.85rem;margin-top:6px}
.scorecard caption{color:var(--muted);text-align:left}
.scorecard th,.scorecard td{padding:1px 10px 1px 0;text-align:right}
.scorecard th:first-child{text-align:left;font-weight:400;color:var(--muted)}
svg.chart{display:block;width:100%;height:auto;margin-top:8px}
.chart text{font-size:14px;fill:var(--muted)}
.chart .grid{stroke:var(--grid)}
.chart path{fill:none;stroke-width:2;stroke-linejoin:round}
.chart .observed{stroke:var(--observed)}
.chart .forecast{stroke:var(--forecast);stroke-dasharray:6 4}
.chart .band{fill:var(--band);fill-opacity:.25;stroke:none}
.chart .replicas{stroke:var(--replicas);stroke-width:1.5}
.chart .now{stroke:var(--now);stroke-dasharray:3 3}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:2px 18px;margin:4px 0 0;padding:0}
.legend i{display:inline-block;width:18px;border-top:2px solid;vertical-align:middle;margin-right:6px}
.legend .observed{border-color:var(--observed)}
.legend .forecast{border-top-style:dashed;border-color:var(--forecast)}
.legend .band{height:10px;border:0;background:var(--band);opacity:.4}
.legend .replicas{border-color:var(--replicas)}
.empty{background:var(--card);border-radius:10px;padding:40px 16px;text-align:center;color:var(--muted)}
footer{padding-bottom:24px}
footer ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;padding:0}
</style>
</head>
<body>
<header><h1>{{.Name}}</h1>{{with .Version}}<span class="version">{{.}}</span>{{end}}</header>
<main id="workloads">{{template "workloads" .}}</main>
{{with .Links}}<footer><ul>{{range .}}<li><a href="{{.Address}}">{{.Text}}</a>{{with .Description}} · {{.}}{{end}}</li>{{end}}</ul></footer>{{end}}
<script>
(function () {
  var box = document.getElementById("workloads"), busy = false;
  if (!box || !window.fetch) { return; }
  setInterval(function () {
    if (busy) { return; }
    busy = true;
    fetch("?fragment=1", {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {})
      .then(function () { busy = false; });
  }, 10000);
})();
</script>
</body>
</html>
{{end}}

{{define "workloads"}}{{with .Workloads}}<div class="cards">{{range .}}<section class="workload">
<h2>{{.Name}}</h2>{{with .Metric}}<span class="metric">{{.}}</span>{{end}}
<p class="summary">model <b>{{.Model}}</b>{{with .ConfiguredModel}} (configured {{.}}){{end}} · replicas now <b>{{.ReplicasNow}}</b>{{with .Decision}} <span class="decision">({{.}})</span>{{end}} · lead time <b>{{.LeadTime}}</b> · observed <b>{{.Observed}}</b>{{with .ObservedAt}} at {{.}}{{end}} · forecast {{.Age}} old · <a href="/forecast/current?workload={{.Name}}">JSON</a></p>
{{template "chart" .Chart}}
<ul class="legend"><li><i class="observed"></i>observed</li><li><i class="forecast"></i>forecast</li>{{with .Interval}}<li><i class="band"></i>{{.}}</li>{{end}}<li><i class="replicas"></i>replicas (right axis)</li></ul>
{{with .Scorecard}}<table class="scorecard"><caption>Last 24 h of load ({{.Scored}} judged), pods ready a lead time after they are asked for</caption>
<tr><th></th>{{range .Policies}}<th>{{.Name}}</th>{{end}}</tr>
<tr><th>short-handed</th>{{range .Policies}}<td>{{.Short}}</td>{{end}}</tr>
<tr><th>replica-hours</th>{{range .Policies}}<td>{{.Hours}}</td>{{end}}</tr>
</table>{{end}}
</section>
{{end}}</div>{{else}}<p class="empty">No workload has a forecast yet: waiting for the first forecast.</p>
{{end}}<p class="updated">Updated {{.Updated}}; refreshes every 10 s.</p>{{end}}

{{define "chart"}}<svg class="chart" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="observed load, forecast and replica plan">
<g class="grid">{{range .LoadTicks}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/>{{end}}</g>
<g text-anchor="end">{{range .LoadTicks}}<text x="{{$.LeftLabelX}}" y="{{.Pos}}" dy=".35em">{{.Label}}</text>{{end}}</g>
<g>{{range .ReplicaTicks}}<text x="{{$.RightLabelX}}" y="{{.Pos}}" dy=".35em">{{.Label}}</text>{{end}}</g>
<g text-anchor="middle">{{range .TimeTicks}}<text x="{{.Pos}}" y="{{$.TimeLabelY}}">{{.Label}}</text>{{end}}</g>
<text x="{{.Left}}" y="{{.AxisTitleY}}">load</text><text x="{{.Right}}" y="{{.AxisTitleY}}" text-anchor="end">replicas</text>
{{with .Band}}<path class="band" d="{{.}}"/>{{end}}
{{with .Observed}}<path class="observed" d="{{.}}"/>{{end}}
{{with .Forecast}}<path class="forecast" d="{{.}}"/>{{end}}
{{with .Replicas}}<path class="replicas" d="{{.}}"/>{{end}}
<line class="now" x1="{{.NowX}}" x2="{{.NowX}}" y1="{{.Top}}" y2="{{.Bottom}}"/>
</svg>{{end}}`
