"""Answers from a fit: compute-optimal allocation, planning (given N, hardware, a target loss, unique tokens),
the Kaplan-vs-Chinchilla comparison, backtests and the data wall. No printing and no files: reporting and the
command line present what these return."""
