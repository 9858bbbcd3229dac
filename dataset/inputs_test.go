package dataset

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zipOf returns a zip archive holding one member.
func zipOf(t *testing.T, member string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(member)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestNoFaces checks that a file without a single face is an error for
// every reader, not an empty Set.
func TestNoFaces(t *testing.T) {
	dir := t.TempDir()
	testHeader := "ImageId,Image\n"
	files := []struct {
		name, text string
		read       func(string, ReadOptions) (*Set, *Report, error)
		opt        ReadOptions
		want       string
	}{
		{"training.csv", trainingHeader + "\n", ReadTraining, ReadOptions{}, "no faces in %s: it has a header but no data rows"},
		{"crlf.csv", trainingHeader + "\r\n\r\n\r\n", ReadTraining, ReadOptions{}, "no faces in %s"},
		{"test.csv", testHeader, ReadTest, ReadOptions{}, "no faces in %s"},
		{"test-noeol.csv", "ImageId,Image", ReadTest, ReadOptions{}, "no faces in %s"},
		{"any.csv", testHeader, ReadAny, ReadOptions{}, "no faces in %s"},
		{"cached.csv", trainingHeader + "\n", ReadTraining, ReadOptions{Cache: true, CacheDir: filepath.Join(dir, "cache")}, "no faces in %s"},
		{"allbad.csv", trainingHeader + "\n" + strings.Repeat(",", 30) + "1 2\n", ReadTraining, ReadOptions{SkipBad: true}, "no faces in %s: all 1 rows are bad, the first: "},
		{"test.zip", testHeader, ReadTest, ReadOptions{}, "no faces in %s:test.csv"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			data := []byte(f.text)
			if strings.HasSuffix(f.name, ".zip") {
				data = zipOf(t, "test.csv", data)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			s, rep, err := f.read(path, f.opt)
			want := strings.ReplaceAll(f.want, "%s", path)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an error containing %q", err, want)
			}
			if s != nil || rep != nil {
				t.Error("error with a result")
			}
		})
	}
	// The parsers too.
	if _, _, err := ParseTraining(strings.NewReader(trainingHeader+"\n"), "p.csv", ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no faces in p.csv") {
		t.Errorf("ParseTraining: got %v", err)
	}
	if _, _, err := ParseTest(strings.NewReader(testHeader), "p.csv", ReadOptions{SkipBad: true}); err == nil || !strings.Contains(err.Error(), "no faces in p.csv") {
		t.Errorf("ParseTest: got %v", err)
	}
}

// TestReadAny checks that the header decides the kind of file, so that a
// bad test file gets the test reader's error, not the training reader's.
func TestReadAny(t *testing.T) {
	dir := t.TempDir()
	img := strings.TrimSpace(strings.Repeat("7 ", PixelCount))
	short := strings.TrimSpace(strings.Repeat("7 ", PixelCount-1))
	good := csvText(trainingHeader, "\n", rowFields(), rowFields())
	tests := []struct {
		name, text string
		zip        string // member name, when the file is to be zipped
		wantTest   bool
		wantErr    string
	}{
		{"training", good, "", false, ""},
		{"test", "ImageId,Image\n1," + img + "\n2," + img + "\n", "", true, ""},
		{"test, quoted and BOM", "\ufeff\"Image\",\"ImageId\"\r\n" + img + ",5\r\n", "", true, ""},
		{"test in zip", "ImageId,Image\n1," + img + "\n", "test.csv", true, ""},
		{"training in zip", good, "training.csv", false, ""},
		{"bad test row", "ImageId,Image\n1," + img + "\n2," + img + "\n3," + short + "\n", "", false,
			`line 4 column "Image": got 9215 pixels, want 9216`},
		{"bad test row in zip", "ImageId,Image\n1," + short + "\n", "test.csv", false,
			`test.csv line 2 column "Image": got 9215 pixels`},
		{"bad training header", strings.Replace(good, "nose_tip_x", "nose_x", 1), "", false,
			`line 1 column "nose_x": unexpected column in training header`},
		{"lookup table", "RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,\n", "", false,
			`line 1 column "RowId": unexpected column in test header`},
		{"ImageId beside keypoints", "ImageId," + trainingHeader + "\n", "", false,
			`line 1 column "ImageId": unexpected column in training header`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			data := []byte(tt.text)
			if tt.zip != "" {
				data = zipOf(t, tt.zip, data)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			s, _, err := ReadAny(path, ReadOptions{})
			if wantErr(t, err, tt.wantErr) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.HasKeypoints() == tt.wantTest {
				t.Errorf("HasKeypoints() = %v, want %v", s.HasKeypoints(), !tt.wantTest)
			}
		})
	}
	if _, _, err := ReadAny(filepath.Join(dir, "absent.csv"), ReadOptions{}); !os.IsNotExist(err) {
		t.Errorf("absent file: got %v", err)
	}
}

// TestNotCSV checks that a binary file is named as such, with its first
// bytes and a guess of its type, instead of being quoted as a header.
func TestNotCSV(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0, 1, 2, 0xfe}, 300)...)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xec\xbd"), "is not a CSV file: it looks like a gzip file (first bytes 1f 8b 08 00 00 00 00 00); gunzip it first"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "it looks like a PNG image (first bytes 89 50 4e 47 0d 0a 1a 0a)"},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "it looks like a JPEG image"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<\x00\x01\x02\x03\x04\x05\x06\x07\x08"), "it looks like a PDF document"},
		{"elf", elf, "it looks like an ELF executable (first bytes 7f 45 4c 46 02 01 01 00)"},
		{"empty zip", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), "it looks like an empty zip file"},
		{"random", []byte{0x13, 0x37, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x99, 0x42}, "it looks like binary data (first bytes 13 37 00 de ad be ef 99)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []func(string, ReadOptions) (*Set, *Report, error){ReadTraining, ReadTest, ReadAny} {
				path := filepath.Join(t.TempDir(), "f.csv")
				if err := os.WriteFile(path, tt.data, 0o644); err != nil {
					t.Fatal(err)
				}
				_, _, err := read(path, ReadOptions{})
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), path+" is not") {
					t.Fatalf("got %v, want an error containing %q", err, tt.want)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error of %d bytes", len(err.Error()))
				}
			}
		})
	}
	// Text with a stray Latin-1 letter is still text: its error is about
	// the header.
	_, _, err := ParseTraining(strings.NewReader("caf\xe9,x\n1,2\n"), "l.csv", ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "unexpected column") {
		t.Errorf("Latin-1 header: got %v", err)
	}
}

// TestLines checks that every face knows its line in the file, across
// blank lines, skipped rows, subsets and the cache.
func TestLines(t *testing.T) {
	good := rowFields()
	text := csvText(trainingHeader, "\n", good, with(0, "x"), good, []string{""}, good)
	dir := t.TempDir()
	path := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []int{2, 4, 6}
	for _, opt := range []ReadOptions{
		{SkipBad: true},
		{SkipBad: true, Cache: true, CacheDir: dir}, // written
		{SkipBad: true, Cache: true, CacheDir: dir}, // hit
	} {
		s, rep, err := ReadTraining(path, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if s.Line(i) != w {
				t.Errorf("cache %q: face %d on line %d, want %d", rep.Cache, i, s.Line(i), w)
			}
		}
		if sub := s.Subset([]int{2, 0}); sub.Line(0) != 6 || sub.Line(1) != 2 {
			t.Errorf("subset lines %v", sub.Lines)
		}
	}
	if (&Set{}).Line(3) != 0 {
		t.Error("unknown line is not 0")
	}
}
