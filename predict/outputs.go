package predict

import (
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/photo"
	"github.com/fkd-project/fkd/video"
)

// Overlays names the overlay of each photo and the annotated copy of
// each video: the source's name without its extension, plus PhotoSuffix
// or VideoSuffix, in Dir, or beside the source when Dir is "". An empty
// PhotoSuffix means no overlays. An overlay is encoded in the format its
// name says: PNG for .png, JPEG for .jpg and .jpeg (photo.FormatOf).
type Overlays struct {
	Dir, PhotoSuffix, VideoSuffix string
}

// Path returns the overlay's path of source s.
func (o Overlays) Path(s Source) string {
	base := filepath.Base(s.Path)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if s.Video {
		name += o.VideoSuffix
	} else {
		name += o.PhotoSuffix
	}
	if o.Dir == "" {
		return filepath.Join(filepath.Dir(s.Path), name)
	}
	return filepath.Join(o.Dir, name)
}

// what says what the overlay of s is, for messages.
func (o Overlays) what(s Source) string {
	if s.Video {
		return "the annotated copy of " + s.Path
	}
	return "the overlay of " + s.Path
}

// CheckSuffixes refuses suffixes whose overlays could not be written as
// their names say: a photo's overlay must end in .png, .jpg or .jpeg, an
// annotated video in a video's extension.
func (o Overlays) CheckSuffixes() error {
	if o.PhotoSuffix == "" {
		return nil
	}
	if _, err := photo.FormatOf(o.PhotoSuffix); err != nil {
		return fmt.Errorf("overlays: %w", err)
	}
	if !video.IsVideo(o.VideoSuffix) {
		return fmt.Errorf("annotated videos: %s does not end in a video's extension (%s)", o.VideoSuffix, strings.Join(video.Extensions, ", "))
	}
	return nil
}

// Check refuses, before any work, what would stop a run half-way or
// lose a file: suffixes that name no format (CheckSuffixes), an output
// (out, the overlays) that cannot be written (atomicfile.Check), two
// overlays of one name, an output that is the same file as a source, as
// one of reads (the other files the run reads: the model) or as another
// output (atomicfile.CheckDistinct), a Dir that is not a folder, and a
// photo named (not found in a folder, where it is skipped as it is read),
// read from its header, that crop, when not empty, does not fit in: a
// usage mistake, which no photo would escape. A photo too large, or that
// cannot be read, is no mistake of the command line: Run skips it, named
// or found in a folder alike (Runner.Run). maxPixels bounds the photos
// whose headers are read.
func (o Overlays) Check(out string, sources []Source, reads []atomicfile.Role, maxPixels int64, crop image.Rectangle) error {
	if fi, err := os.Stat(o.Dir); o.Dir != "" && err == nil && !fi.IsDir() {
		return fmt.Errorf("write overlays: --overlay %s is not a directory", o.Dir)
	}
	if err := o.CheckSuffixes(); err != nil {
		return err
	}
	inputs := slices.Clone(reads)
	outputs := []atomicfile.Role{{Path: out, What: "--out"}}
	seen := map[string]string{}
	var twice error // two overlays of one name, said after a file that would be lost
	for _, s := range sources {
		what := "the photo"
		if s.Video {
			what = "the video"
		}
		inputs = append(inputs, atomicfile.Role{Path: s.Path, What: what})
		if o.PhotoSuffix == "" {
			continue
		}
		path := o.Path(s)
		if other, dup := seen[path]; dup {
			if twice == nil {
				twice = fmt.Errorf("the overlays of %s and %s would both be %s", other, s.Path, path)
			}
			continue
		}
		seen[path] = s.Path
		outputs = append(outputs, atomicfile.Role{Path: path, What: o.what(s)})
	}
	if err := atomicfile.CheckDistinct(inputs, outputs); err != nil {
		return err
	}
	if twice != nil {
		return twice
	}
	for _, s := range sources {
		if fi, err := os.Stat(s.Path); crop.Empty() || s.Video || s.Found || err != nil || !fi.Mode().IsRegular() {
			continue // a pipe can be read only once; Run says what is wrong
		}
		info, err := photo.Probe(s.Path, maxPixels)
		if err == nil && !crop.In(image.Rect(0, 0, info.Width, info.Height)) {
			return fmt.Errorf("%s: --crop %d,%d,%d,%d reaches past the photo, which is %dx%d pixels (as displayed)",
				s.Path, crop.Min.X, crop.Min.Y, crop.Dx(), crop.Dy(), info.Width, info.Height)
		}
	}
	for _, r := range outputs {
		if err := atomicfile.Check(r.Path); err != nil {
			return err
		}
	}
	return nil
}

