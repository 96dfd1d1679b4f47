"""The core every layer may use: errors the user can act on, interval summaries, atomic file writes, the
package version. Imports nothing else of the package."""
