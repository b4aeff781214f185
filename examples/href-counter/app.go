package main

import (
	"fmt"
	"net/http"
	"os"

	"golang.org/x/net/html"
)

// Counts the internal and external links of the page at $url.
func main() {
	resp, err := http.Get(os.Getenv("url"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	internal, external := 0, 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			for _, a := range n.Attr {
				if a.Key == "href" {
					if len(a.Val) > 0 && a.Val[0] == '/' {
						internal++
					} else {
						external++
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	fmt.Printf("{\"internal\":%d,\"external\":%d}\n", internal, external)
}
