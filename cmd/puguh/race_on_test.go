//go:build race

package main

// raceNote qualifies timings measured under the race detector, which slows
// start-up several times over.
const raceNote = ", race detector on"
