"""CLI sub-commands of the compiler, one module each, each with `register(subparsers)`."""
