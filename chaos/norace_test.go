//go:build !race

package chaos

// raceEnabled reports whether the tests run with the race detector; the
// worker binary is then built with it as well.
const raceEnabled = false
