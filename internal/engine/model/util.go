package model

import "strconv"

func quote(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

func itoa(n int) string { return strconv.Itoa(n) }
