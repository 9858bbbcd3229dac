package train

import (
	"encoding/json"
	"fmt"
	"os"
)

// ReadHistory reads the history WriteHistory wrote to path. A missing
// file gives an error that wraps os.ErrNotExist.
func ReadHistory(path string) (*History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("read history %s: %w", path, err)
	}
	return &h, nil
}
