package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kballard/go-shellquote"
)

// cliExample is one command of the aws CLI's documentation
// (awsli/examples/<service>/<command>.rst) with the output AWS shows for it
// and the files the command reads.
type cliExample struct {
	// ID names the example: <service>/<file>#<n>, n counting the
	// commands of the file from 1.
	ID      string
	Service string
	Command string   // the documented command line
	Args    []string // its words after "aws <service>"
	// Output is the documented output as written ("" when none is shown).
	Output string
	// Files are the file blocks the documentation shows ("Contents of
	// ``x.json``"), by name.
	Files map[string]string
	// Unrunnable says why the harness cannot run the command as
	// documented (a shell pipeline, a placeholder), else "".
	Unrunnable string
}

// rstBlock is a literal block of an .rst file with the paragraph that
// introduces it.
type rstBlock struct {
	intro string
	text  string
}

// contentsOf finds the file a block shows, named in double backquotes
// or, in some files, bare ("Contents of policy.json::").
var contentsOf = regexp.MustCompile("(?i)contents? of (?:``([^`]+)``|([\\w.-]+)::)")

// fileShown is the name of the file the block's intro says it shows, or "".
func fileShown(intro string) string {
	m := contentsOf.FindStringSubmatch(intro)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// parseExamples reads the examples of one service from dir.
func parseExamples(dir, service string) ([]cliExample, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.rst"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var all []cliExample
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".rst")
		if strings.HasSuffix(name, "_description") {
			continue // prose about the command, no example
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		all = append(all, examplesOf(service, name, literalBlocks(string(b)))...)
	}
	return all, nil
}

// examplesOf groups a file's blocks into examples: each command block with
// the first other block after it as its output and the file blocks up to
// the next command as its files.
func examplesOf(service, name string, blocks []rstBlock) []cliExample {
	var out []cliExample
	files := map[string]string{}
	for _, b := range blocks {
		if name := fileShown(b.intro); name != "" {
			files[name] = b.text
		}
	}
	var cur *cliExample
	for _, b := range blocks {
		prefix := "aws " + service + " "
		if strings.HasPrefix(b.text, prefix) || b.text == strings.TrimSpace(prefix) {
			out = append(out, cliExample{
				ID:      fmt.Sprintf("%s/%s#%d", service, name, len(out)+1),
				Service: service,
				Command: joinContinuations(b.text),
				Files:   map[string]string{},
			})
			cur = &out[len(out)-1]
			cur.Args, cur.Unrunnable = commandWords(cur.Command, service)
			continue
		}
		if cur == nil {
			continue
		}
		if name := fileShown(b.intro); name != "" {
			cur.Files[name] = b.text
			continue
		}
		if cur.Output == "" {
			cur.Output = b.text
		}
	}
	// A file shown before its command, or once for several commands.
	for i := range out {
		for name, text := range files {
			if _, ok := out[i].Files[name]; !ok {
				out[i].Files[name] = text
			}
		}
	}
	return out
}

// literalBlocks returns the literal blocks ("::" then an indented block) of
// an .rst document, dedented.
func literalBlocks(doc string) []rstBlock {
	lines := strings.Split(strings.ReplaceAll(doc, "\r\n", "\n"), "\n")
	var blocks []rstBlock
	var para []string // the current paragraph, the next block's intro
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if !strings.HasSuffix(trimmed, "::") {
			if i > 0 && strings.TrimSpace(lines[i-1]) == "" {
				para = para[:0]
			}
			para = append(para, trimmed)
			continue
		}
		para = append(para, trimmed)
		intro := strings.Join(para, " ")
		para = para[:0]
		base := indentOf(line)
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) != "" && indentOf(lines[j]) <= base {
				break
			}
			body = append(body, lines[j])
		}
		i = j - 1
		if text := dedent(body); text != "" {
			blocks = append(blocks, rstBlock{intro: intro, text: text})
		}
	}
	return blocks
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " \t")) }

// dedent removes the block's common indentation and its blank edges.
func dedent(lines []string) string {
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := indentOf(l); common < 0 || n < common {
			common = n
		}
	}
	var out []string
	for _, l := range lines {
		if len(l) >= common && common >= 0 {
			l = l[common:]
		}
		out = append(out, strings.TrimRight(l, " \t"))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// joinContinuations makes one line of a command written over several, with
// or without the trailing backslashes (the documentation forgets some).
func joinContinuations(text string) string {
	var parts []string
	for _, l := range strings.Split(text, "\n") {
		parts = append(parts, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l), "\\")))
	}
	return strings.Join(parts, " ")
}

// commandWords splits a documented command into its words after
// "aws <service>", or says why it cannot run as written.
func commandWords(command, service string) ([]string, string) {
	if strings.ContainsAny(command, "|;&") {
		return nil, "a shell pipeline, not one command"
	}
	words, err := shellquote.Split(command)
	if err != nil {
		return nil, "not a shell command: " + err.Error()
	}
	for _, w := range words {
		if strings.Contains(w, "<") && strings.Contains(w, ">") && !strings.HasPrefix(w, "file://") {
			return nil, "placeholders to fill in (" + w + ")"
		}
	}
	if len(words) < 2 || words[0] != "aws" || words[1] != service {
		return nil, "not an aws " + service + " command"
	}
	return words[2:], ""
}
