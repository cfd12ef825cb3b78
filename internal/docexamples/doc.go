// Package docexamples checks that the Go programs in the documentation
// compile: its test extracts every ```go block that is a whole program
// (one starting with "package main") from docs/*.md and README.md and runs
// go vet on each. There is no library code here.
package docexamples
