// Command vulnapp is a test fixture: a Go binary that links
// golang.org/x/text v0.3.7, whose language.ParseAcceptLanguage has a known
// vulnerability (GO-2022-1059, fixed in v0.3.8).
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tags, _, err := language.ParseAcceptLanguage(os.Getenv("ACCEPT_LANGUAGE"))
	fmt.Println(tags, err)
}
