// Package clip shortens what a client sent before it is logged or quoted
// in an answer or an error, so that a client cannot make a log line, an
// error or an answer as large as its own request.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Max is how many characters of a client's value are kept: 200, the limit
// of the original specification.
const Max = 200

// String returns s when it has at most Max characters, else its first Max
// characters followed by how many bytes were cut, as in
// "checkout…(+2999800 bytes)". It never splits a UTF-8 character.
func String(s string) string {
	return N(s, Max)
}

// N is String with a limit of n characters.
func N(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut, chars := 0, 0
	for cut < len(s) && chars < n {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		chars++
	}
	if cut == len(s) {
		return s
	}
	return s[:cut] + "…(+" + strconv.Itoa(len(s)-cut) + " bytes)"
}
