// Package suggest finds, for a misspelt name, the closest of the valid
// ones: "tinyresnt" → "tinyresnet", "--epoch" → "--epochs". Every error
// about an unknown name (a command, a flag, an architecture, an option)
// offers it as "did you mean X?".
package suggest

import "fmt"

// Closest returns the choice closest to word and true when it is close
// enough to be what was meant: at most a third of word's letters (one at
// least, three at most) differ, a swap of neighbouring letters counting
// as one.
func Closest(word string, choices []string) (string, bool) {
	best, bestDist := "", -1
	for _, c := range choices {
		if d := Distance(word, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(1, min(3, len([]rune(word))/3))
	if bestDist < 0 || bestDist > limit {
		return "", false
	}
	return best, true
}

// DidYouMean returns " (did you mean X?)" for the choice closest to word,
// or "" when none is close (see Closest), to end an error message with.
func DidYouMean(word string, choices []string) string {
	if best, ok := Closest(word, choices); ok {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

// Distance is the edit distance between a and b: the insertions,
// deletions, substitutions and swaps of two neighbouring letters that
// turn one into the other ("widht" is one from "width").
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// prev2, prev and cur are rows i-2, i-1 and i of the table.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
