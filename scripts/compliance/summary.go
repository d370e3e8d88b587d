//go:build ignore

// Summary reads the go test -json stream of a compliance suite and prints,
// per top-level test and subject (the receiver or target, the last element
// of a subtest's name), how many subtests passed and failed, then each
// failure. It is run by scripts/compliance.sh and is not part of the
// kedastral module.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

type event struct {
	Action string
	Test   string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run summary.go SUITE.json")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	result := map[string]string{}
	parents := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" {
			continue
		}
		if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
			result[e.Test] = e.Action
		}
		if i := strings.LastIndex(e.Test, "/"); i > 0 {
			parents[e.Test[:i]] = true
		}
	}
	type key struct{ top, subject string }
	counts := map[key]*[3]int{}
	var failed []string
	for name, action := range result {
		if parents[name] || !strings.Contains(name, "/") {
			continue // only leaves count
		}
		parts := strings.Split(name, "/")
		k := key{parts[0], parts[len(parts)-1]}
		if counts[k] == nil {
			counts[k] = &[3]int{}
		}
		switch action {
		case "pass":
			counts[k][0]++
		case "fail":
			counts[k][1]++
			failed = append(failed, name)
		default:
			counts[k][2]++
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return strings.Compare(a.top+"\x00"+a.subject, b.top+"\x00"+b.subject)
	})
	total := map[string]*[3]int{}
	fmt.Printf("%-44s %-12s %6s %6s %6s\n", "test", "subject", "pass", "fail", "skip")
	for _, k := range keys {
		c := counts[k]
		fmt.Printf("%-44s %-12s %6d %6d %6d\n", k.top, k.subject, c[0], c[1], c[2])
		if total[k.subject] == nil {
			total[k.subject] = &[3]int{}
		}
		for i := range c {
			total[k.subject][i] += c[i]
		}
	}
	for subject, c := range total {
		fmt.Printf("total %-38s %-12s %6d %6d %6d\n", "", subject, c[0], c[1], c[2])
	}
	slices.Sort(failed)
	for _, name := range failed {
		fmt.Println("FAIL", name)
	}
}
