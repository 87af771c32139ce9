"""Writing what a command made: the one place the CLI puts bytes in a file and says so."""


def write_file(path, make, what):
    """If ``path``: write the bytes ``make()`` returns, then print "wrote PATH (WHAT, N KB)"."""
    if path:
        data = make()
        with open(path, "wb") as fh:
            fh.write(data)
        print(f"wrote {path} ({what}, {len(data) / 1024:.0f} KB)")
