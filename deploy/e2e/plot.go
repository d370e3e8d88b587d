package e2e

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// plot maps a run's time and replicas onto the SVG.
type plot struct {
	run      Run
	from, to time.Time
	top      int // replicas at the top of the plot
}

func newPlot(run Run) *plot {
	p := &plot{run: run, from: run.Samples[0].T, to: run.Samples[len(run.Samples)-1].T, top: 1}
	for _, s := range run.Samples {
		p.top = max(p.top, Needed(s.Load, run.PerPod))
		for _, r := range s.Replicas {
			p.top = max(p.top, r)
		}
	}
	p.top++
	return p
}

func (p *plot) x(t time.Time) float64 {
	return svgLeft + float64(svgWidth-svgLeft-svgRight)*t.Sub(p.from).Seconds()/p.to.Sub(p.from).Seconds()
}

func (p *plot) y(replicas int) float64 {
	return float64(svgHeight-svgBottom) - float64(svgHeight-svgTop-svgBottom)*float64(replicas)/float64(p.top)
}

// axes draws the frame, a grid line every 2 replicas and every minute
// since the live load began, and marks the ramps and the kill.
func (p *plot) axes(w io.Writer) {
	x0, x1, y0, y1 := float64(svgLeft), float64(svgWidth-svgRight), p.y(0), p.y(p.top)
	for r := 0; r <= p.top; r += 2 {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%d</text>`+"\n",
			x0, p.y(r), x1, p.y(r), x0-6, p.y(r)+4, r)
	}
	for m := p.run.Start.Truncate(time.Minute); !m.After(p.to); m = m.Add(time.Minute) {
		if m.Before(p.from) {
			continue
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", p.x(m), y0+16, m.Sub(p.run.Start).Minutes())
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">minutes since the live load began</text>`+"\n", (x0+x1)/2, svgHeight-6)
	fmt.Fprintf(w, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">replicas</text>`+"\n", (y0+y1)/2, (y0+y1)/2)
	mark := func(t time.Time, label string) {
		if t.IsZero() || t.Before(p.from) || t.After(p.to) {
			return
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="3 3"/><text x="%.1f" y="%.1f" font-size="10">%s</text>`+"\n",
			p.x(t), y0, p.x(t), y1, p.x(t)+3, y1+12, label)
	}
	for i, r := range p.run.Ramps {
		mark(r.From, fmt.Sprintf("ramp %d", i+1))
	}
	mark(p.run.Killed, "forecaster killed")
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", x0, y1, x1-x0, y0-y1)
}

// needed draws the replicas the load needed as a grey step area.
func (p *plot) needed(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f,%.1f", p.x(p.from), p.y(0))
	for k, s := range p.run.Samples {
		y := p.y(Needed(s.Load, p.run.PerPod))
		fmt.Fprintf(&b, " %.1f,%.1f", p.x(s.T), y)
		if k+1 < len(p.run.Samples) {
			fmt.Fprintf(&b, " %.1f,%.1f", p.x(p.run.Samples[k+1].T), y)
		}
	}
	fmt.Fprintf(&b, " %.1f,%.1f", p.x(p.to), p.y(0))
	fmt.Fprintf(w, `<polygon points="%s" fill="#ccc" stroke="none"/>`+"\n", b.String())
}

// steps draws Deployment d's replicas as a step line.
func (p *plot) steps(w io.Writer, d int, color, dash string) {
	var b strings.Builder
	for k, s := range p.run.Samples {
		if k > 0 {
			fmt.Fprintf(&b, " %.1f,%.1f", p.x(s.T), p.y(p.run.Samples[k-1].Replicas[d]))
		}
		fmt.Fprintf(&b, " %.1f,%.1f", p.x(s.T), p.y(s.Replicas[d]))
	}
	fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", strings.TrimSpace(b.String()), color, dash)
}
