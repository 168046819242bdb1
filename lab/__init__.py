"""The app's helpers (everything a page needs besides bn_core). Importing it sets up the process for the app."""
import numpy  # noqa: F401  (loaded first: threadpool_limits limits only the BLAS libraries already loaded)
from threadpoolctl import threadpool_limits

# The networks here multiply small matrices (batch 60 × 100 units): BLAS worker threads only wait for each other.
# Measured on a busy 2-core server: the default Playground run used 27 s of CPU with two BLAS threads, 1.6 s with
# one, and every session's training slows the others. One thread per process, for the whole app.
threadpool_limits(limits=1)