// Own splits sources into those to read and those that are this run's
// own outputs from an earlier run: files found in a folder (not named)
// that are the overlay or annotated copy, by o's names, of another
// source, found or named. A file whose own overlay would be itself is
// kept (Check refuses it), so that no photo is passed over that a run
// would then replace.
func (o Overlays) Own(sources []Source) (read, own []Source) {
	if o.PhotoSuffix == "" {
		return sources, nil
	}
	overlays := map[string]bool{}
	for _, s := range sources {
		if p := o.Path(s); !samePath(p, s.Path) {
			overlays[absPath(p)] = true
		}
	}
	for _, s := range sources {
		if s.Found && overlays[absPath(s.Path)] && !samePath(o.Path(s), s.Path) {
			own = append(own, s)
			continue
		}
		read = append(read, s)
	}
	return read, own
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

func samePath(a, b string) bool { return absPath(a) == absPath(b) }

// Tidy removes the temporary files that an interrupted run, killed before
// start, left beside out and beside the overlays and annotated copies of
// sources (atomicfile.RemoveStale, video.RemoveStale), and says on w
// which, or warns there of an error. Each folder of overlays is listed
// once: only an overlay that a hidden file there begins with is looked
// at further.
func (o Overlays) Tidy(w io.Writer, out string, sources []Source, start time.Time) {
	atomicfile.Tidy(w, out, start)
	if o.PhotoSuffix == "" {
		return
	}
	hidden := map[string][]string{} // by folder, sorted
	for _, s := range sources {
		path := o.Path(s)
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 && !s.Video {
			atomicfile.Tidy(w, path, start) // its temporary files lie beside its target
			continue
		}
		dir, base := filepath.Split(path)
		names, listed := hidden[dir]
		if !listed {
			names = hiddenNames(dir)
			hidden[dir] = names
		}
		prefix := "." + base + "."
		if i, _ := slices.BinarySearch(names, prefix); i == len(names) || !strings.HasPrefix(names[i], prefix) {
			continue
		}
		if !s.Video {
			atomicfile.Tidy(w, path, start)
			continue
		}
		removed, err := video.RemoveStale(path, start)
		for _, name := range removed {
			fmt.Fprintf(w, "removed %s, a temporary file an interrupted run left\n", name)
		}
		if err != nil {
			fmt.Fprintf(w, "warning: %v\n", err)
		}
	}
}

// hiddenNames returns the sorted names of dir's entries that begin with
// a dot; none when dir cannot be read.
func hiddenNames(dir string) []string {
	if dir == "" {
		dir = "."
	}
	entries, _ := os.ReadDir(dir) // sorted by name
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// String says in a line what the run read and found.
func (s Summary) String() string {
	return fmt.Sprintf("%d faces in %d photos and %d frames of %d videos; %d skipped, %d without a face",
		s.Faces, s.Photos, s.Frames, s.Videos, len(s.Skipped), len(s.NoFace))
}

// Err returns the error a run ends with: when nothing could be read, and
// with strict when anything was skipped or a photo or video had no face.
func (s Summary) Err(strict bool) error {
	switch {
	case s.Photos+s.Videos == 0:
		return fmt.Errorf("no photo or video could be read (%d skipped)", len(s.Skipped))
	case strict && len(s.Skipped)+len(s.NoFace) > 0:
		return fmt.Errorf("--strict: %d skipped, %d without a face", len(s.Skipped), len(s.NoFace))
	}
	return nil
}
