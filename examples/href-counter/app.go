package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
)

// The href attribute of each <a> tag; the standard library has no HTML
// parser, and counting links needs none.
var anchorHref = regexp.MustCompile(`(?is)<a\s[^>]*?\bhref\s*=\s*["']?([^"'\s>]*)`)

// Counts the internal and external links of the page at $url.
func main() {
	resp, err := http.Get(os.Getenv("url"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	internal, external := 0, 0
	for _, match := range anchorHref.FindAllSubmatch(page, -1) {
		if len(match[1]) > 0 && match[1][0] == '/' {
			internal++
		} else {
			external++
		}
	}
	fmt.Printf("{\"internal\":%d,\"external\":%d}\n", internal, external)
}
