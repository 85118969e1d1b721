"""Build targets: what `build --target NAME` adds to the package."""
