package predict

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/fkd-project/fkd/internal/atomicfile"
	"github.com/fkd-project/fkd/photo"
)

// Overlays names the overlay of each photo (a PNG) and the annotated
// copy of each video: the source's name without its extension, plus
// PhotoSuffix or VideoSuffix, in Dir, or beside the source when Dir is
// "". An empty PhotoSuffix means no overlays.
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

// Check refuses, before any work, what would stop a run half-way: an
// output that cannot be written (out, the overlays, atomicfile.Check),
// two overlays of one name, a Dir that is not a folder, and a photo named
// (not found in a folder, where it is skipped as it is read), read from
// its header, over maxPixels (the error says which --max-megapixels would
// let it through) or that crop, when not empty, does not fit in.
func (o Overlays) Check(out string, sources []Source, maxPixels int64, crop image.Rectangle) error {
	if fi, err := os.Stat(o.Dir); o.Dir != "" && err == nil && !fi.IsDir() {
		return fmt.Errorf("write overlays: --overlay %s is not a directory", o.Dir)
	}
	paths, seen := []string{out}, map[string]string{}
	for _, s := range sources {
		if o.PhotoSuffix != "" {
			path := o.Path(s)
			if other, dup := seen[path]; dup {
				return fmt.Errorf("the overlays of %s and %s would both be %s", other, s.Path, path)
			}
			seen[path] = s.Path
			paths = append(paths, path)
		}
		if fi, err := os.Stat(s.Path); s.Video || s.Found || err != nil || !fi.Mode().IsRegular() {
			continue // a pipe can be read only once; Run says what is wrong
		}
		info, err := photo.Probe(s.Path, maxPixels)
		var big *photo.TooLargeError
		if errors.As(err, &big) {
			need := (int64(big.Width)*int64(big.Height) + 999_999) / 1_000_000
			return fmt.Errorf("%w (--max-megapixels %d would allow it)", err, need)
		}
		if err == nil && !crop.Empty() && !crop.In(image.Rect(0, 0, info.Width, info.Height)) {
			return fmt.Errorf("%s: --crop %d,%d,%d,%d reaches past the photo, which is %dx%d pixels (as displayed)",
				s.Path, crop.Min.X, crop.Min.Y, crop.Dx(), crop.Dy(), info.Width, info.Height)
		}
	}
	for _, p := range paths {
		if err := atomicfile.Check(p); err != nil {
			return err
		}
	}
	return nil
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
