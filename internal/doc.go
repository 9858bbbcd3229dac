// Package internal holds no code; it states where fkd's internal packages
// live, a rule TestRule checks:
//
//   - internal/ holds the packages that several fkd packages share
//     (atomicfile, suggest). They import no fkd package outside internal/.
//   - A package that only one command uses lives under that command's
//     internal/ (cmd/fkd/internal/flagconfig and sysinfo,
//     cmd/libtorch-config/internal/libtorchcfg), where Go lets no other
//     package import it.
//   - Test support lives in internal/fkdtest, and only _test.go files
//     import it. It is the one package here that imports fkd's own
//     packages, and its doc lists which it may import.
package internal
