package event

import "strconv"

// didYouMean returns ` (did you mean "x"?)` naming the candidate closest to
// s, or "" when none is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	best := nearest(s, candidates)
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// nearest returns the candidate with the smallest edit distance to s, if that
// distance is at most a third of the longer string, rounded up, and at most 4.
func nearest(s string, candidates []string) string {
	if s == "" {
		return ""
	}
	best, bestD := "", -1
	for _, c := range candidates {
		limit := min((max(len(s), len(c))+2)/3, 4)
		d := editDistance(s, c, limit)
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counting bytes.
// It gives up and returns limit+1 once the distance must exceed limit, so
// long unrelated strings cost little.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
