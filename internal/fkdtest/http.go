package fkdtest

import (
	"io"
	"net/http"
	"testing"
)

// Do sends req with http.DefaultClient and returns the response and its
// body, read to the end and closed; the test fails at once where no
// response comes.
func Do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}
