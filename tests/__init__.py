"""The test suite (a package, so ``tests.*`` imports resolve here before any installed ``tests``)."""
