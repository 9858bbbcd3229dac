package dataset

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// sniffLen is how many leading bytes decide whether a file is text.
const sniffLen = 512

// checkText returns an error when data does not start like text, as when
// a user gives a zip, an image or a program where a CSV file is wanted.
// The error names the file, a guess of its type and its first bytes, in
// place of the escaped binary a CSV parser would quote back.
func checkText(data []byte, name string) error {
	if looksText(data[:min(len(data), sniffLen)]) {
		return nil
	}
	hint := ""
	kind := guessType(data)
	if kind == "a gzip file" {
		hint = "; gunzip it first"
	}
	return fmt.Errorf("%s is not a CSV file: it looks like %s (first bytes % x)%s", name, kind, data[:min(len(data), 8)], hint)
}

// looksText reports whether b reads as text: no NUL byte, and few control
// characters or invalid UTF-8 sequences (a stray Latin-1 letter is text).
func looksText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if !utf8.FullRune(b[i:]) {
				i = len(b) // a character cut by the end of the sample
				continue
			}
			bad++
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f', r == 0x7f:
			bad++
		}
		i += size
	}
	return bad <= 1 || bad*20 <= len(b) // one, or at most 5%
}

// magics maps the leading bytes of common binary formats to their names.
var magics = []struct {
	prefix, kind string
}{
	{"PK\x03\x04", "a zip file"},
	{"PK\x05\x06", "an empty zip file"},
	{"\x1f\x8b", "a gzip file"},
	{"\x89PNG\r\n\x1a\n", "a PNG image"},
	{"\xff\xd8\xff", "a JPEG image"},
	{"GIF8", "a GIF image"},
	{"%PDF-", "a PDF document"},
	{"\x7fELF", "an ELF executable"},
	{"BZh", "a bzip2 file"},
	{"\xfd7zXZ\x00", "an xz file"},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip file"},
	{"FKDCACHE", "an fkd cache file"},
}

// guessType names the format of binary data from its first bytes.
func guessType(data []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(data, []byte(m.prefix)) {
			return m.kind
		}
	}
	return "binary data"
}
