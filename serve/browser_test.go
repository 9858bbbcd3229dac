package serve

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/detect"
	"github.com/fkd-project/fkd/internal/fkdtest"
)

// chromium returns the path of a Chromium to run the page in, or skips
// the test when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("FKD_CHROMIUM"); path != "" {
		return path
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no chromium on PATH, so the page is not tried in a browser: install it (make deps-browser, Debian's chromium) or set FKD_CHROMIUM")
	return ""
}

// browser starts a headless Chromium of its own profile, with nothing
// that reaches outside the machine, and returns a context of its tab,
// done within limit.
func browser(t *testing.T, limit time.Duration) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 1000),
	)
	ctx, cancelTime := context.WithTimeout(context.Background(), limit)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTime()
	})
	return ctx
}

// groupPhoto is a 640×260 PNG of three synthetic faces side by side, and
// their boxes.
func groupPhoto(t testing.TB) ([]byte, []detect.Face) {
	set := synth.Generate(3, 11, synth.Options{Clean: true})
	img := image.NewRGBA(image.Rect(0, 0, 640, 260))
	var faces []detect.Face
	for i := range 3 {
		x0, y0 := 20+i*210, 30
		for y := range 200 {
			for x := range 200 {
				v := set.Image(i)[(y*96/200)*96+x*96/200]
				img.SetRGBA(x0+x, y0+y, color.RGBA{v, v, v, 255})
			}
		}
		faces = append(faces, detect.Face{Box: image.Rect(x0+17, y0+21, x0+183, y0+188), Score: 0.9 - 0.1*float64(i)})
	}
	for y := range 260 { // a warm background, so that the drawing shows
		for x := range 640 {
			if img.RGBAAt(x, y).A == 0 {
				img.SetRGBA(x, y, color.RGBA{200, 180, 150, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), faces
}

// TestPage opens the page in a headless Chromium, picks a photo of three
// faces, and waits for the drawing: the page says 3 faces, the canvas
// has the boxes drawn, and a screenshot is kept (copied to
// FKD_SCREENSHOT_DIR when it is set).
func TestPage(t *testing.T) {
	ctx := browser(t, 90*time.Second)
	photo, faces := groupPhoto(t)
	var log fkdtest.SyncBuffer
	h := newHandler(t, Options{}, &log)
	h.det = detect.Fixed(faces)
	ts := startServer(t, h)
	dir := t.TempDir()
	file := filepath.Join(dir, "three-faces.png")
	if err := os.WriteFile(file, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.SetUploadFiles(css("#file"), []string{file}),
		chromedp.WaitVisible(css(`#count[data-state="drawn"]`)),
	); err != nil {
		t.Fatalf("the page in Chromium: %v\n%s", err, log.String())
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(css("#count")))
	if err != nil {
		t.Fatal(err)
	}
	nFaces, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#count"), "data-faces"))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := chromedp.Run(ctx, chromedp.Text(css("#json")))
	if err != nil {
		t.Fatal(err)
	}
	// A pixel of the first box's left edge, half way down.
	boxPixel, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](fmt.Sprintf(
		`Array.from(document.getElementById("canvas").getContext("2d").getImageData(%d, %d, 1, 1).data)`,
		faces[0].Box.Min.X, (faces[0].Box.Min.Y+faces[0].Box.Max.Y)/2)))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if shown != "3 faces" || nFaces.Value != "3" || strings.Count(answer, `"box"`) != 3 {
		t.Errorf("the page shows %q (data-faces %q), JSON %.200s; want 3 faces", shown, nFaces.Value, answer)
	}
	if len(boxPixel) != 4 || boxPixel[1] < 200 || boxPixel[0] > 100 {
		t.Errorf("the canvas at the first box's edge is %v, want the box's green", boxPixel)
	}
	saveScreenshot(t, dir, "page.png", shot)
}

// saveScreenshot writes a screenshot to dir, and to FKD_SCREENSHOT_DIR
// when it is set.
func saveScreenshot(t *testing.T, dir, name string, shot []byte) {
	t.Helper()
	if _, err := png.DecodeConfig(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, d := range []string{dir, os.Getenv("FKD_SCREENSHOT_DIR")} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(d, name)
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// otherOrigin is a page of another origin than fkd's that posts a photo
// it serves to fkd, as a form and as a raw body (which takes a
// preflight), and says what came back in #result.
const otherOrigin = `<!doctype html><meta charset="utf-8"><title>another origin</title>
<p id="result" data-state="busy">…</p>
<script>
async function faces(init) {
  try {
    const resp = await fetch(FKD + "/v1/keypoints", init);
    const answer = await resp.json();
    return resp.ok ? String(answer.faces.length) : "status " + resp.status;
  } catch (e) {
    return "blocked";
  }
}
(async () => {
  const photo = await (await fetch("/photo.png")).blob();
  const form = new FormData();
  form.append("image", photo, "photo.png");
  const viaForm = await faces({method: "POST", body: form});
  const raw = await faces({method: "POST", body: photo, headers: {"Content-Type": "image/png"}});
  const p = document.getElementById("result");
  p.textContent = "form " + viaForm + ", raw " + raw;
  p.dataset.state = "done";
})();
</script>`

// TestOtherOrigin serves a page on another origin that calls fkd from the
// browser: with --cors naming its origin, it gets the faces, as a form
// and as a raw body; without, the browser blocks both.
func TestOtherOrigin(t *testing.T) {
	chromium(t)
	photo, faces := groupPhoto(t)
	tests := []struct {
		name string
		cors func(origin string) []string
		want string
	}{
		{"--cors the page's origin", func(o string) []string { return []string{"http://other.test", o} }, "form 3, raw 3"},
		{"--cors *", func(string) []string { return []string{"*"} }, "form 3, raw 3"},
		{"no --cors", func(string) []string { return nil }, "form blocked, raw blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fkdURL string
			pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/":
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					fmt.Fprintf(w, "<script>const FKD = %q;</script>\n%s", fkdURL, otherOrigin)
				case "/photo.png":
					w.Header().Set("Content-Type", "image/png")
					w.Write(photo)
				default:
					http.NotFound(w, r)
				}
			}))
			defer pages.Close()
			var log fkdtest.SyncBuffer
			h := newHandler(t, Options{CORS: tt.cors(pages.URL)}, &log)
			h.det = detect.Fixed(faces)
			ts := startServer(t, h)
			fkdURL = ts.URL
			if pages.URL == ts.URL {
				t.Fatal("the page and fkd share an origin")
			}
			ctx := browser(t, 60*time.Second)
			if err := chromedp.Do(ctx,
				chromedp.Navigate(pages.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS(`#result[data-state="done"]`)),
			); err != nil {
				t.Fatalf("the page of %s in Chromium: %v", pages.URL, err)
			}
			result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#result")))
			if err != nil {
				t.Fatal(err)
			}
			if result != tt.want {
				t.Errorf("the page of another origin got %q, want %q\nfkd's log:\n%s", result, tt.want, log.String())
			}
		})
	}
}
