package main

import (
	"github.com/fkd-project/fkd/cmd/fkd/internal/sysinfo"
	"github.com/fkd-project/fkd/report"
)

// A report records the fkd that made it (results.json, index.html).
func init() { report.Release = sysinfo.Release(version) }
