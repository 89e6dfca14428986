"""`python -m plugins.apa SOCKET_FD TABLE_FD`: the scaler's sampler process (`worker.py`).

Started by `knobless scaler` itself, never by hand. It imports no part of the compiler (see
plugins/apa/errors.py; tests/apa/test_boundaries.py pins it).
"""

import sys

if __name__ == "__main__":
    from plugins.apa.worker import main

    sys.exit(main(sys.argv[1:]))
