package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	src := filepath.Join(dir, "training.csv")
	want := makeSet(6, 3)
	if err := os.WriteFile(src, trainingCSV(t, want), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := ReadOptions{Cache: true, CacheDir: cacheDir}
	read := func(wantCache string) {
		t.Helper()
		got, rep, err := ReadTraining(src, opt)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Cache != wantCache {
			t.Errorf("cache %q, want %q", rep.Cache, wantCache)
		}
		sameSet(t, got, want)
		if rep.Rows != want.Len() || rep.Present[0] != want.Len() {
			t.Errorf("report %+v", rep)
		}
	}
	read("written")
	read("hit")

	// A changed source invalidates the cache.
	want = makeSet(4, 8)
	if err := os.WriteFile(src, trainingCSV(t, want), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(src, later, later)
	read("written")
	read("hit")

	// A corrupt cache is ignored and rewritten.
	files, _ := filepath.Glob(filepath.Join(cacheDir, "*.fkdset"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	data, _ := os.ReadFile(files[0])
	for _, corrupt := range [][]byte{
		data[:len(data)/2],                // truncated
		append([]byte("junk"), data...),   // not a cache file
		flipByte(data, len(data)-100),     // checksum fails
		flipByte(data, len(cacheMagic)),   // version
		flipByte(data, len(cacheMagic)+5), // meta length
		{},
	} {
		if err := os.WriteFile(files[0], corrupt, 0o644); err != nil {
			t.Fatal(err)
		}
		read("written")
		read("hit")
	}

	// SkipBad reads are cached apart from strict ones.
	opt.SkipBad = true
	read("written")
	read("hit")

	// Test data is cached too.
	test := makeSet(2, 1)
	test.Coords, test.Mask = nil, nil
	testSrc := filepath.Join(dir, "test.csv")
	f, _ := os.Create(testSrc)
	WriteTest(f, test)
	f.Close()
	for _, wantCache := range []string{"written", "hit"} {
		got, rep, err := ReadTest(testSrc, opt)
		if err != nil || rep.Cache != wantCache {
			t.Fatalf("test data: cache %q, err %v", rep.Cache, err)
		}
		sameSet(t, got, test)
	}
}

func flipByte(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}

func TestCacheUnwritable(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "training.csv")
	os.WriteFile(src, trainingCSV(t, makeSet(1, 1)), 0o644)
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	// The cache directory cannot be made under a file: the read still works.
	_, rep, err := ReadTraining(src, ReadOptions{Cache: true, CacheDir: filepath.Join(blocker, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rep.Cache, "not written: ") {
		t.Errorf("cache %q, want a reason it was not written", rep.Cache)
	}
}

// BenchmarkReadCached reads the shared training.zip through a warm cache.
func BenchmarkReadCached(b *testing.B) {
	src := filepath.Join(sharedData(b, "fkd-ytf"), "training.zip")
	opt := ReadOptions{Cache: true, CacheDir: b.TempDir()}
	if _, _, err := ReadTraining(src, opt); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, rep, err := ReadTraining(src, opt); err != nil || rep.Cache != "hit" {
			b.Fatal(err, rep.Cache)
		}
	}
}
