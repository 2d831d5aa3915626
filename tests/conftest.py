import os

# Tests run with fixed thread counts so timings and numerics do not depend on the machine's load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
