//go:build !race

package main

// raceNote qualifies timings measured under the race detector.
const raceNote = ""
