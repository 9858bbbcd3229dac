package fkd_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeMaxLines is the most lines README.md may have: it is the front
// door, and the rules behind the commands live in docs/.
const readmeMaxLines = 200

// TestREADMEIsShort keeps README.md a front door, not a manual.
func TestREADMEIsShort(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n >= readmeMaxLines {
		t.Errorf("README.md has %d lines, want fewer than %d: move the details to docs/", n, readmeMaxLines)
	}
}

// TestDocLinks checks that every relative link of README.md and of the
// Markdown files under docs/ names a file or folder of the repository.
// Anchors are not checked; http(s) and mailto links are skipped.
func TestDocLinks(t *testing.T) {
	files := []string{"README.md"}
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(string(data)) {
			target, ok := localTarget(l.target)
			if !ok {
				continue
			}
			checked++
			path := filepath.Join(filepath.Dir(file), filepath.FromSlash(target))
			abs, err := filepath.Abs(path)
			if err != nil {
				t.Fatal(err)
			}
			if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s line %d: link %q leaves the repository", file, l.line, l.target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s line %d: link %q names %s, which does not exist", file, l.line, l.target, filepath.ToSlash(path))
			}
		}
	}
	t.Logf("%d relative links checked in %d files", checked, len(files))
	if checked == 0 {
		t.Error("no relative link found: the link pattern is broken")
	}
}

func TestMarkdownLinks(t *testing.T) {
	doc := "See [usage](docs/usage.md#training) and ![a picture](docs/a.png \"title\").\n" +
		"Not `[code](x.md)`, nor\n```sh\n[fenced](y.md)\n```\n" +
		"[web](https://example.com) [anchor](#layout) <https://example.com>\n" +
		"[ref]: docs/gpu.md\n"
	var got []string
	for _, l := range markdownLinks(doc) {
		if target, ok := localTarget(l.target); ok {
			got = append(got, target)
		}
	}
	want := []string{"docs/usage.md", "docs/a.png", "docs/gpu.md"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("local link targets = %q, want %q", got, want)
	}
}

type link struct {
	line   int
	target string
}

var (
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^()\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+.*)?$`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
)

// markdownLinks returns the targets of the inline links, images and
// reference definitions of a Markdown document, leaving out fenced code
// blocks and code spans.
func markdownLinks(doc string) []link {
	var links []link
	fenced := false
	for i, line := range strings.Split(doc, "\n") {
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, link{i + 1, m[1]})
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			links = append(links, link{i + 1, m[1]})
		}
	}
	return links
}

// localTarget returns a link's target as a path in the repository, its
// anchor and query stripped, and false for a link to the web, an e-mail
// address or an anchor of the same page.
func localTarget(target string) (string, bool) {
	if i := strings.Index(target, "://"); i >= 0 || strings.HasPrefix(target, "mailto:") {
		return "", false
	}
	if i := strings.IndexAny(target, "#?"); i >= 0 {
		target = target[:i]
	}
	return target, target != ""
}
