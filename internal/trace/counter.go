package trace

// Counter returns the running total of points: the counter a service would
// expose if each point's value were the requests it served since the point
// before. Counter(points)[i] = V[0] + ... + V[i].
func Counter(points []Point) []float64 {
	total := make([]float64, len(points))
	sum := 0.0
	for i, p := range points {
		sum += p.V
		total[i] = sum
	}
	return total
}
