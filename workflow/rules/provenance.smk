# Stage rules: provenance (see docs/architecture.md for the conventions).
