package ensemble

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/fkd-project/fkd/models"
)

// SplitList splits a comma-separated list of model files, as --models
// and --model take it. An empty entry ("a.pt,", "a.pt,,b.pt") is an
// error that says so.
func SplitList(list string) ([]string, error) {
	var paths []string
	for i, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			return nil, fmt.Errorf("model list %q has an empty entry (number %d): name a model file between each pair of commas", list, i+1)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Inputs returns the files that loading spec, as a --model flag names
// it (see Load), reads: the files of a list, or an ensemble file and its
// members, or the one model file. It reads nothing but an ensemble
// file, and leaves errors to Load.
func Inputs(spec string) []string {
	if strings.Contains(spec, ",") {
		// Unlike SplitList, skip an empty entry: Load reports it, and the
		// other files are inputs all the same.
		var paths []string
		for p := range strings.SplitSeq(spec, ",") {
			if p = strings.TrimSpace(p); p != "" {
				paths = append(paths, p)
			}
		}
		return paths
	}
	paths := []string{spec}
	if IsFile(spec) {
		if f, err := Read(spec); err == nil {
			paths = append(paths, f.Paths(filepath.Dir(spec))...)
		}
	}
	return paths
}

// CheckMember checks, from its first bytes, that the file at path can be
// a model file (safetensors): an ensemble file is refused, as ensembles
// cannot be nested, and any other file is named by what it looks like
// (text, an image, an archive). The error wraps models.ErrNotModel.
// Files it cannot read, and those that are not regular files, are left
// to the loader.
func CheckMember(path string) error {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil
	}
	what := describe(path, head[:n])
	if what == "" {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", path, models.ErrNotModel, what)
}

// describe says what a file that starts with head is when it cannot be
// a safetensors file; "" when it can.
func describe(path string, head []byte) string {
	if len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) > 0 {
		return "" // a safetensors header: 8 bytes of length, then JSON
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		return "the file is empty"
	case len(trimmed) > 0 && trimmed[0] == '{':
		if isEnsembleFile(path) {
			return "it is an ensemble file, and ensembles cannot be nested: list its members instead"
		}
		return "it holds JSON, not safetensors"
	case bytes.HasPrefix(head, []byte("\x89PNG")):
		return "it is a PNG image"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "it is a JPEG image"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "it is a zip archive"
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return "it is gzip-compressed"
	case isText(head):
		line, _, _ := strings.Cut(string(head), "\n")
		if len(line) > 40 {
			line = line[:40] + "…"
		}
		return fmt.Sprintf("it is a text file starting %q", strings.TrimRight(line, "\r"))
	}
	return "it is not in the safetensors format"
}

// isEnsembleFile reports whether the file at path is an ensemble file:
// JSON with the ensemble format, whatever else it holds.
func isEnsembleFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var f struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(data, &f) == nil && strings.HasPrefix(f.Format, "fkd-ensemble/")
}

// isText reports whether b looks like text: valid UTF-8 (but for a rune
// cut at the end) without control characters other than white space.
func isText(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[size:]
	}
	return true
}
